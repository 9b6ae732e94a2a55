"""Assemble fixed-length clips from one decoding pass: per cue span, or at a fixed stride."""

from __future__ import annotations

import collections
import math
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vloc.errors import InputError, MediaError
from vloc.media.decode import CROP_SIZE, _validate, iter_frames
from vloc.media.info import Shortfall, VideoInfo, count_frames, probe, shortfall

if TYPE_CHECKING:
    import numpy as np

CLIP_FRAMES = 16  # frames per clip: one I3D clip; the summarization paper's 16-frame stride
SEEK_MIN_S = (
    10.0  # cue clips seek to the first cue when it starts this late (s), else decode from 0
)
MAX_LISTED = 10  # cue positions named in one aggregated warning before "and N more"


@dataclass(frozen=True)
class Clip:
    """``clip_len`` frames sampled from one span of a video."""

    index: int  # position of the clip in the request (cue position, or 0..N-1 for stride clips)
    start_ms: int  # the span the frames were sampled from, [start_ms, end_ms), after clamping
    end_ms: int
    frames: np.ndarray  # (T, H, W, 3) uint8 RGB [0, 255]; H = W = size when crop=True
    padded: bool = False  # some frames repeat an earlier one because the decode ended first
    # (a partial last stride clip, a cue past the decoded end)


def count_stride_clips(info: VideoInfo, *, fps: float, clip_len: int = CLIP_FRAMES) -> int:
    """Number of clips :func:`iter_stride_clips` yields for an intact file.

    ``n // clip_len`` full clips, plus one padded partial clip when the remaining
    ``n % clip_len`` frames are at least half a clip (``2 * rest >= clip_len``).
    """
    full, rest = divmod(count_frames(info, fps=fps), clip_len)
    return full + (1 if rest and 2 * rest >= clip_len else 0)


def _positions(ids: Sequence[int]) -> str:
    """``"3, 7, 9"`` (1-based) with at most MAX_LISTED shown."""
    shown = ", ".join(str(i + 1) for i in ids[:MAX_LISTED])
    return shown + (f" and {len(ids) - MAX_LISTED} more" if len(ids) > MAX_LISTED else "")


def plan_cue_clips(
    spans_ms: Sequence[tuple[int, int]],
    *,
    duration_s: float,
    fps: float | None = None,
    clip_len: int = CLIP_FRAMES,
) -> tuple[list[tuple[int, int]], list[str]]:
    """Clamp ``[start_ms, end_ms)`` spans to ``[0, duration)``; one output span per input span.

    * a span running past the end (or starting before 0) is cut at the end (at 0);
    * a span starting at or after the end becomes the video's last ``clip_len / fps`` seconds
      (its last frame alone when ``fps`` is None);
    * a zero-length or reversed span becomes ``[start, start + 1)``: the frame shown at start.

    Returns the spans and aggregated warnings (one per kind of problem, naming 1-based cue
    positions), never one warning per cue.
    """
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise InputError(f"video duration must be positive, got {duration_s!r}")
    end_ms = max(1, math.floor(duration_s * 1000))
    tail_ms = max(1, round(clip_len / fps * 1000)) if fps else 1
    plan: list[tuple[int, int]] = []
    past: list[int] = []
    after: list[int] = []
    before: list[int] = []
    empty: list[int] = []
    for i, (start, end) in enumerate(spans_ms):
        start, end = int(start), int(end)
        if start >= end_ms:
            after.append(i)
            plan.append((max(0, end_ms - tail_ms), end_ms))
            continue
        if start < 0:
            before.append(i)
            start = 0
        if end <= start:
            empty.append(i)
            end = start + 1
        if end > end_ms:
            past.append(i)
            end = max(start + 1, end_ms)
        plan.append((start, end))
    warns = []
    dur = f"{duration_s:.2f} s"
    if past:
        warns.append(
            f"{len(past)} cue(s) run past the end of the video ({dur}) and were cut at it: cues {_positions(past)}"
        )
    if after:
        warns.append(
            f"{len(after)} cue(s) start at or after the end of the video ({dur}); "
            f"they get its last frames: cues {_positions(after)}"
        )
    if before:
        warns.append(
            f"{len(before)} cue(s) start before 0 s and were clamped: cues {_positions(before)}"
        )
    if empty:
        warns.append(
            f"{len(empty)} cue(s) have zero or negative length; the frame at their start is "
            f"used: cues {_positions(empty)}"
        )
    return plan, warns


