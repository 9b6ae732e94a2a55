"""The decode-and-compute stages of one store entry: per-cue clips (one clip per subtitle cue,
in file order) and stride clips (back-to-back clips over the whole film).

:func:`clip_source` sets up what an entry still needs — the chunks an earlier, interrupted run
saved and a decoder for the missing clips; :func:`extract_kind` runs the backbone over them
(decoding in a producer thread, :func:`vloc.features.pipeline.iter_overlapped`) and
:func:`entry_meta` is the content-determined metadata written beside the entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from vloc.features.chunks import Chunks
from vloc.features.options import FeatureOptions, ProgressFn
from vloc.features.pipeline import Overlapped, iter_overlapped, run_backbone
from vloc.features.planning import Plan, Run
from vloc.features.store import DISK_DTYPE
from vloc.workspace import Workspace

QUEUE_BATCHES = 2  # decoded batches buffered ahead of compute (bounds memory)


@dataclass(frozen=True)
class ClipSource:
    """How to decode the clips of one entry that is still to compute, and what it resumes."""

    make_iter: Callable[[], Iterator[Any]]  # a fresh clip iterator (the clips still missing)
    n: int  # clips of the whole entry
    chunks: Chunks  # the entry's resumable chunks
    done: dict[int, Any]  # clip index -> row, loaded from the chunks of an earlier run
    media_warnings: list[str]  # filled by the decoder
    shortfalls: list[Any]  # filled by the decoder: a vloc.media.info.Shortfall when truncated


def clip_source(
    plan: Plan,
    run: Run,
    info: Any,
    *,
    ws: Workspace,
    options: FeatureOptions,
    chunk_clips: int,
) -> ClipSource:
    """The clips one entry still needs: its chunks from an earlier run, and a decoder for
    the rest (cue clips: the missing cues; stride clips: from the first missing one on)."""
    from vloc import media

    media_warnings: list[str] = []
    shortfalls: list[Any] = []
    decode = {
        "fps": run.fps,
        "clip_len": options.clip_len,
        "size": run.size,
        "info": info,
        "warnings": media_warnings,
        "allow_truncated": options.allow_truncated,
        "shortfalls": shortfalls,
    }
    if plan.kind == "cues":
        assert plan.spans is not None, "cue plans always carry spans"
        spans = plan.spans
        n: int = len(spans)
        chunks = Chunks(ws, plan.kind, options.backbone, plan.key, total=n, chunk_clips=chunk_clips)
        done = chunks.load()
        left = [i for i in range(n) if i not in done]

        def make_iter() -> Iterator[Any]:
            return media.iter_cue_clips(run.video, spans, only=left, **decode)
    else:
        n = media.count_stride_clips(info, fps=run.fps, clip_len=options.clip_len)
        chunks = Chunks(
            ws, plan.kind, options.backbone, plan.key, total=None, chunk_clips=chunk_clips
        )
        done = chunks.load()
        start = 0  # stride clips come in order: resume after the leading complete chunks
        while start in done:
            start += 1
        done = {i: row for i, row in done.items() if i < start}

        def make_iter() -> Iterator[Any]:
            return media.iter_stride_clips(run.video, start_clip=start, **decode)

    return ClipSource(make_iter, n, chunks, done, media_warnings, shortfalls)


def extract_kind(
    backbone: Any,
    make_iter: Callable[[], Iterator[Any]],
    kind: str,
    n: int,
    options: FeatureOptions,
    progress: ProgressFn | None,
    started: Overlapped | None = None,
    stats: dict[str, float] | None = None,
    done: dict[int, Any] | None = None,
    chunks: Chunks | None = None,
) -> tuple[Any, Any, Any]:
    count = len(done or {})

    def on_batch(k: int) -> None:
        nonlocal count
        count += k
        if progress is not None:
            progress(kind, count, n)

    if progress is not None:
        progress(kind, count, n)
    if started is not None:
        clips: Any = started
    elif options.overlap:
        clips = iter_overlapped(make_iter, capacity=QUEUE_BATCHES * options.batch_size)
    else:
        clips = make_iter()
    try:
        pooled, regions, spans = run_backbone(
            backbone,
            clips,
            n=n if kind == "cues" else None,
            grid=options.grid if kind == "cues" else None,
            batch_size=options.batch_size,
            device=options.device,
            on_batch=on_batch,
            stats=stats,
            done=done,
            on_row=None if chunks is None else lambda i, row, pad: chunks.add(i, row, padded=pad),
            capacity=n,
            dtype=DISK_DTYPE,  # streamed into the store's float16: half the memory of float32
        )
    finally:
        if hasattr(clips, "close"):
            clips.close()
    return pooled, regions, spans


def entry_meta(
    run: Run,
    info: Any,
    plan: Plan,
    options: FeatureOptions,
    clips: ClipSource,
    clip_spans: Any,
    optimized: Any,
    path: str,
) -> dict[str, Any]:
    """The metadata written beside an entry: only content-determined facts, so a re-run (or a
    run into another folder, or a resumed run) writes byte-identical metadata; timings are in
    the result, not here."""
    from vloc import __version__

    return {
        "source": "extracted",
        "backbone": options.backbone,
        "width": options.width,
        **run.source.to_meta(),
        "fps": run.fps,
        "clip_len": options.clip_len,
        "size": run.size,
        "grid": options.grid if plan.kind == "cues" else None,
        "vloc_version": __version__,
        "video": {
            "name": run.video.name,
            "fingerprint": run.fingerprint,
            "duration_s": info.duration_s,
            "source_fps": info.fps,
        },
        "subtitles": run.sub_meta if plan.kind == "cues" else None,
        "spans_ms": clip_spans.tolist(),
        "requested_spans_ms": [list(s) for s in plan.spans] if plan.spans else None,
        "device": options.device,
        "optimizations": list(optimized),
        "backbone_path": path,
        "options": asdict(options),
        "warnings": clips.media_warnings,
        "truncated": clips.shortfalls[0].to_json() if clips.shortfalls else None,
    }
