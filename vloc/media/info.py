"""Probe videos with ffprobe: duration, frame rate, display size, streams."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from vloc.errors import MediaError, VlocError

STDERR_TAIL_BYTES = 4000  # how much of ffmpeg's/ffprobe's stderr is kept for error messages
VFR_TOLERANCE = 0.005  # relative r_frame_rate/avg_frame_rate gap above which a stream counts as VFR
# How much earlier than its duration promises a video may stop decoding and still count as
# complete. Measured: 13 intact files (the two real videos, mp4/mkv/webm/avi/ogv/ts, NTSC,
# B-frames, VFR, audio longer than video) decode exactly round(duration * fps) frames at 3.75-30
# fps, or one frame less (MPEG-TS at 30 fps); a cut file misses whole seconds.
TRUNCATION_SLACK_S = 1.0  # s, when the video stream's own duration is known
TRUNCATION_SLACK_FRAMES = 2  # frames at the decode rate, when that is more than the seconds
# When only the container's duration is known (FLV, some AVI and Matroska muxers), it is that of
# the longest stream: audio running 2 s past the video was measured on an intact FLV.
CONTAINER_SLACK_S = 5.0  # s
INSTALL_HINT = (
    "install FFmpeg and make sure `ffmpeg` and `ffprobe` are on PATH "
    "(Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg; "
    "conda: conda install -c conda-forge ffmpeg)"
)


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` learns about the first (non-cover-art) video stream of a file."""

    path: Path  # the probed file
    duration_s: float  # s; where the video stream ends on the file's clock: its start offset
    # plus its duration (the container's duration when the stream has none)
    fps: float  # average frame rate of the video stream (avg_frame_rate), frames/s
    width: int  # display width in pixels: sample aspect ratio applied, swapped for 90/270° rotation
    height: int  # display height in pixels (same conventions as width)
    n_frames: int | None  # nb_frames when the container records it, else None
    codec: str  # ffprobe codec_name, e.g. "h264"
    has_audio: bool  # the file has at least one audio stream
    variable_frame_rate: bool  # heuristic: r_frame_rate and avg_frame_rate differ by more than
    # VFR_TOLERANCE (mp4 shows it; Matroska usually reports both equal even when timing varies).
    # Informational only: decoding is constant-rate either way.
    stream_index: int = 0  # absolute index of the video stream in the container
    rotation: int = 0  # display rotation in degrees from metadata (ffmpeg applies it on decode)
    duration_source: str = "stream"  # "stream": the video stream's own duration (or its
    # DURATION tag); "container": the file's, which may include audio running past the video


@dataclass(frozen=True)
class Shortfall:
    """A decode that stopped well before the end the file's duration promises."""

    path: Path  # the video
    decoded_s: float  # s of video decoded (frames × 1 / fps)
    expected_s: float  # s the duration promises (round(duration × fps) frames)

    @property
    def missing_share(self) -> float:
        """Fraction of the expected video that did not decode, in [0, 1]."""
        return max(0.0, 1.0 - self.decoded_s / self.expected_s) if self.expected_s > 0 else 0.0

    def describe(self) -> str:
        """``"decoded 1.2 s of 8.7 s expected (86 % missing)"``."""
        return (
            f"decoded {self.decoded_s:.1f} s of {self.expected_s:.1f} s expected "
            f"({100 * self.missing_share:.0f} % missing)"
        )

    def error(self) -> str:
        """The one-line failure (without the path, which the error adds)."""
        return (
            f"{self.describe()}: the file looks truncated or corrupt; "
            "pass --allow-truncated to go on with what decodes"
        )

    def to_json(self) -> dict[str, float]:
        return {
            "decoded_s": round(self.decoded_s, 3),
            "expected_s": round(self.expected_s, 3),
            "missing_share": round(self.missing_share, 4),
        }


def _tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise VlocError(f"`{name}` was not found: {INSTALL_HINT}")
    return exe


def _tail(data: bytes | str, limit: int = STDERR_TAIL_BYTES, lines: int = 6) -> str:
    """The last ``lines`` non-blank lines of a tool's stderr, joined into one line for errors."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    text = " | ".join(kept)
    return text if len(text) <= limit else "..." + text[-limit:]


def _check_file(path: Path) -> None:
    if not path.exists():
        raise MediaError("video file not found", path=path)
    if path.is_dir():
        raise MediaError("is a directory, expected a video file", path=path)
    if path.stat().st_size == 0:
        raise MediaError("video file is empty (0 bytes)", path=path)


def _rate(text: str | None) -> Fraction | None:
    """Parse an ffprobe rate such as ``"30000/1001"``; None for missing or ``0/0``."""
    if not text:
        return None
    try:
        value = Fraction(text.replace(":", "/"))
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def _seconds(value: object) -> float | None:
    """Parse ffprobe durations: ``"12.5"`` or Matroska's ``"00:01:02.500000000"`` tag."""
    if value is None or value == "N/A":
        return None
    text = str(value)
    try:
        if ":" in text:
            h, m, s = text.split(":")
            return int(h) * 3600 + int(m) * 60 + float(s)
        return float(text)
    except ValueError:
        return None


