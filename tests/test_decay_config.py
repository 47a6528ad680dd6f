"""config/decay.yaml resolves and validates at every scale, and its full scale is the paper's setting."""
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from initlab.config import SCALES, resolve
from initlab.nn.lipschitz import matrices_needed

ROOT = Path(__file__).resolve().parents[1]
SECTION = yaml.safe_load((ROOT / "config/decay.yaml").read_text())["decay"]
SCHEMA = json.loads((ROOT / "config/schemas/decay.schema.json").read_text())


@pytest.mark.parametrize("scale", SCALES)
def test_validates(scale):
    jsonschema.validate(resolve(SECTION, scale), SCHEMA)


def test_full_scale_is_the_papers_setting():
    full = resolve(SECTION, "full")
    fig01 = full["fig01"]
    assert fig01["n_max"] >= 300 and fig01["d_over_n"] == 10
    samples = [matrices_needed(n, 10 * n, fig01["min_samples"], fig01["min_matrices"]) * 10 * n * n
               for n in range(1, fig01["n_max"] + 1)]
    assert min(samples) >= 900_000 and sum(samples) >= 270_000_000
    assert (full["forward"]["width"], full["forward"]["depth"], full["forward"]["n_inputs"]) == (8192, 15, 10_000)
    assert (full["backward"]["width"], full["backward"]["depth"]) == (2048, 15)
    assert {1.0, 2.0, "inf"} <= set(full["table_gnd"]["alphas"])


def test_a_typo_is_refused():
    bad = resolve(SECTION, "smoke")
    bad["fig01"]["n_maks"] = 3
    with pytest.raises(jsonschema.ValidationError, match="n_maks"):
        jsonschema.validate(bad, SCHEMA)
