"""Shared fixtures: synthetic media made with ``ffmpeg -f lavfi``, an isolated vloc home."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from vloc._compat import install_torchvision_compat

# the tests build tiny transformers / sentence-transformers models themselves, outside the vloc
# functions that install the torchvision compatibility step
install_torchvision_compat()

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def make_video(
    path: Path,
    *,
    seconds: float = 2.0,
    fps: int = 25,
    size: str = "320x240",
    source: str = "testsrc2",
    audio: bool = False,
    codec: str = "libx264",
    extra_args: tuple[str, ...] = (),
) -> Path:
    """Write a synthetic video with exactly ``round(seconds * fps)`` frames.

    ``source`` is any lavfi video source (``testsrc2``, ``mandelbrot``, ``color=c=blue`` ...).
    """
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    src = (
        f"{source}=size={size}:rate={fps}"
        if "=" not in source
        else f"{source}:size={size}:rate={fps}"
    )
    argv = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", src]
    if audio:
        argv += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000"]
    argv += ["-t", f"{seconds}", "-c:v", codec, "-pix_fmt", "yuv420p"]
    if codec == "libx264":
        argv += ["-preset", "ultrafast"]
    if audio:
        argv += ["-c:a", "aac", "-shortest"]
    argv += [*extra_args, str(path)]
    subprocess.run(argv, check=True, capture_output=True)
    return path


@pytest.fixture(autouse=True)
def _isolated_vloc_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Point vloc's cache at a temp dir so tests never touch the user's cache."""
    home = tmp_path_factory.mktemp("vloc-home")
    monkeypatch.setenv("VLOC_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    return home


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the project, or skip when it is absent (as on users' machines)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder not found: {SHARED_DATA}")
    return SHARED_DATA


# the suites that talk to engines: each of their tests runs with a canary API key in the
# environment, and no file it leaves behind may hold it
ENGINE_SUITES = ("test_engine_llm", "test_translate_engines", "test_engine_real", "test_batch_e2e")
CANARY_KEY = "sk-canary-0123456789abcdef-never-written"


@pytest.fixture(autouse=True)
def _canary_key(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """In the engine suites: set ``VLOC_API_KEY`` to a canary and, after the test, fail when
    any file under its ``tmp_path`` (outputs, workspace, journals, reports) holds it."""
    if request.module.__name__.rsplit(".", 1)[-1] not in ENGINE_SUITES:
        yield
        return
    monkeypatch.setenv("VLOC_API_KEY", CANARY_KEY)  # a test may set its own after this
    # asked for now, so that it is torn down after this fixture's check
    root = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    yield
    if root is not None:
        leaked = [
            p for p in root.rglob("*") if p.is_file() and CANARY_KEY.encode() in p.read_bytes()
        ]
        assert not leaked, f"the API key reached {leaked}"
