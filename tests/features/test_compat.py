"""The torchvision compatibility step: lazy, idempotent, and a no-op where torchvision works.

Each check runs in a fresh interpreter: the test process itself installs the step (conftest),
so only a new process shows what ``import vloc`` and vloc's own entry points do.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


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
        import vloc, vloc.cli.app, vloc.backbones, vloc.encoders, vloc.engines.seq2seq
        from vloc._compat import TorchvisionCompatFinder, install_torchvision_compat
        before = [f for f in sys.meta_path if isinstance(f, TorchvisionCompatFinder)]
        first = install_torchvision_compat()
        again = install_torchvision_compat()
        finders = [f for f in sys.meta_path if isinstance(f, TorchvisionCompatFinder)]
        print(len(before), len(finders), first is again, first.status, "torch" in sys.modules)
        """
    )
    assert r.returncode == 0, r.stderr
    # importing vloc's modules installs nothing; installing imports no torch
    assert r.stdout.split() == ["0", "1", "True", "None", "False"]


def test_pytorchvideo_imports_after_building_a_backbone():
    r = _run(
        """
        import sys
        from vloc.backbones import build_backbone
        build_backbone("x3d_m", width=1 / 16)
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
def test_sentence_transformers_and_transformers_load_through_vloc():
    """vloc's sentence-transformers encoder and the seq2seq engine's transformers import work in
    a process that never installed the step itself."""
    r = _run(
        """
        import json, sys, tempfile
        from pathlib import Path
        from vloc.encoders import load_encoder
        enc = load_encoder("all-MiniLM-L6-v2")
        print(enc.encode(["a river bank"]).shape[1])
        from vloc.engines.seq2seq import check_model_folder
        folder = Path(tempfile.mkdtemp())
        (folder / "config.json").write_text(json.dumps({"model_type": "marian"}))
        check_model_folder(folder)
        import transformers, torchvision
        finder = next(f for f in sys.meta_path if hasattr(f, "prepare_ops"))
        print(finder.status)
        """
    )
    assert r.returncode == 0, r.stderr
    dim, status = r.stdout.split()
    assert dim == "384" and status in ("native", "schemas")


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
