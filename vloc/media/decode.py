"""Stream a video through an ffmpeg pipe as fixed-rate, resized, cropped RGB frames."""

from __future__ import annotations

import collections
import math
import numbers
import subprocess
import threading
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import IO, TYPE_CHECKING

from vloc.errors import InputError, MediaError, VlocError
from vloc.media.command import ffmpeg_command
from vloc.media.info import INSTALL_HINT, STDERR_TAIL_BYTES, VideoInfo, _tail, _tool, probe

if TYPE_CHECKING:
    import numpy as np

CROP_SIZE = 224  # short-side resize then centre crop, pixels (the backbones' input size)
SCALE_FLAGS = "bilinear"  # swscale filter: fast, and area-averaging enough when downscaling


def _scaled_size(width: int, height: int, size: int) -> tuple[int, int]:
    """(W, H) with the short side = ``size`` and the aspect ratio kept (long side rounded)."""
    if width <= height:
        return size, max(size, round(height * size / width))
    return max(size, round(width * size / height)), size


class _StderrTail:
    """Drain a pipe in a thread (so ffmpeg never blocks on a full stderr), keeping its tail."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._chunks: collections.deque[bytes] = collections.deque()
        self._size = 0
        self._thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self._thread.start()

    def _run(self, stream: IO[bytes]) -> None:
        for chunk in iter(lambda: stream.read1(4096), b""):
            self._chunks.append(chunk)
            self._size += len(chunk)
            while self._size - len(self._chunks[0]) > STDERR_TAIL_BYTES:
                self._size -= len(self._chunks.popleft())

    def text(self, timeout: float = 5.0) -> str:
        self._thread.join(timeout)
        return _tail(b"".join(self._chunks))


def _validate(fps: float, size: int) -> None:
    if not (isinstance(fps, numbers.Real) and math.isfinite(fps) and fps > 0):
        raise InputError(f"decode frame rate must be a positive number of frames/s, got {fps!r}")
    if not (isinstance(size, int) and size >= 1):
        raise InputError(f"frame size must be a positive number of pixels, got {size!r}")


def _read_exact(stream: IO[bytes], nbytes: int) -> bytearray | None:
    """Read exactly ``nbytes`` (None at a clean EOF); a short tail raises EOFError."""
    buf = bytearray(nbytes)
    view, got = memoryview(buf), 0
    while got < nbytes:
        n = stream.readinto(view[got:])
        if not n:
            if got == 0:
                return None
            raise EOFError(f"ffmpeg stopped after {got} of {nbytes} bytes of a frame")
        got += n
    return buf


def iter_frames(
    path: str | Path,
    *,
    fps: float,
    size: int = CROP_SIZE,
    crop: bool = True,
    start_s: float = 0.0,
    end_s: float | None = None,
    info: VideoInfo | None = None,
    warnings: list[str] | None = None,
) -> Iterator[np.ndarray]:
    """Stream a video as ``(H, W, 3)`` uint8 RGB frames at a constant ``fps``.

    Frame ``k`` covers ``[start_s + k / fps, start_s + (k + 1) / fps)`` (see the module doc).
    The frame is ``(size, size, 3)`` when ``crop`` is true, else short side ``size``.
    ``end_s`` (exclusive) stops decoding early; ``info`` saves a second ffprobe call.

    A truncated file that ffmpeg decodes as far as it can and then exits 0 on simply yields
    fewer frames (ffmpeg's complaint is appended to ``warnings``); a non-zero exit raises
    :class:`MediaError` with the tail of ffmpeg's stderr. Closing the generator early kills
    ffmpeg and reaps it.
    """
    import numpy as np

    _validate(fps, size)
    if start_s < 0 or (end_s is not None and end_s <= start_s):
        raise InputError(f"decode window must satisfy 0 <= start < end, got [{start_s}, {end_s})")
    info = info or probe(path)
    path = Path(path)
    width, height = _scaled_size(info.width, info.height, size)
    # start_time=0 pins output frame 0 to the container's t = 0 (or to start_s): a video stream
    # that starts late is padded with its first frame instead of shifting every later frame
    filters = [f"fps={Fraction(fps).limit_denominator(1_000_000)}:start_time=0"]
    filters.append(f"scale={width}:{height}:flags={SCALE_FLAGS},setsar=1")
    if crop:
        filters.append(f"crop={size}:{size}")
        width = height = size
    seek: dict[str, object] = {}
    if start_s > 0:
        # Seek to the keyframe before start_s and keep every decoded frame (timestamps shifted
        # so start_s is 0): the fps filter then still sees the source frame that is on screen at
        # start_s even when it began earlier, which ffmpeg's default accurate seek would drop.
        seek = {"noaccurate_seek": None, "ss": f"{start_s:.6f}"}
    output: dict[str, object] = {"an": None, "sn": None, "dn": None}  # video only
    output.update({"vf": ",".join(filters), "vsync": "passthrough"})
    if end_s is not None:  # frames whose interval starts before end_s
        output["frames:v"] = max(1, math.ceil((end_s - start_s) * fps - 1e-6))
    output.update({"format": "rawvideo", "pix_fmt": "rgb24"})
    argv = ffmpeg_command(
        str(path.absolute()),
        "pipe:1",
        executable=_tool("ffmpeg"),
        global_options=("-nostdin", "-hide_banner", "-v", "error"),
        input_options=seek,
        output_options=output,
        stream=info.stream_index,
    )
    frame_bytes = width * height * 3
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=frame_bytes,
        )
    except OSError as e:
        raise VlocError(f"cannot run ffmpeg ({e}): {INSTALL_HINT}") from e
    stderr = _StderrTail(proc.stderr)
    finished = False
    try:
        while True:
            try:
                buf = _read_exact(proc.stdout, frame_bytes)
            except EOFError as e:
                proc.wait()
                raise MediaError(
                    f"decoding failed: {e}; ffmpeg says: {stderr.text()}", path=path
                ) from None
            if buf is None:
                break
            yield np.frombuffer(buf, dtype=np.uint8).reshape(height, width, 3)
        finished = True
        rc = proc.wait()
        if rc != 0:
            raise MediaError(
                f"decoding failed (ffmpeg exit code {rc}); ffmpeg says: {stderr.text()}", path=path
            )
        complaint = stderr.text()
        if complaint and warnings is not None:
            warnings.append(f"{path}: ffmpeg reported problems while decoding: {complaint}")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
        if not finished:
            stderr.text(timeout=1.0)
        proc.stderr.close()
