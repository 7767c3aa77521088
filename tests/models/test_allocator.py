"""After an extraction's allocator block, arrays of a few megabytes (a bootstrap's or a permutation
test's scratch) come from the heap's freed memory, not from fresh mappings the kernel faults in
page by page, while very large ones are still mapped (and so go back to the system when freed).
Read from glibc's own account (``mallinfo2``: the number of mapped blocks) in fresh processes,
whose malloc has seen nothing else, against glibc held at its start values (what the block used
to leave behind)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from brainalign.models import allocator

#: In a child process: leave a reuse block, or fix glibc's mmap threshold at its start value
#: (128 KB; a threshold once set no longer adapts); then hold a 4 MiB and a 400 MiB array and
#: print how many blocks malloc has mapped while each is alive.
CHILD = """
import ctypes, importlib.util, json, sys
import numpy as np

class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Mallinfo2
spec = importlib.util.spec_from_file_location("allocator", sys.argv[2])  # stdlib only, no torch
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
if sys.argv[1] == "after-block":
    with module.reuse_freed_memory():
        np.ones(2**22).sum()
else:
    libc.mallopt(module._M_MMAP_THRESHOLD, 128 * 1024)
mapped = {}
for name, size in (("4 MiB", 2**19), ("400 MiB", 50 * 2**20)):
    before = libc.mallinfo2().hblks
    array = np.ones(size)
    mapped[name] = libc.mallinfo2().hblks - before
    del array
print(json.dumps(mapped))
"""


def _mapped(mode: str) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, allocator.__file__],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.mark.skipif(not allocator.tunable(), reason="glibc's malloc is not this process's")
def test_after_an_extraction_block_large_arrays_reuse_freed_memory() -> None:
    # the measure sees a mapping where glibc maps: at its start values, both arrays are mapped
    assert _mapped("frozen-at-start-values") == {"4 MiB": 1, "400 MiB": 1}
    # after the block a bootstrap's scratch comes from the heap; a huge array is still mapped
    assert _mapped("after-block") == {"4 MiB": 0, "400 MiB": 1}
