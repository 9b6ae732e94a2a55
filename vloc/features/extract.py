"""Extract clip features from a video into the feature store.

Pipeline: a producer thread runs the :mod:`vloc.media` clip iterator (ffmpeg decode →
uint8 clips) and fills a bounded queue; the calling thread takes clips off it in batches,
normalises them (uint8 → float, mean/std, ``(B, 3, T, H, W)``) and runs the backbone trunk
under ``torch.inference_mode()``. Decoding therefore overlaps with compute, and memory is
bounded by the queue, not by the film's length.

The cache key is computed before anything heavy (no torch, no ffprobe): a second identical
run reads the store's metadata and returns in milliseconds with ``cache_hit=True``.

A run that has to compute an entry holds the workspace lock of that entry
(:meth:`vloc.workspace.Workspace.lock`) and looks it up again once it holds it, so two runs on
one workspace never both compute it. While it computes, every ``CHUNK_CLIPS`` finished clips are
saved (:mod:`vloc.features.chunks`); a killed run started again loads them and decodes (seeking)
and computes only the rest, and writes the same bytes as an uninterrupted run.

A video that decodes clearly shorter than its duration promises (:func:`vloc.media.info.shortfall`)
fails with how much is missing unless ``allow_truncated``; the entry then records the shortfall
(``truncated`` in its metadata), and a later run without ``allow_truncated`` that finds it in the
cache fails the same way.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from vloc.errors import InputError, VlocError
from vloc.features.chunks import CHUNK_CLIPS
from vloc.features.execution import Decision
from vloc.features.options import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_CLIP_LEN,
    DEVICES,
    MODES,
    FeatureOptions,
    FeatureResult,
    ProgressFn,
    WarnFn,
    check_device,
    validate_options,
)
from vloc.features.pipeline import iter_overlapped
from vloc.features.planning import Plan, Run, check_truncation_record, plan_run
from vloc.features.runner import apply_backbone_path, first_decision, prepare_backbone
from vloc.features.stages import QUEUE_BATCHES, ClipSource, clip_source, entry_meta, extract_kind
from vloc.features.store import FEATURES_DIR, KEY_CHARS, entry_paths, lookup, write_entry
from vloc.heap import release_freed_memory
from vloc.timing import Stopwatch
from vloc.workspace import Workspace

__all__ = [  # the options and the result live in vloc.features.options; re-exported here
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CLIP_LEN",
    "DEVICES",
    "MODES",
    "FeatureOptions",
    "FeatureResult",
    "ProgressFn",
    "WarnFn",
    "extract_features",
    "validate_options",
]


@dataclass
class _Entries:
    """The store entries found or written so far, per kind."""

    outputs: dict[str, Path] = field(default_factory=dict)  # kind -> .safetensors file
    metas: dict[str, dict[str, Any]] = field(default_factory=dict)  # kind -> its metadata
    hits: dict[str, bool] = field(default_factory=dict)  # kind -> found in the store
    resumed: dict[str, int] = field(default_factory=dict)  # kind -> clips taken from chunks
    decision: Decision | None = None  # how the backbone ran (None: nothing computed)


def extract_features(
    video: str | Path,
    *,
    subs: str | Path | None = None,
    options: FeatureOptions | None = None,
    workdir: str | Path | None = None,
    progress: ProgressFn | None = None,
    warn: WarnFn | None = None,
    chunk_clips: int = CHUNK_CLIPS,
) -> FeatureResult:
    """Extract (or find cached) clip features of ``video`` into its workspace.

    Stages (each timed in the result's ``timings``): ``key`` — check the options, read the
    subtitles, resolve the weights and compute each entry's cache key; find the entries already
    in the store; probe the video; ``wait`` — take the entries' locks (and look again);
    ``build`` — the backbone; ``extract_<kind>`` — decode and compute, resuming from chunks;
    write each entry.

    Args:
        video: the video file.
        subs: an SRT/VTT file: enables per-cue features (one clip per cue, in file order).
        options: see :class:`FeatureOptions`.
        workdir: parent folder of the workspace (default: beside the video).
        progress: called as ``progress(kind, done, total)`` after every batch (and first with
            the clips already done: 0, or those a resumed run found in chunks).
        warn: called with each warning (also collected in the result), and once with a
            ``waiting for another vloc run ...`` line when another run holds the entry's lock.
        chunk_clips: clips per resumable chunk (:mod:`vloc.features.chunks`).

    Returns:
        :class:`FeatureResult`; per kind a store entry with ``pooled`` (N, D) and, for cues,
        ``regions`` (N, grid², D), float16 on disk.

    Raises:
        MediaError, SubtitleError, WeightsError, InputError: bad inputs, each naming the file
            (MediaError also for a truncated video without ``allow_truncated``).
    """
    options = options or FeatureOptions()
    clock = Stopwatch()
    warnings: list[str] = []

    def _warn(msg: str) -> None:
        warnings.append(msg)
        if warn is not None:
            warn(msg)

    with clock("key"):
        run = plan_run(Path(video), subs, options, _warn)
    video = run.video
    ws = Workspace.for_video(video, workdir)
    found = _Entries()

    def find(plan: Plan) -> bool:
        for _path, key in plan.candidates:  # auto accepts an entry of any path (all within
            meta = lookup(ws, plan.kind, options.backbone, key)  # tolerance of eager)
            if meta is None:
                continue
            check_truncation_record(meta, video, options)
            found.outputs[plan.kind] = entry_paths(ws, plan.kind, options.backbone, key)[0]
            found.metas[plan.kind] = meta
            found.hits[plan.kind] = True
            return True
        return False

    todo = [p for p in run.plans if not find(p)]
    info = None
    if todo:  # bad media fail here, before anything is written into the workspace
        from vloc import media

        info = media.probe(video)
        check_device(options.device)
    with contextlib.ExitStack() as locks:
        if todo:
            with clock("wait"):  # for another run's locks
                for plan in todo:  # always in plan order: two runs never wait for each other
                    name = f"features-{plan.kind}-{options.backbone}-{plan.lock_key[:KEY_CHARS]}"
                    locks.enter_context(ws.lock(name, notify=warn))
            todo = [p for p in todo if not find(p)]  # written by the run this one waited for
        if todo:
            assert info is not None, "probed above"
            _compute(
                run,
                info,
                todo,
                ws=ws,
                options=options,
                chunk_clips=chunk_clips,
                progress=progress,
                warn=_warn,
                clock=clock,
                found=found,
            )
            release_freed_memory()  # the backbone and the clips' activations are gone
    ordered = [p.kind for p in run.plans]
    return FeatureResult(
        outputs={k: found.outputs[k] for k in ordered},
        metas={k: found.metas[k] for k in ordered},
        cache_hit=not todo,
        hits={k: found.hits[k] for k in ordered},
        timings=clock.stop(),
        warnings=warnings,
        workspace=ws.root,
        resumed=found.resumed,
        backbone_path=None if found.decision is None else found.decision.to_json(),
    )


def _compute(
    run: Run,
    info: Any,
    todo: list[Plan],
    *,
    ws: Workspace,
    options: FeatureOptions,
    chunk_clips: int,
    progress: ProgressFn | None,
    warn: WarnFn,
    clock: Stopwatch,
    found: _Entries,
) -> None:
    """Extract the ``todo`` entries (the caller holds their locks) and write them to the store."""
    import torch

    from vloc.features import execution
    from vloc.features.execution_store import PathStore

    _ensure_writable(ws.root / FEATURES_DIR)  # fail before minutes of compute, not after
    if options.threads is not None:  # before the path's record key, which names the threads
        torch.set_num_threads(max(1, options.threads))
    shape = (options.batch_size, 3, options.clip_len, run.size, run.size)  # (B, 3, T, H, W)
    store = PathStore()
    record = execution.record_key(
        backbone=options.backbone,
        width=options.width,
        weights_id=run.source.identity,
        shape=shape,
        device=options.device,
    )
    first_try = first_decision(run, info, todo, ws, options, store, record, chunk_clips)
    path = None if first_try.path == "measure" else first_try.path

    def make_sources(path: str) -> dict[str, ClipSource]:
        return {
            plan.kind: clip_source(
                replace(plan, key=plan.key_for(path)),
                run,
                info,
                ws=ws,
                options=options,
                chunk_clips=chunk_clips,
            )
            for plan in todo
        }

    sources = make_sources(path) if path is not None else {}
    first = todo[0].kind
    started = None
    with clock("build"):
        if options.overlap and path is not None:  # decode the first clips during the build
            capacity = QUEUE_BATCHES * options.batch_size
            started = iter_overlapped(sources[first].make_iter, capacity=capacity)
        try:
            backbone = prepare_backbone(run.source, options)
            decision = apply_backbone_path(backbone, first_try, options, store, record, shape, warn)
        except BaseException:
            if started is not None:
                started.close()
            raise
    if path is None or any(p.key_for(decision.path) != p.key_for(path) for p in todo):
        # measured, or the trace failed: another key, other chunks to resume
        if started is not None:
            started.close()
            started = None
        sources = make_sources(decision.path)
    found.decision = decision
    todo = [replace(plan, key=plan.key_for(decision.path)) for plan in todo]
    for plan in todo:
        clips = sources[plan.kind]
        stats: dict[str, float] = {}
        with clock(f"extract_{plan.kind}"):
            pooled, regions, clip_spans = extract_kind(
                backbone,
                clips.make_iter,
                plan.kind,
                clips.n,
                options,
                progress,
                started=started if plan.kind == first else None,
                stats=stats,
                done=clips.done,
                chunks=clips.chunks,
            )
            if len(pooled) == 0:
                raise InputError("no clips could be decoded from the video", path=run.video)
            for w in clips.media_warnings:
                warn(w)
        meta = entry_meta(
            run, info, plan, options, clips, clip_spans, backbone.optimized, decision.path
        )
        tensors_path, _ = write_entry(
            ws,
            kind=plan.kind,
            backbone=options.backbone,
            key=plan.key,
            pooled=pooled,
            regions=regions,
            spans_ms=clip_spans,
            meta=meta,
        )
        clips.chunks.discard()
        found.outputs[plan.kind] = tensors_path
        found.metas[plan.kind] = lookup(ws, plan.kind, options.backbone, plan.key) or meta
        found.hits[plan.kind] = False
        found.resumed[plan.kind] = len(clips.done)
        clock.add(f"compute_{plan.kind}", stats.get("compute_s", 0.0))


def _ensure_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise VlocError(f"cannot create the feature store: {e.strerror or e}", path=folder) from e
