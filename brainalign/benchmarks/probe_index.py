"""Which probe folder a probe id names on this machine, so that ``probe.saliency_semantic~<hash>``
is accepted wherever a benchmark is named (``score``, ``run -b``, ``verify``, ``cite``).

Known here are the default probes built in the cache and every probe folder built with
``brainalign probe build`` or scored with ``--probe DIR`` on this machine (:func:`remember` keeps
an index of them in the cache). A folder is taken for an id only if it still has that id.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from .._files import write_json_atomic
from ..errors import BrainAlignError
from ..paths import cache_dir
from .probe import PROBE_ID, SaliencySemanticProbe

log = logging.getLogger(__name__)

INDEX_NAME = "probe-folders.json"


def _index_path() -> Path:
    return cache_dir() / INDEX_NAME


def _index() -> dict[str, str]:
    try:
        index = json.loads(_index_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in index.items()} if isinstance(index, dict) else {}


def remember(benchmark: SaliencySemanticProbe) -> None:
    """Note where the probe folder of ``benchmark`` lies, under its id (a convenience: a cache
    that cannot be written only means the id must be given as ``--probe DIR`` again)."""
    if benchmark.probe_dir is None:
        return
    index = _index()
    folder = str(benchmark.probe_dir.resolve())
    if index.get(benchmark.id) == folder:
        return
    index[benchmark.id] = folder
    try:
        write_json_atomic(_index_path(), dict(sorted(index.items())))
    except BrainAlignError as err:
        log.debug("probe folder %s not remembered: %s", folder, err)


def _folders(base: str) -> list[Path]:
    """Where the probe called ``base`` may lie: the index's entry first, then the cache's probes."""
    found = [Path(p) for key, p in _index().items() if key == base]
    found += sorted(p.parent for p in (cache_dir() / "probe").glob("*/manifest.json"))
    return list(dict.fromkeys(found))


def probe_for_id(base: str, version: str = "") -> SaliencySemanticProbe:
    """The probe benchmark whose id is ``base`` (``probe.saliency_semantic~<hash>``) at
    ``version`` (default: its only one), from a folder known here (module docstring)."""
    for folder in _folders(base):
        try:
            benchmark = SaliencySemanticProbe(folder)
        except BrainAlignError:
            continue  # moved, deleted or rebuilt since: not this probe any more
        if benchmark.id != base:
            continue
        if version and version != str(benchmark.version):
            raise BrainAlignError(
                f"probe {base} has version {benchmark.version} only, not {version}"
            )
        return benchmark
    raise BrainAlignError(
        f"no probe folder with id {base} is known here (known: the default probes in the cache, and "
        "folders built with `brainalign probe build` or scored with --probe on this machine); give its "
        f"folder with --probe DIR (the standard probe is {PROBE_ID})"
    )
