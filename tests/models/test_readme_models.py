"""The README's Models example runs as written (on a folder of five small photographs)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_models_section_example_runs(stimuli_dir, monkeypatch):
    text = README.read_text(encoding="utf-8")
    models = re.search(r"^## Models\n(.*?)(?=^## |\Z)", text, re.DOTALL | re.MULTILINE).group(1)
    code = re.search(r"```python\n(.*?)```", models, re.DOTALL).group(1)
    monkeypatch.chdir(stimuli_dir.parent)  # the example reads images/
    namespace: dict = {"__name__": "readme_models_example"}
    exec(compile(code, "README.md (Models)", "exec"), namespace)
    layer_rdms = namespace["layer_rdms"]
    assert layer_rdms.model_id == "efficientnet_lite0" and layer_rdms.layers[-1] == "classifier"
    assert layer_rdms.rdms.data.shape == (len(layer_rdms.layers), 10)
