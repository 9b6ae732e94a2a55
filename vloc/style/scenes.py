"""Shot changes of a video, found once by ffmpeg's scene detection and cached in its workspace.

ffmpeg scores every frame's difference from the previous one (the ``select`` filter's
``scene`` value, 0-1); frames scoring above :data:`SCENE_THRESHOLD` start a new shot. The
video is decoded once, scaled to :data:`SCENE_WIDTH` pixels wide (the score is a mean over the
picture, so a small picture scores alike, and decoding is much faster), and only the selected
frames' times come back through a pipe, read line by line: memory does not grow with the
film's length. The list is stored in the video's workspace (``film.mp4.vloc/scenes/``) keyed
by the video's content fingerprint and the threshold, so checking a second subtitle file of
the same film costs nothing.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from vloc.errors import MediaError, VlocError
from vloc.fileio import atomic_write_json, file_fingerprint, read_json
from vloc.media.command import ffmpeg_command
from vloc.media.decode import _StderrTail
from vloc.media.info import INSTALL_HINT, _tool, probe
from vloc.workspace import Workspace

SCENE_THRESHOLD = 0.3  # ffmpeg scene score above which a frame starts a shot (0-1)
SCENE_WIDTH = 320  # px: frames are scored at this width
SCENES_FORMAT = 1  # version of the cached JSON
_PTS = re.compile(r"\bpts_time:(-?[0-9.]+)")


def _detect(video: Path, threshold: float, stream: int) -> list[int]:
    """Shot-change times in ms, in order, from one ffmpeg run."""
    vf = f"scale={SCENE_WIDTH}:-2,select='gt(scene\\,{threshold})',metadata=print:file=-"
    argv = ffmpeg_command(
        str(video.absolute()),
        "-",
        executable=_tool("ffmpeg"),
        global_options=("-nostdin", "-hide_banner", "-v", "error"),
        output_options={"an": None, "sn": None, "dn": None, "vf": vf, "format": "null"},
        stream=stream,
    )
    try:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except OSError as e:
        raise VlocError(f"cannot run ffmpeg ({e}): {INSTALL_HINT}") from e
    stderr = _StderrTail(proc.stderr)
    cuts: list[int] = []
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:
            m = _PTS.search(raw.decode("utf-8", "replace"))
            if m:
                cuts.append(round(float(m.group(1)) * 1000))
        rc = proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    complaint = stderr.text()
    if proc.stderr is not None:
        proc.stderr.close()
    if rc != 0:
        raise MediaError(
            f"shot detection failed (ffmpeg exit code {rc}); ffmpeg says: {complaint}", path=video
        )
    return sorted(set(cuts))


def shot_changes(
    video: str | Path,
    *,
    threshold: float = SCENE_THRESHOLD,
    workdir: str | Path | None = None,
    notify: Callable[[str], None] | None = None,
) -> tuple[list[int], float]:
    """(shot-change times in ms, the video's frame rate) of ``video``, from its workspace
    when already found with this ``threshold``, else by one ffmpeg run (then cached).

    Raises :class:`MediaError` naming the file for a missing, empty or undecodable video.
    """
    if not 0.0 < threshold < 1.0:
        raise VlocError(f"scene threshold must be between 0 and 1, got {threshold}")
    video = Path(video)
    info = probe(video)  # MediaError for a missing, empty or non-video file
    ws = Workspace.for_video(video, workdir)
    key = f"{file_fingerprint(video)[:20]}-t{threshold:g}"
    path = ws.root / "scenes" / f"{key}.json"
    cached = _read_cache(path)
    if cached is not None:
        return cached, info.fps
    with ws.lock(f"scenes-{key}", notify=notify):
        cached = _read_cache(path)
        if cached is not None:
            return cached, info.fps
        cuts = _detect(video, threshold, info.stream_index)
        ws.sub("scenes", path.name)
        atomic_write_json(
            path,
            {"format": SCENES_FORMAT, "threshold": threshold, "fps": info.fps, "cuts_ms": cuts},
        )
    return cuts, info.fps


def _read_cache(path: Path) -> list[int] | None:
    """The cached cut list, or None when absent or not readable as one (it is then redone)."""
    obj = read_json(path, what="scene cut cache", require_object=True, default={})
    cuts = obj.get("cuts_ms")
    if obj.get("format") != SCENES_FORMAT or not isinstance(cuts, list):
        return None
    if not all(type(c) is int and c >= 0 for c in cuts):
        return None
    return cuts
