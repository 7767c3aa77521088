"""Pin the standard probe: write brainalign/probe/default_probe.json from a stamps folder.

    python tools/pin_default_probe.py STAMPS_DIR DEB

STAMPS_DIR holds tuxpaint-stamps-default's stamps (what `brainalign probe default` unpacks into
the cache, or /usr/share/tuxpaint/stamps), DEB the package file they came from (its name gives
the version, its sha256 is recorded). The pin records:

- every photo stamp the default probe's pool reads (PNG and description, with sha256);
- the default probe's thresholds, resolved here once from the default quantile rule and then
  fixed: the semantic ones moved into the middle of the widest nearby gap between the pool's
  caption distances (brainalign.probe.pinned.gap_cut), the saliency ones rounded to 4 digits;
- the content hash of the probe those files and thresholds build (decoded pixels, condition
  table, defining settings): `probe.saliency_semantic@2` is that probe.

The images do not depend on library versions (brainalign.probe.exact); the build's decisions
compare float saliency changes (OpenCV) and caption distances (PyTorch) with the thresholds, so
the pin is refused when one lies closer to its threshold than another library version could move
it. Run it again whenever the builder changes its output (BUILDER_VERSION), and commit the file.
"""

import dataclasses
import json
import sys
import tempfile
from pathlib import Path

from brainalign._files import sha256_file, write_text_atomic
from brainalign.probe import ThresholdQuantiles, Thresholds, TuxPaintPool, build_probe, pinned
from brainalign.probe.builder import caption_pairs, resolve_thresholds
from brainalign.probe.default import DEFAULT_SETTINGS
from brainalign.probe.embedders import caption_vectors, cosine_distances, get_embedder
from brainalign.probe.folder import ProbeFolder
from brainalign.probe.tuxpaint import PACKAGE, stamp_files

#: Saliency changes differ by about 1e-8 between OpenCV versions, caption distances by about 1e-7
#: between PyTorch builds (measured): decisions at least 10 times farther from a threshold hold.
MIN_MARGIN = {"saliency": 1e-7, "semantic": 1e-5}

stamps, deb = Path(sys.argv[1]), Path(sys.argv[2])
package, version, _ = deb.name.split("_", 2)
assert package == PACKAGE, f"{deb} is not {PACKAGE}"
files = {
    name: sha256_file(stamps / name)
    for name in stamp_files(TuxPaintPool(stamps).stamps.values(), stamps)
}
pool = TuxPaintPool(stamps, stamps=[n for n in files if n.endswith(".png")])

rule = ThresholdQuantiles()
semantic = cosine_distances(
    *2 * [caption_vectors([item.captions for item in pool.items], get_embedder(None))]
)
quantiles = resolve_thresholds(
    pool, semantic, dataclasses.replace(DEFAULT_SETTINGS, thresholds=rule)
)
pairs = caption_pairs(semantic)
thresholds = Thresholds(
    pinned.gap_cut(pairs, rule.semantic_similar),
    pinned.gap_cut(pairs, rule.semantic_dissimilar),
    float(f"{quantiles.saliency_non_salient:.4g}"),
    float(f"{quantiles.saliency_salient:.4g}"),
)
print(f"quantile rule: {quantiles}\npinned:        {thresholds}")

with tempfile.TemporaryDirectory() as tmp:
    report = build_probe(
        pool, Path(tmp) / "probe", dataclasses.replace(DEFAULT_SETTINGS, thresholds=thresholds)
    )
    content = ProbeFolder.open(Path(tmp) / "probe").content_hash
margins = dataclasses.asdict(report.margins)
if any(margins[kind] < limit for kind, limit in MIN_MARGIN.items()):
    sys.exit(
        f"refused: {report.margins.line()}, closer than {MIN_MARGIN}; another library version "
        "could build another probe from these stamps"
    )
record = {
    "package": package,
    "version": version,
    "deb_sha256": sha256_file(deb),
    "thresholds": dataclasses.asdict(thresholds),
    "probe_content_sha256": content,
    "files": files,
}
target = Path(pinned.__file__).with_name(pinned.PIN_FILE)
write_text_atomic(target, json.dumps(record, indent=1) + "\n")
print(
    f"pinned {len(files)} stamp files of {package} {version}; default probe {content} "
    f"({report.n_complete} base images; {report.margins.line()}) -> {target}"
)
