"""Pin the standard probe: write brainalign/probe/default_probe.json from a stamps folder.

    python tools/pin_default_probe.py STAMPS_DIR DEB

STAMPS_DIR holds tuxpaint-stamps-default's stamps (what `brainalign probe default` unpacks into
the cache, or /usr/share/tuxpaint/stamps), DEB the package file they came from (its name gives
the version, its sha256 is recorded). The pin lists every photo stamp the default probe's pool
reads (PNG and description, with sha256), then builds the default probe from exactly those files
and records the sha256 of its manifest: `probe.saliency_semantic@1` is that folder. Run it again,
in the project's pinned environment (constraints.txt), whenever the builder changes its output
(BUILDER_VERSION), and commit the file.
"""

import json
import sys
import tempfile
from pathlib import Path

from brainalign._io import sha256_file, write_text_atomic
from brainalign.probe import TuxPaintPool, build_probe, pinned
from brainalign.probe.default import DEFAULT_SETTINGS
from brainalign.probe.folder import ProbeFolder
from brainalign.probe.tuxpaint import PACKAGE, stamp_files

stamps, deb = Path(sys.argv[1]), Path(sys.argv[2])
package, version, _ = deb.name.split("_", 2)
assert package == PACKAGE, f"{deb} is not {PACKAGE}"
pool = TuxPaintPool(stamps)
files = {name: sha256_file(stamps / name) for name in stamp_files(pool.stamps.values(), stamps)}
with tempfile.TemporaryDirectory() as tmp:
    restricted = TuxPaintPool(stamps, stamps=[n for n in files if n.endswith(".png")])
    build_probe(restricted, Path(tmp) / "probe", DEFAULT_SETTINGS)
    manifest = ProbeFolder.open(Path(tmp) / "probe").content_hash
record = {"package": package, "version": version, "deb_sha256": sha256_file(deb),
          "probe_manifest_sha256": manifest, "files": files}
target = Path(pinned.__file__).with_name(pinned.PIN_FILE)
write_text_atomic(target, json.dumps(record, indent=1) + "\n")
print(f"pinned {len(files)} stamp files of {package} {version}; default probe manifest {manifest} -> {target}")
