"""The torchvision compatibility step: lazy, idempotent, and a no-op where torchvision works."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_install_is_free_and_idempotent():
    r = _run(
        """
        import sys
        import vloc
        from vloc._compat import TorchvisionCompatFinder, install_torchvision_compat
        first = install_torchvision_compat()
        again = install_torchvision_compat()
        finders = [f for f in sys.meta_path if isinstance(f, TorchvisionCompatFinder)]
        print(len(finders), first is again, first.status, "torch" in sys.modules)
        """
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1", "True", "None", "False"]


def test_pytorchvideo_imports_after_vloc():
    r = _run(
        """
        import sys
        import vloc
        import pytorchvideo.models.hub, pytorchvideo.data, pytorchvideo.transforms
        import torchvision.transforms.functional_tensor as ft
        finder = next(f for f in sys.meta_path if hasattr(f, "prepare_ops"))
        print(finder.status, ft.__name__)
        """
    )
    assert r.returncode == 0, r.stderr
    status, name = r.stdout.split()
    assert status in ("native", "schemas")
    assert name in (
        "torchvision.transforms._functional_tensor",
        "torchvision.transforms.functional_tensor",
    )


@pytest.mark.slow
def test_sentence_transformers_imports_after_vloc():
    r = _run(
        """
        import vloc
        import pytorchvideo.models.hub, pytorchvideo.data, pytorchvideo.transforms
        import sentence_transformers
        print("ok")
        """
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_does_nothing_when_the_ops_exist():
    """A working torchvision (ops already defined) gets no schemas from vloc."""
    r = _run(
        """
        import torch
        lib = torch.library.Library("torchvision", "DEF")
        lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        lib.define("qnms(Tensor qdets, Tensor scores, float iou_threshold) -> Tensor")
        from vloc._compat import TorchvisionCompatFinder
        finder = TorchvisionCompatFinder()
        print(finder.prepare_ops([]), finder._library is None, finder.prepare_ops([]))
        """
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["native", "True", "native"]


def test_help_imports_no_torch():
    code = """
        import sys, time
        t0 = time.perf_counter()
        from vloc.cli.app import app
        for argv in (["--help"], ["features", "--help"]):
            try:
                app(argv, standalone_mode=False)
            except SystemExit:
                pass
        heavy = sorted(m for m in ("torch", "torchvision", "pytorchvideo", "numpy.random") if m in sys.modules)
        print("HEAVY", heavy, f"{time.perf_counter() - t0:.3f}", file=sys.stderr)
        """
    t0 = time.perf_counter()
    r = _run(code)
    wall = time.perf_counter() - t0
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stderr.splitlines() if x.startswith("HEAVY"))
    assert "torch" not in line.split("]")[0], line
    print(f"vloc --help + vloc features --help: {wall:.2f} s wall (process), {line}")
