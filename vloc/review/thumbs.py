"""Small JPEG thumbnails of a film at many times, from one decode pass.

Seeking once per cue decodes from the previous keyframe every time (about a GOP per cue, plus
an ffmpeg start): on a film of 2,000 cues that is minutes. Instead the film is decoded once, at
``THUMB_FPS`` frames per second and already scaled to the thumbnail size
(:func:`vloc.media.decode.iter_frames`); the frames wanted are passed to a second ffmpeg that
writes them as JPEGs. A time ``t`` gets the decoded frame that covers it, frame
``floor(t × THUMB_FPS)``, i.e. the picture on screen within 1 / THUMB_FPS s before ``t``.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vloc.errors import MediaError, VlocError

THUMB_WIDTH = 160  # px, the thumbnails' width (height from the film's aspect ratio)
THUMB_FPS = 4.0  # frames per second decoded: a thumbnail is at most 250 ms before its time
JPEG_QSCALE = 6  # ffmpeg -q:v for mjpeg, 2 (best) .. 31; 6 is ~3-5 KB at 160 × 90
STRIP_EVERY_S = 60.0  # s between the timeline strip's thumbnails on long films
STRIP_MIN_FRAMES = 10  # ... and at least this many on short ones


@dataclass
class Thumbnails:
    """JPEGs of distinct frames, and which one each requested time got."""

    jpegs: list[bytes] = field(default_factory=list)  # distinct frames, in film order
    at_ms: dict[int, int] = field(default_factory=dict)  # requested time (ms) -> index in jpegs
    width: int = 0  # px
    height: int = 0  # px
    seconds: float = 0.0  # wall time of the decode

    @property
    def total_bytes(self) -> int:
        return sum(len(j) for j in self.jpegs)


def strip_times_ms(duration_s: float) -> list[int]:
    """The times of the timeline strip's thumbnails: the middle of every minute, or of every
    tenth of a film shorter than ``STRIP_MIN_FRAMES`` minutes."""
    if duration_s <= 0:
        return []
    every = min(STRIP_EVERY_S, duration_s / STRIP_MIN_FRAMES)
    n = max(1, math.ceil(duration_s / every - 1e-9))
    return [int(1000 * every * (j + 0.5)) for j in range(n) if every * (j + 0.5) < duration_s]


def _thumb_size(width: int, height: int, thumb_width: int) -> int:
    """The short side to decode at so that the long side is about ``thumb_width``, even."""
    if width >= height:
        return max(2, 2 * round(thumb_width * height / width / 2))
    return max(2, 2 * round(thumb_width / 2))


def grab_thumbnails(
    video: str | Path,
    times_ms: Sequence[int],
    *,
    width: int = THUMB_WIDTH,
    fps: float = THUMB_FPS,
    progress: Callable[[int, int], None] | None = None,
    warnings: list[str] | None = None,
) -> Thumbnails:
    """Thumbnails of ``video`` at ``times_ms`` (see the module docstring).

    Times past the end of the film get no thumbnail (absent from ``at_ms``). ``progress`` is
    called as ``progress(frames decoded, frames to decode)``. Raises :class:`MediaError` when
    the film cannot be probed or decoded.
    """
    from vloc.media.decode import iter_frames
    from vloc.media.info import _tool, probe

    t0 = time.perf_counter()
    video = Path(video)
    info = probe(video)
    wanted: dict[int, list[int]] = {}  # decoded frame -> requested times it serves
    for t in times_ms:
        if 0 <= t < info.duration_s * 1000:
            wanted.setdefault(int(t / 1000 * fps), []).append(int(t))
    out = Thumbnails()
    if not wanted:
        out.seconds = time.perf_counter() - t0
        return out
    last = max(wanted)
    size = _thumb_size(info.width, info.height, width)
    frames = iter_frames(
        video, fps=fps, size=size, crop=False, end_s=(last + 1) / fps, info=info, warnings=warnings
    )
    with tempfile.TemporaryDirectory(prefix="vloc-thumbs-") as tmp:
        encoder: subprocess.Popen[bytes] | None = None
        order: list[int] = []  # decoded frame index of each JPEG written
        err = Path(tmp) / "ffmpeg.log"
        try:
            with open(err, "wb") as log:
                for k, frame in enumerate(frames):
                    if progress is not None and (k % 64 == 0 or k == last):
                        progress(k + 1, last + 1)
                    if k not in wanted:
                        continue
                    if encoder is None:
                        out.height, out.width = frame.shape[:2]
                        encoder = _start_encoder(_tool("ffmpeg"), out.width, out.height, tmp, log)
                    assert encoder.stdin is not None
                    encoder.stdin.write(frame.tobytes())
                    order.append(k)
                if encoder is not None:
                    assert encoder.stdin is not None
                    encoder.stdin.close()
                    if encoder.wait() != 0:
                        tail = err.read_text("utf-8", "replace").strip().splitlines()[-1:]
                        raise MediaError(
                            f"cannot write thumbnails: {tail[0] if tail else 'ffmpeg failed'}",
                            path=video,
                        )
        except BrokenPipeError as e:
            raise MediaError("the thumbnail encoder stopped early", path=video) from e
        finally:
            frames.close()
            if encoder is not None and encoder.poll() is None:
                encoder.kill()
                encoder.wait()
        for j, k in enumerate(order):
            out.jpegs.append((Path(tmp) / f"{j:06d}.jpg").read_bytes())
            for t in wanted[k]:
                out.at_ms[t] = j
    out.seconds = time.perf_counter() - t0
    return out


def _start_encoder(exe: str, width: int, height: int, folder: str, log) -> subprocess.Popen[bytes]:
    """An ffmpeg that turns raw RGB frames on its stdin into ``folder/000000.jpg``, ..."""
    argv = [
        exe, "-nostdin", "-hide_banner", "-v", "error",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-framerate", "1",
        "-i", "pipe:0",
        "-q:v", str(JPEG_QSCALE), "-pix_fmt", "yuvj420p", "-start_number", "0",
        "-f", "image2", str(Path(folder) / "%06d.jpg"),
    ]  # fmt: skip
    try:
        return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log)
    except OSError as e:
        raise VlocError(f"cannot run ffmpeg ({e})") from e


def have_ffmpeg() -> bool:
    return shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None