def _sample_indices(span: tuple[int, int], fps: float, clip_len: int, n: int) -> list[int]:
    """Frame indices for ``clip_len`` times ``t_k = start + (k + 0.5) * (end - start) / clip_len``.

    Each time maps to the frame whose interval contains it (``floor(t * fps)``), clamped to
    ``[0, n - 1]``; short spans repeat frames.
    """
    start, end = span
    step = (end - start) / clip_len
    eps = 1e-9  # keeps exact interval boundaries from rounding down through float error
    return [
        min(n - 1, max(0, math.floor((start + (k + 0.5) * step) * fps / 1000 + eps)))
        for k in range(clip_len)
    ]


def _check_end(
    info: VideoInfo,
    fps: float,
    decoded_frames: int,
    allow_truncated: bool,
    shortfalls: list[Shortfall] | None,
) -> Shortfall | None:
    """At the end of a decode: the shortfall beyond the slack (recorded in ``shortfalls``),
    or a :class:`MediaError` saying how much is missing unless ``allow_truncated``."""
    short = shortfall(info, fps=fps, decoded_frames=decoded_frames)
    if short is None:
        return None
    if not allow_truncated:
        raise MediaError(short.error(), path=info.path)
    if shortfalls is not None:
        shortfalls.append(short)
    return short


def iter_cue_clips(
    path: str | Path,
    spans_ms: Sequence[tuple[int, int]],
    *,
    fps: float,
    clip_len: int = CLIP_FRAMES,
    size: int = CROP_SIZE,
    info: VideoInfo | None = None,
    warnings: list[str] | None = None,
    only: Collection[int] | None = None,
    allow_truncated: bool = True,
    shortfalls: list[Shortfall] | None = None,
) -> Iterator[Clip]:
    """One :class:`Clip` per span, from a single decoding pass at ``fps``.

    Spans (``[start_ms, end_ms)``, any order, may overlap) are first clamped with
    :func:`plan_cue_clips`. Clip ``i`` holds frames at ``t_k = start + (k + 0.5) * (end - start)
    / clip_len`` (k = 0..clip_len-1); it is yielded as soon as its last frame is decoded, so clips
    come in order of span end, each with ``index`` = its position in ``spans_ms``. Only frames an
    unfinished clip needs are kept. ``only`` restricts the output to those positions (a resumed
    run): decoding then starts at the first frame they need.

    If the file decodes to fewer frames than its duration promises (a truncated tail) and a clip
    needs the missing frames: within the slack of :func:`vloc.media.info.shortfall` the missing
    frames repeat the last decoded one; beyond it, :class:`MediaError` says how much is missing,
    or with ``allow_truncated`` the clips are padded the same way, a warning naming the missing
    share and the padded cues is added to ``warnings`` and the :class:`Shortfall` to
    ``shortfalls``.
    """
    import numpy as np

    _validate(fps, size)
    if clip_len < 1:
        raise InputError(f"clip length must be at least 1 frame, got {clip_len}")
    info = info or probe(path)
    warns = warnings if warnings is not None else []
    plan, plan_warns = plan_cue_clips(
        spans_ms, duration_s=info.duration_s, fps=fps, clip_len=clip_len
    )
    warns.extend(f"{info.path}: {w}" for w in plan_warns)
    wanted = sorted(set(range(len(plan))) if only is None else set(only) & set(range(len(plan))))
    if not wanted:
        return
    n_expected = count_frames(info, fps=fps)
    indices = [_sample_indices(span, fps, clip_len, n_expected) for span in plan]
    needers: dict[int, list[int]] = collections.defaultdict(list)  # frame index -> clip ids
    for cid in wanted:
        for fi in sorted(set(indices[cid])):
            needers[fi].append(cid)
    missing = {cid: len(set(indices[cid])) for cid in wanted}  # distinct frames still awaited
    held: dict[int, dict[int, np.ndarray]] = {}  # clip id -> frame index -> (H, W, 3) frame

    def make(cid: int, last: np.ndarray | None = None) -> Clip:
        got = held.pop(cid, {})
        frames = np.stack([got.get(fi, last) for fi in indices[cid]])  # (T, H, W, 3)
        start, end = plan[cid]
        return Clip(cid, start, end, frames, padded=last is not None)

    left = len(wanted)
    last_frame = None
    n_decoded = 0
    first = min(min(indices[cid]) for cid in wanted)
    skip = first if first / fps >= SEEK_MIN_S else 0  # frames before the first needed frame
    frames = iter_frames(path, fps=fps, size=size, start_s=skip / fps, info=info, warnings=warns)
    try:
        for fi, frame in enumerate(frames, start=skip):
            n_decoded, last_frame = fi + 1, frame
            done = []
            for cid in needers.pop(fi, ()):
                held.setdefault(cid, {})[fi] = frame
                missing[cid] -= 1
                if missing[cid] == 0:
                    done.append(cid)
            for cid in done:
                left -= 1
                yield make(cid)
            if left == 0:
                return
    finally:
        frames.close()
    if last_frame is None and skip:  # nothing decodes past the seek point: use the last frame
        for fi, frame in enumerate(iter_frames(path, fps=fps, size=size, info=info)):
            n_decoded, last_frame = fi + 1, frame
    if last_frame is None:
        raise MediaError("no frames could be decoded", path=info.path)
    short = sorted((cid for cid in wanted if missing[cid]), key=lambda c: (max(indices[c]), c))
    gap = _check_end(info, fps, n_decoded, allow_truncated, shortfalls)
    if gap is not None:
        warns.append(
            f"{info.path}: {gap.describe()}: the file looks truncated or corrupt; "
            f"{len(short)} clip(s) padded by repeating the last decoded frame: "
            f"cues {_positions(sorted(short))}"
        )
    for cid in short:
        yield make(cid, last_frame)


