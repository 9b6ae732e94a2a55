"""Freed memory handed back to the operating system between stages (vloc.heap): the
features stage ends with it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vloc.heap import _malloc_trim, release_freed_memory

CHILD = r"""
import ctypes, sys
from vloc.heap import release_freed_memory

def anon_mib():
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024

libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
blocks = [libc.malloc(64 * 1024) for _ in range(3200)]  # 200 MiB of heap, below mmap's size
for b in blocks:
    ctypes.memset(b, 1, 64 * 1024)  # touched: resident
full = anon_mib()
for b in blocks[:-1]:
    libc.free(b)  # the last block pins the top of the heap: no automatic trim
freed = anon_mib()
released = release_freed_memory()
print(full, freed, anon_mib(), released)
"""


@pytest.mark.skipif(_malloc_trim() is None, reason="needs glibc's malloc_trim (Linux)")
def test_freed_heap_pages_go_back_to_the_system() -> None:
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    ).stdout.split()  # fmt: skip
    full, freed, after, released = float(out[0]), float(out[1]), float(out[2]), out[3]
    assert freed > full - 20  # free() alone keeps the pages
    assert released == "True" and after < freed - 150, (full, freed, after)


def test_no_trim_is_no_error(monkeypatch) -> None:
    _malloc_trim.cache_clear()
    monkeypatch.setattr(sys, "platform", "darwin")
    try:
        assert release_freed_memory() is False
    finally:
        _malloc_trim.cache_clear()
