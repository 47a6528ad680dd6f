"""`snakemake --lint` must report nothing."""

import subprocess
import sys


def test_snakemake_lint_is_clean(repo_root):
    result = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=repo_root,
                            capture_output=True, text=True, timeout=180)
    output = result.stdout + result.stderr
    assert "Lints for" not in output, output[-4000:]
    assert result.returncode == 0, output[-4000:]
