"""Per-video workspaces and the user cache directory.

A workspace is a folder holding everything vloc derives from one video: features,
the subtitle index, translations in progress. By default it sits next to the video
(``film.mp4`` -> ``film.mp4.vloc/``); with ``--workdir DIR`` it is ``DIR/film.mp4.vloc/``.
Artefacts inside are named by content hashes of their inputs and settings, so a
stale artefact is never mistaken for a fresh one, whatever the timestamps say.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

WORKSPACE_SUFFIX = ".vloc"
_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)


def vloc_home() -> Path:
    """Cache root for downloaded weights and models: ``$VLOC_HOME``, else ``~/.cache/vloc``."""
    if env := os.environ.get("VLOC_HOME"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "vloc"


def safe_name(name: str) -> str:
    """A file-system-safe version of ``name`` (keeps unicode letters, digits, ``.``, ``-``, ``_``)."""
    cleaned = _UNSAFE.sub("_", name).strip("._").lstrip("-")
    return cleaned or "video"


@dataclass(frozen=True)
class Workspace:
    """The folder of derived artefacts for one video.

    Attributes:
        root: the workspace folder (created on first write, not on construction).
        name: the video's file name, or an identifier for videos not on disk
            (e.g. published features imported without their video).
    """

    root: Path
    name: str

    @classmethod
    def for_video(cls, video: str | Path, workdir: str | Path | None = None) -> Workspace:
        video = Path(video)
        parent = Path(workdir) if workdir is not None else video.parent
        return cls(root=parent / (safe_name(video.name) + WORKSPACE_SUFFIX), name=video.name)

    def sub(self, *parts: str) -> Path:
        """A path inside the workspace; its parent folders are created."""
        p = self.root.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p
