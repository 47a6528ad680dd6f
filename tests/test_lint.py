"""`snakemake --lint` must report nothing."""

import subprocess
import sys


def test_snakemake_lint_is_clean(repo_root):
    result = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=repo_root,
                            capture_output=True, text=True, timeout=180)
    output = result.stdout + result.stderr
    assert "Lints for" not in output, output[-4000:]
    assert result.returncode == 0, output[-4000:]


def test_every_rule_passes_its_own_name_to_its_script(repo_root):
    """script(name, rule) in workflow/rules/common.smk names the rule literally (for the .meta.json):
    each rule block's script(...) call must pass that block's own rule name."""
    import re

    checked = 0
    for smk in sorted((repo_root / "workflow" / "rules").glob("*.smk")):
        # a block starts at `rule NAME:` or at an anonymous `rule:` whose `name:` is the next directive
        for block in re.split(r"\n(?=\s*rule\b)", smk.read_text()):
            named = re.match(r"\s*rule (\w+):", block)
            dynamic = re.match(r"\s*rule:\s*\n\s*name:\s*\n\s*(f?\"[^\"]+\")", block)
            calls = re.findall(r"script\(\"[\w.]+\", (f?\"[^\"]+\")\)", block)
            if not calls:
                continue
            name = f'"{named.group(1)}"' if named else dynamic.group(1)
            assert calls == [name] * len(calls), f"{smk.name}: rule {name} passes {calls} to script()"
            checked += len(calls)
    assert checked >= 30
