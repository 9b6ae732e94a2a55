"""Keyframes for vision-language engines: which frames a batch shows, and small JPEGs of them.

Candidates: one frame at the middle of every cue of the batch and of every related cue that
global retrieval brought in (so the model sees what the film showed when the related lines
were spoken). ``--frame-select``:

* ``text`` — the paper's dot-product text-aware selection (§V-C of the translator paper), in
  the space vloc has for both sides of the comparison: each candidate frame is scored by the
  dot product between the L2-normalised mean embedding of the batch's lines and the
  embedding of the line spoken over that frame (the film's subtitle index, the same encoder as
  global retrieval); the top K are attached, best first. With no index (``--context window``)
  the batch's own frames are taken in time order.
* ``uniform`` — K frames evenly spaced over the batch's time span, as VLMs sample by default.

Frames are grabbed with ffmpeg (a fast seek to the timestamp, one frame, the short side scaled
to ``FRAME_SIDE`` pixels, JPEG quality ``JPEG_QSCALE``) and cached per timestamp.
"""

from __future__ import annotations

import base64
import collections
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from vloc.errors import MediaError

if TYPE_CHECKING:
    import numpy as np

FRAME_SIDE = 336  # px, the short side of an attached frame (a typical VLM tile)
JPEG_QSCALE = 5  # ffmpeg -q:v for mjpeg: 2 (best) .. 31; 5 is ~30 KB at 336 px
CACHED_FRAMES = 256  # JPEGs kept for reuse by later batches (~8 MB), whatever the film's length


def select_frames(
    rows: list[int],
    related: list[int],
    times_ms: Sequence[tuple[int, int]],
    k: int,
    mode: str,
    embeddings: np.ndarray | None = None,
) -> list[int]:
    """Timestamps (ms) of the K frames to attach for a batch (see the module docstring)."""
    import numpy as np

    if k <= 0 or not rows:
        return []
    if mode == "uniform":
        start, end = times_ms[rows[0]][0], times_ms[rows[-1]][1]
        span = max(0, end - start)
        return [int(start + span * (j + 0.5) / k) for j in range(k)]
    candidates = list(dict.fromkeys([*rows, *related]))
    if embeddings is None:
        chosen = rows[:k]
    else:
        query = embeddings[rows].mean(axis=0)
        query = query / max(float(np.linalg.norm(query)), 1e-12)
        scores = embeddings[candidates] @ query  # (C,) dot products
        order = sorted(range(len(candidates)), key=lambda c: (-float(scores[c]), candidates[c]))
        chosen = [candidates[c] for c in order[:k]]
    return [(times_ms[i][0] + times_ms[i][1]) // 2 for i in chosen]


class FrameGrabber:
    """Small JPEGs of a video at given times, the ``CACHED_FRAMES`` most recently used kept
    (frames recur across neighbouring batches; a film-long cache grew by a JPEG per cue)."""

    def __init__(self, video: str | Path) -> None:
        self.video = Path(video)
        self._cache: collections.OrderedDict[int, bytes] = collections.OrderedDict()

    def jpeg(self, t_ms: int) -> bytes:
        if t_ms in self._cache:
            self._cache.move_to_end(t_ms)
        else:
            from vloc.media.command import ffmpeg_command
            from vloc.media.info import _tool

            scale = f"scale='if(lt(iw,ih),{FRAME_SIDE},-2)':'if(lt(iw,ih),-2,{FRAME_SIDE})'"
            argv = ffmpeg_command(
                str(self.video.resolve()),
                "pipe:1",
                executable=_tool("ffmpeg"),
                input_options={"ss": f"{t_ms / 1000:.3f}"},  # before -i: a fast keyframe seek
                output_options={
                    "frames:v": 1,
                    "vf": scale,
                    "q:v": JPEG_QSCALE,
                    "format": "image2pipe",
                    "vcodec": "mjpeg",
                },
            )
            p = subprocess.run(argv, capture_output=True)
            if p.returncode != 0 or not p.stdout:
                tail = p.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no frame"]
                raise MediaError(
                    f"cannot grab a frame at {t_ms / 1000:.2f} s: {tail[0]}", path=self.video
                )
            self._cache[t_ms] = p.stdout
            while len(self._cache) > CACHED_FRAMES:
                self._cache.popitem(last=False)
        return self._cache[t_ms]


def data_url(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
