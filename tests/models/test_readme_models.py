"""The Models page's example (docs/guide/models.md) runs as written (on a folder of five small
photographs)."""

from __future__ import annotations

import re
from pathlib import Path

MODELS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "guide" / "models.md"


def test_models_section_example_runs(stimuli_dir, monkeypatch):
    page = MODELS_PAGE.read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", page, re.DOTALL).group(1)
    monkeypatch.chdir(stimuli_dir.parent)  # the example reads images/
    namespace: dict = {"__name__": "readme_models_example"}
    exec(compile(code, "docs/guide/models.md", "exec"), namespace)
    layer_rdms = namespace["layer_rdms"]
    assert layer_rdms.model_id == "efficientnet_lite0" and layer_rdms.layers[-1] == "classifier"
    assert layer_rdms.rdms.data.shape == (len(layer_rdms.layers), 10)
