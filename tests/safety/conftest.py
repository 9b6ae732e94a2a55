"""The safety tests' film: 2 s of synthetic video (64 × 48, 8 fps) and two English cues beside
it, as ``{"video", "subs", "dir"}`` (a module may define a ``film`` of its own)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_films import make_video
from tiny_subtitles import TWO_CUES_SRT


@pytest.fixture
def film(tmp_path: Path) -> dict[str, Path]:
    video = make_video(tmp_path / "film.mp4", seconds=2.0, fps=8, size="64x48")
    subs = tmp_path / "film.en.srt"
    subs.write_text(TWO_CUES_SRT)
    return {"video": video, "subs": subs, "dir": tmp_path}