def iter_stride_clips(
    path: str | Path,
    *,
    fps: float,
    clip_len: int = CLIP_FRAMES,
    size: int = CROP_SIZE,
    info: VideoInfo | None = None,
    warnings: list[str] | None = None,
    start_clip: int = 0,
    allow_truncated: bool = True,
    shortfalls: list[Shortfall] | None = None,
) -> Iterator[Clip]:
    """Non-overlapping clips over the whole video: clip ``j`` = frames ``[j*clip_len, (j+1)*clip_len)``.

    A partial last clip is padded by repeating its last frame when it has at least
    ``clip_len / 2`` frames and dropped otherwise (:func:`count_stride_clips` gives the count).
    Spans are in ms from the frame grid, the last one cut at the decoded end. ``start_clip``
    skips the clips before it by seeking (a resumed run; the frames are those of a decode from
    0). A file that decodes shorter than its duration promises, beyond the slack of
    :func:`vloc.media.info.shortfall`, raises :class:`MediaError` saying how much is missing
    after the last clip, or with ``allow_truncated`` adds a warning naming the missing share
    (and the :class:`Shortfall` to ``shortfalls``).
    """
    import numpy as np

    _validate(fps, size)
    if clip_len < 1:
        raise InputError(f"clip length must be at least 1 frame, got {clip_len}")
    if start_clip < 0:
        raise InputError(f"start clip must be >= 0, got {start_clip}")
    info = info or probe(path)

    def ms(frame: int) -> int:
        return round(frame / fps * 1000)

    buf: list[np.ndarray] = []
    j = start_clip
    n_decoded = skipped = start_clip * clip_len
    decoded = iter_frames(
        path, fps=fps, size=size, start_s=skipped / fps, info=info, warnings=warnings
    )
    try:
        for frame in decoded:
            buf.append(frame)
            n_decoded += 1
            if len(buf) == clip_len:
                yield Clip(j, ms(j * clip_len), ms((j + 1) * clip_len), np.stack(buf))
                buf, j = [], j + 1
    finally:
        decoded.close()
    if buf and 2 * len(buf) >= clip_len:
        frames = np.stack(buf + [buf[-1]] * (clip_len - len(buf)))  # (T, H, W, 3)
        yield Clip(j, ms(j * clip_len), ms(n_decoded), frames, padded=len(buf) < clip_len)
        j += 1
    if n_decoded == 0:
        raise MediaError("no frames could be decoded", path=info.path)
    gap = _check_end(info, fps, n_decoded, allow_truncated, shortfalls)
    if gap is not None and warnings is not None:
        expected = count_stride_clips(info, fps=fps, clip_len=clip_len)
        warnings.append(
            f"{info.path}: {gap.describe()}: the file looks truncated or corrupt; "
            f"{j} clip(s) where its duration promises {expected}"
        )
