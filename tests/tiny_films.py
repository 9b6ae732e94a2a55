"""Films for tests: synthetic videos made with ``ffmpeg -f lavfi``, and where the real
third-party films live (``../shared/data`` beside the project; tests skip when it is absent)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]  # the repository
SHARED_DATA = ROOT.parent / "shared" / "data"


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


def copy_film(video: Path, folder: Path, srt: str) -> tuple[Path, Path]:
    """A private copy of ``video`` in ``folder`` with ``film.srt`` holding ``srt`` beside it
    (so that a test's workspace and outputs are its own): (video, subtitles)."""
    copy = folder / video.name
    copy.write_bytes(video.read_bytes())
    subs = folder / "film.srt"
    subs.write_text(srt, encoding="utf-8")
    return copy, subs


def film_folder(folder: Path, video: Path, subs: Path, names: tuple[str, ...]) -> Path:
    """``folder`` holding ``NAME.mp4`` and ``NAME.en.srt``, copies of one film, for each of
    ``names``: what ``vloc batch FOLDER`` finds."""
    folder.mkdir()
    for name in names:
        (folder / f"{name}.mp4").write_bytes(video.read_bytes())
        (folder / f"{name}.en.srt").write_text(subs.read_text())
    return folder


def topicvd_script() -> ModuleType:
    """``scripts/topicvd_to_srt.py`` loaded as a module (it turns TopicVD films into SRT)."""
    spec = importlib.util.spec_from_file_location(
        "topicvd_to_srt", ROOT / "scripts" / "topicvd_to_srt.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