def _rotation(stream: dict) -> int:
    for side in stream.get("side_data_list", []) or []:
        if "rotation" in side:
            return int(round(float(side["rotation"])))
    rotate = (stream.get("tags") or {}).get("rotate")
    return int(round(float(rotate))) if rotate else 0


def probe(path: str | Path) -> VideoInfo:
    """Read a video's stream and container metadata with ffprobe.

    Raises :class:`MediaError` (naming the file) for a missing, empty or undecodable file (with
    the tail of ffprobe's stderr), a file without a video stream, or a zero/unknown duration, and
    :class:`VlocError` when ffprobe is not installed.
    """
    path = Path(path)
    _check_file(path)
    argv = [_tool("ffprobe"), "-v", "error", "-show_streams", "-show_format", "-of", "json"]
    try:
        # absolute path: a name such as "-film.mp4" must not read as an option
        proc = subprocess.run([*argv, str(path.absolute())], capture_output=True, check=False)
    except OSError as e:
        raise VlocError(f"cannot run ffprobe ({e}): {INSTALL_HINT}") from e
    if proc.returncode != 0:
        raise MediaError(f"not a readable video; ffprobe says: {_tail(proc.stderr)}", path=path)
    try:
        meta = json.loads(proc.stdout)
    except json.JSONDecodeError as e:
        raise MediaError(f"ffprobe printed unreadable metadata ({e})", path=path) from e
    streams = meta.get("streams", [])
    videos = [
        s
        for s in streams
        if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
    ]
    if not videos:
        kinds = sorted({s.get("codec_type", "?") for s in streams}) or ["none"]
        raise MediaError(
            f"no video stream (streams found: {', '.join(kinds)}); expected a video file", path=path
        )
    v = videos[0]
    fmt = meta.get("format", {})
    # the video's end on the file's clock (ffmpeg decodes with t = 0 at the container start);
    # Matroska's DURATION tag, as ffmpeg writes it, is already that end time
    offset = (_seconds(v.get("start_time")) or 0.0) - (_seconds(fmt.get("start_time")) or 0.0)
    length = _seconds(v.get("duration"))
    duration = (max(0.0, offset) + length if length else None) or _seconds(
        (v.get("tags") or {}).get("DURATION")
    )
    source = "stream"
    if not duration:
        duration, source = _seconds(fmt.get("duration")), "container"
    if not duration or not math.isfinite(duration) or duration <= 0:
        raise MediaError("video duration is zero or unknown; the file may be damaged", path=path)
    avg, real = _rate(v.get("avg_frame_rate")), _rate(v.get("r_frame_rate"))
    n_frames = int(v["nb_frames"]) if str(v.get("nb_frames", "")).isdigit() else None
    fps = avg or real or (Fraction(n_frames) / Fraction(duration) if n_frames else None)
    if not fps:
        raise MediaError("video frame rate is unknown; the file may be damaged", path=path)
    vfr = bool(avg and real and abs(float(real) / float(avg) - 1.0) > VFR_TOLERANCE)
    width, height = int(v.get("width") or 0), int(v.get("height") or 0)
    if width <= 0 or height <= 0:
        raise MediaError(f"video size is unknown ({width}x{height})", path=path)
    sar = _rate(v.get("sample_aspect_ratio"))
    if sar and sar != 1:
        width = max(1, round(width * sar))
    rotation = _rotation(v)
    if rotation % 180 == 90:  # also -90 and 270
        width, height = height, width
    return VideoInfo(
        path=path,
        duration_s=float(duration),
        fps=float(fps),
        width=width,
        height=height,
        n_frames=n_frames,
        codec=str(v.get("codec_name", "unknown")),
        has_audio=any(s.get("codec_type") == "audio" for s in streams),
        variable_frame_rate=vfr,
        stream_index=int(v.get("index", 0)),
        rotation=rotation,
        duration_source=source,
    )


def count_frames(info: VideoInfo, *, fps: float) -> int:
    """Frames that decoding the whole of ``info`` at ``fps`` gives: ``round(duration_s * fps)``.

    Exact for intact files (ffmpeg's fps filter emits frame k when the source still shows a
    frame at (k + 0.5) / fps); a truncated file decodes fewer.
    """
    return max(1, math.floor(info.duration_s * fps + 0.5))


def shortfall(info: VideoInfo, *, fps: float, decoded_frames: int) -> Shortfall | None:
    """The :class:`Shortfall` of a decode of the whole of ``info`` at ``fps`` that gave
    ``decoded_frames`` frames, or None when it reached the end within the slack
    (``TRUNCATION_SLACK_S`` or ``TRUNCATION_SLACK_FRAMES``, whichever is more;
    ``CONTAINER_SLACK_S`` when the duration is the container's)."""
    expected = count_frames(info, fps=fps)
    if info.duration_source == "container":
        slack = CONTAINER_SLACK_S * fps
    else:
        slack = max(TRUNCATION_SLACK_S * fps, TRUNCATION_SLACK_FRAMES)
    if expected - decoded_frames <= slack:
        return None
    return Shortfall(info.path, decoded_frames / fps, expected / fps)
