"""Process-wide memory settings (nerkit.runtime.keep_freed_memory): freed blocks stay with the process."""

import os
import platform
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# In a fresh interpreter: optionally keep freed memory, then malloc, touch and free a 24 MB block (the size of an
# evaluation batch's attention scores) and print how much of it the process still holds.
PROBE = """
import ctypes, sys
from nerkit.runtime import keep_freed_memory
kept = keep_freed_memory() if sys.argv[1] == "keep" else None
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = (ctypes.c_void_p,)
def resident():
    with open("/proc/self/statm") as stream:
        return int(stream.read().split()[1]) * 4096
size = 24 * 2**20
block = libc.malloc(size)
ctypes.memset(block, 1, size)
before = resident()
libc.free(block)
print(kept, (before - resident()) / size)
"""

glibc_only = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                                reason="mallopt settings are glibc's")


def probe(mode, **environment):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    env.update(environment, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", PROBE, mode], env=env, capture_output=True, text=True, check=True)
    kept, returned = out.stdout.split()
    return kept, float(returned)


@glibc_only
def test_freed_block_is_kept_for_the_next_batch():
    kept, returned = probe("keep")
    assert kept == "True"
    assert returned < 0.1  # the block's pages stay mapped: the next batch reuses them without page faults
    # glibc's default gives a block that size straight back to the kernel
    assert probe("default")[1] > 0.9


@glibc_only
@pytest.mark.parametrize("setting", [{"MALLOC_MMAP_THRESHOLD_": "1048576"},
                                     {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=1048576"}])
def test_user_malloc_settings_are_kept(setting):
    # the user's own setting wins: under their 1 MB mmap threshold the block is mmapped and given back on free
    kept, returned = probe("keep", **setting)
    assert kept == "False"
    assert returned > 0.9
