"""The feature tests' synthetic film: 2 s of lavfi testsrc2 at 25 fps, 96 × 64, one per module."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_films import make_video


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("media")
    make_video(d / "film.mp4", seconds=2.0, fps=25, size="96x64")
    return d
