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
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from vloc.backbones import DEFAULT_BACKBONE, DEFAULT_GRID, get_spec
from vloc.errors import InputError, MediaError, VlocError
from vloc.features.chunks import CHUNK_CLIPS, Chunks
from vloc.features.paths import DEFAULT_PATH, Decision, check_path, keyed_path
from vloc.features.pipeline import Overlapped, iter_overlapped, run_backbone
from vloc.features.store import (
    FEATURES_DIR,
    KEY_CHARS,
    entry_paths,
    feature_key,
    lookup,
    write_entry,
)
from vloc.fileio import file_fingerprint, sha256_file
from vloc.timing import Stopwatch
from vloc.workspace import Workspace

MODES = ("cues", "stride", "both")
DEVICES = ("cpu", "cuda")
DEFAULT_CLIP_LEN = 16  # frames per clip (vloc.media.CLIP_FRAMES): one I3D clip
DEFAULT_BATCH_SIZE = 1  # clips per forward pass; batch 1 was fastest per clip on a 2-core CPU
QUEUE_BATCHES = 2  # decoded batches buffered ahead of compute (bounds memory)

ProgressFn = Callable[[str, int, int], None]  # (kind, clips done, clips total)
WarnFn = Callable[[str], None]


@dataclass(frozen=True)
class FeatureOptions:
    """How to extract features (every field that changes values is part of the cache key)."""

    backbone: str = DEFAULT_BACKBONE  # registry name (vloc.backbones.REGISTRY)
    weights: str | None = (
        None  # None: the backbone's published checkpoint; a path; a name; "random"
    )
    seed: int | None = None  # with weights="random": the initialisation seed (required)
    weights_dir: str | None = (
        None  # cache folder for published checkpoints (default vloc_home()/weights)
    )
    mode: str | None = (
        None  # "cues" | "stride" | "both"; None: "cues" with subtitles, else "stride"
    )
    fps: float | None = None  # decode rate in frames/s; None: the backbone's native rate
    clip_len: int = DEFAULT_CLIP_LEN  # frames per clip
    size: int | None = None  # square crop side in px; None: the backbone's native size
    grid: int = DEFAULT_GRID  # regions per cue clip = grid × grid
    batch_size: int = DEFAULT_BATCH_SIZE  # clips per forward pass
    device: str = "cpu"  # "cpu" or "cuda"
    fast: bool = (
        True  # fold BatchNorm into convs (numerically equivalent); False: eager model as built
    )
    overlap: bool = True  # decode in a producer thread while computing; False: strictly sequential
    compile: bool = False  # torch.compile the backbone (the same as backbone_path="compile")
    backbone_path: str = DEFAULT_PATH  # "auto" | "eager" | "jit" | "compile": how the backbone
    # runs (vloc.features.paths); auto: eager or a saved TorchScript trace, whichever finishes
    # first on this machine. jit is part of the cache key (other fp16 bytes); compile is not
    width: float = 1.0  # architecture width multiplier (1.0 = the real model; tests use less)
    encoding: str | None = None  # subtitle encoding override
    threads: int | None = None  # torch intra-op threads; None: torch's default
    allow_truncated: bool = False  # go on with what decodes from a video that decodes clearly
    # shorter than its duration (warned, the shortfall recorded); False: such a video fails.
    # Not in the cache key: it never changes the values, only whether they may be produced.


@dataclass
class FeatureResult:
    """What :func:`extract_features` produced or found."""

    outputs: dict[str, Path]  # kind -> .safetensors file
    metas: dict[str, dict[str, Any]]  # kind -> metadata written beside it
    cache_hit: bool  # every requested kind was already in the store
    hits: dict[str, bool]  # kind -> found in the store
    timings: dict[str, float]  # seconds: "key", "wait" (for another run's locks), "build",
    # "extract_<kind>", "compute_<kind>", "total"
    warnings: list[str] = field(default_factory=list)
    workspace: Path | None = None
    resumed: dict[str, int] = field(default_factory=dict)  # kind -> clips taken from the
    # chunks of an earlier, interrupted run (not computed again)
    backbone_path: dict[str, Any] | None = None  # how the backbone ran and why
    # (vloc.features.paths.Decision.to_json()); None when every entry was in the store

    def shapes(self) -> dict[str, dict[str, list[int]]]:
        return {kind: meta.get("shapes", {}) for kind, meta in self.metas.items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "outputs": {k: str(v) for k, v in self.outputs.items()},
            "shapes": self.shapes(),
            "cache_hit": self.cache_hit,
            "hits": self.hits,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "warnings": self.warnings,
            "workspace": str(self.workspace) if self.workspace else None,
            "resumed": self.resumed,
            "backbone_path": self.backbone_path,
        }


def validate_options(options: FeatureOptions, *, has_subs: bool) -> list[str]:
    """Check option values (InputError naming the valid range); return the kinds to extract."""
    get_spec(options.backbone)
    mode = options.mode or ("cues" if has_subs else "stride")
    if mode not in MODES:
        raise InputError(f"unknown mode {mode!r}; valid modes: {', '.join(MODES)}")
    if mode in ("cues", "both") and not has_subs:
        raise InputError(f"--mode {mode} needs subtitles (--subs FILE)")
    if options.grid < 1:
        raise InputError(f"--grid must be at least 1 (regions = grid × grid), got {options.grid}")
    if options.clip_len < 1:
        raise InputError(f"--clip-len must be at least 1 frame, got {options.clip_len}")
    if options.batch_size < 1:
        raise InputError(f"--batch-size must be at least 1, got {options.batch_size}")
    if options.fps is not None and not options.fps > 0:
        raise InputError(f"--fps must be > 0, got {options.fps}")
    if options.size is not None and options.size < 8:
        raise InputError(f"--size must be at least 8 px, got {options.size}")
    if options.device not in DEVICES:
        raise InputError(f"unknown device {options.device!r}; valid devices: {', '.join(DEVICES)}")
    check_path(
        options.backbone_path, fast=options.fast, device=options.device, compile=options.compile
    )
    return ["cues", "stride"] if mode == "both" else [mode]


def _check_device(device: str) -> None:
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise InputError(
            f"--device cuda: CUDA is not available (torch {torch.__version__}"
            f"{' built without CUDA' if torch.version.cuda is None else ', no GPU visible'}); "
            "use --device cpu"
        )


@dataclass(frozen=True)
class _Plan:
    kind: str
    key: str  # the key written under: the first candidate's until the path is decided
    spans: list[tuple[int, int]] | None
    keys: tuple[tuple[str, str], ...] = ()  # (path, key) for eager, jit and compile
    accepted: tuple[str, ...] = ()  # the paths whose entries a lookup accepts, preferred first
    lock_key: str = ""  # the eager key: one lock per entry, whichever path computes it

    def key_for(self, path: str) -> str:
        return dict(self.keys)[path]

    @property
    def candidates(self) -> list[tuple[str, str]]:
        """(path, key) of the entries a lookup accepts."""
        return [(p, self.key_for(p)) for p in self.accepted]


@dataclass(frozen=True)
class _Run:
    """What the planning stage settled, before any decoding: the entries to find or make."""

    video: Path
    plans: list[_Plan]  # one per requested kind, in the order of MODES' kinds
    source: Any  # the resolved weights (vloc.weights.WeightsSource)
    fps: float  # decode rate, frames/s
    size: int  # square crop side, px
    fingerprint: str  # the video's file fingerprint (part of every key)
    sub_meta: dict[str, Any] | None  # the subtitles' name, sha256, cue count, encoding
    path: str  # the requested backbone path, checked: "auto" | "eager" | "jit" | "compile"


@dataclass
class _Entries:
    """The store entries found or written so far, per kind."""

    outputs: dict[str, Path] = field(default_factory=dict)  # kind -> .safetensors file
    metas: dict[str, dict[str, Any]] = field(default_factory=dict)  # kind -> its metadata
    hits: dict[str, bool] = field(default_factory=dict)  # kind -> found in the store
    resumed: dict[str, int] = field(default_factory=dict)  # kind -> clips taken from chunks
    decision: Decision | None = None  # how the backbone ran (None: nothing computed)


@dataclass(frozen=True)
class _ClipSource:
    """How to decode the clips of one entry that is still to compute, and what it resumes."""

    make_iter: Callable[[], Iterator[Any]]  # a fresh clip iterator (the clips still missing)
    n: int  # clips of the whole entry
    chunks: Chunks  # the entry's resumable chunks
    done: dict[int, Any]  # clip index -> row, loaded from the chunks of an earlier run
    media_warnings: list[str]  # filled by the decoder
    shortfalls: list[Any]  # filled by the decoder: a vloc.media.info.Shortfall when truncated


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
        run = _plan_run(Path(video), subs, options, _warn)
    video = run.video
    ws = Workspace.for_video(video, workdir)
    found = _Entries()

    def find(plan: _Plan) -> bool:
        for _path, key in plan.candidates:  # auto accepts an entry of any path (all within
            meta = lookup(ws, plan.kind, options.backbone, key)  # tolerance of eager)
            if meta is None:
                continue
            _check_truncation_record(meta, video, options)
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
        _check_device(options.device)
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


def _plan_run(video: Path, subs: str | Path | None, options: FeatureOptions, warn: WarnFn) -> _Run:
    """Check the options and the video, read the subtitles, resolve the weights and compute
    the cache key of each requested kind (no torch, no ffprobe)."""
    from vloc.weights import resolve_weights

    kinds = validate_options(options, has_subs=subs is not None)
    spec = get_spec(options.backbone)
    if not video.exists():
        raise InputError("video not found", path=video)
    if not video.is_file():
        raise InputError("not a video file (a folder?)", path=video)
    fingerprint = file_fingerprint(video)
    spans, sub_meta = _read_cues(subs, options.encoding, warn) if subs is not None else (None, None)
    source = resolve_weights(
        options.backbone,
        options.weights,
        seed=options.seed,
        weights_dir_override=options.weights_dir,
    )
    if source.is_random:
        warn(
            f"using RANDOM weights for {options.backbone} (seed {source.seed}): features are "
            "not meaningful; use this for testing only"
        )
    fps = float(options.fps if options.fps is not None else spec.fps)
    size = int(options.size if options.size is not None else spec.size)
    path = check_path(
        options.backbone_path, fast=options.fast, device=options.device, compile=options.compile
    )
    plans = []
    for kind in kinds:
        keys = {
            p: feature_key(
                kind=kind,
                video_id=fingerprint,
                spans_ms=spans if kind == "cues" else None,
                backbone=options.backbone,
                width=options.width,
                weights_id=source.identity,
                fps=fps,
                clip_len=options.clip_len,
                size=size,
                grid=options.grid if kind == "cues" else None,
                path=keyed_path(p, fast=options.fast),
            )
            for p in ("eager", "jit", "compile")
        }
        accepted = _accepted_paths(path, options)
        plan_spans = spans if kind == "cues" else None
        plans.append(
            _Plan(kind, keys[accepted[0]], plan_spans, tuple(keys.items()), accepted, keys["eager"])
        )
    return _Run(video, plans, source, fps, size, fingerprint, sub_meta, path)


def _accepted_paths(path: str, options: FeatureOptions) -> tuple[str, ...]:
    """The paths whose entries a lookup accepts, the one this run would take first: auto
    accepts every path (eager and a trace agree within float rounding), except that the
    unfolded model (``fast=False``) asks for exactly its own numerics."""
    if path != "auto":
        return (path,)
    if not options.fast:
        return ("eager",)
    return ("eager", "jit")  # compile's entries are eager's (the same key)


def _read_cues(
    subs: str | Path, encoding: str | None, warn: WarnFn
) -> tuple[list[tuple[int, int]], dict[str, Any]]:
    """The cues' ``(start_ms, end_ms)`` spans and the subtitles' metadata for the entry."""
    from vloc.subtitles import read_subtitles

    doc = read_subtitles(subs, encoding=encoding)
    if not doc.cues:
        raise InputError("the subtitle file has no cues", path=subs)
    spans = [(c.start_ms, c.end_ms) for c in doc.cues]
    sub_meta = {
        "name": Path(subs).name,
        "sha256": sha256_file(subs),
        "n_cues": len(spans),
        "encoding": doc.encoding,
    }
    for w in doc.warnings:
        warn(w)
    return spans, sub_meta


def _check_truncation_record(meta: dict[str, Any], video: Path, options: FeatureOptions) -> None:
    """A cached entry made from a truncated video is only used with ``allow_truncated``."""
    record = meta.get("truncated")
    if record and not options.allow_truncated:
        from vloc.media.info import Shortfall

        short = Shortfall(video, float(record["decoded_s"]), float(record["expected_s"]))
        raise MediaError(short.error() + " (features cached by such a run)", path=video)


def _compute(
    run: _Run,
    info: Any,
    todo: list[_Plan],
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

    from vloc.features import paths

    _ensure_writable(ws.root / FEATURES_DIR)  # fail before minutes of compute, not after
    if options.threads is not None:  # before the path's record key, which names the threads
        torch.set_num_threads(max(1, options.threads))
    shape = (options.batch_size, 3, options.clip_len, run.size, run.size)  # (B, 3, T, H, W)
    store = paths.PathStore()
    record = paths.record_key(
        backbone=options.backbone,
        width=options.width,
        weights_id=run.source.identity,
        shape=shape,
        device=options.device,
    )
    first_try = _first_decision(run, info, todo, ws, options, store, record, chunk_clips)
    path = None if first_try.path == "measure" else first_try.path

    def make_sources(path: str) -> dict[str, _ClipSource]:
        return {
            plan.kind: _clip_source(
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
            backbone = _prepare_backbone(run.source, options)
            decision = _apply_path(backbone, first_try, options, store, record, shape, warn)
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
            pooled, regions, clip_spans = _extract_kind(
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
        meta = _entry_meta(
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


def _clip_source(
    plan: _Plan,
    run: _Run,
    info: Any,
    *,
    ws: Workspace,
    options: FeatureOptions,
    chunk_clips: int,
) -> _ClipSource:
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

    return _ClipSource(make_iter, n, chunks, done, media_warnings, shortfalls)


def _entry_meta(
    run: _Run,
    info: Any,
    plan: _Plan,
    options: FeatureOptions,
    clips: _ClipSource,
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


def _ensure_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise VlocError(f"cannot create the feature store: {e.strerror or e}", path=folder) from e


def _prepare_backbone(source: Any, options: FeatureOptions, **_unused: Any) -> Any:
    """Build the model with its weights, apply the eager inference rewrites (``fast``) and move
    it to the device; its path (trace, compile) is applied by :func:`_apply_path`."""
    import torch

    from vloc.weights import instantiate

    if options.threads is not None:
        torch.set_num_threads(max(1, options.threads))
    backbone = instantiate(source, width=options.width)
    if options.fast:
        # measured on a 2-core CPU (benchmarks/bench_features.py): folding BatchNorm and
        # channels-last 3D together take i3d_r50 from ~51% to ~73% of matmul throughput
        backbone.optimize(fuse_bn=True, channels_last=options.device == "cpu")
    return backbone.to(options.device)


def _first_decision(
    run: _Run,
    info: Any,
    todo: list[_Plan],
    ws: Workspace,
    options: FeatureOptions,
    store: Any,
    record: str,
    chunk_clips: int,
) -> Decision:
    """The path as far as it can be settled before the model is built (no measurement):
    an explicit path; auto resuming the chunks some path left; auto by break-even when this
    machine was measured; ``"measure"`` when a long run has no measurement yet."""
    from vloc import media
    from vloc.features import paths

    clips = 0
    for plan in todo:
        if plan.kind == "cues":
            clips += len(plan.spans or ())
        else:
            clips += media.count_stride_clips(info, fps=run.fps, clip_len=options.clip_len)
    n = paths.batches(clips, options.batch_size)
    if run.path == "auto":
        if not options.fast or options.device != "cpu":
            return Decision("eager", "the trace needs the CPU and BatchNorm folding", "auto", n)
        for path, _key in todo[0].candidates:  # a killed run's chunks: finish on its path
            if any(_has_chunks(ws, plan, path, options, chunk_clips) for plan in todo):
                return Decision(path, f"resuming the chunks of a {path} run", "auto", n)
    saved = store.saved_trace(options.backbone, record) is not None
    return paths.decide(run.path, n, store.measurement(record), saved=saved)


def _has_chunks(ws: Workspace, plan: _Plan, path: str, options: FeatureOptions, n: int) -> bool:
    chunks = Chunks(ws, plan.kind, options.backbone, plan.key_for(path), total=None, chunk_clips=n)
    return chunks.folder.is_dir() and any(chunks.folder.glob("*.safetensors"))


def _apply_path(
    backbone: Any,
    first_try: Decision,
    options: FeatureOptions,
    store: Any,
    record: str,
    shape: tuple[int, ...],
    warn: WarnFn,
) -> Decision:
    """Put the built backbone on its path (measuring first when needed); a trace or compiler
    failure costs a warning and the eager model, not the run."""
    from vloc.features import paths

    if first_try.path == "compile":
        if _compile_backbone(backbone, options, shape[-1], warn):
            return first_try
        return replace(first_try, path="eager", reason="torch.compile failed")
    try:
        return paths.apply_path(
            backbone, first_try, store=store, key=record, shape=shape, warn=warn
        )
    except Exception as exc:  # tracing support varies with the model and the torch build
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        warn(f"tracing the backbone failed ({type(exc).__name__}: {first}); running eager")
        backbone.traced = None
        backbone.optimized = tuple(o for o in backbone.optimized if o != "jit")
        return replace(first_try, path="eager", reason="tracing failed")


def _compile_backbone(backbone: Any, options: FeatureOptions, size: int, warn: WarnFn) -> bool:
    """``torch.compile`` the trunk and compile it now, on a zero batch of the run's clip shape,
    so a compiler failure costs a warning and the eager model, not the run. Measured on a
    2-core CPU: i3d_r50 at 96% of matmul throughput vs 73% eager (+fold, channels-last),
    after about 9 s of compiling — worth it from a few dozen clips on. Returns whether it
    compiled."""
    import torch

    backbone.optimize(fuse_bn=False, compile=True)
    shape = (options.batch_size, 3, options.clip_len, size, size)  # (B, 3, T, H, W)
    try:
        with torch.inference_mode():
            backbone.trunk(torch.zeros(shape, device=options.device))
    except Exception as exc:  # the compiler's errors vary by build (no C compiler, no Triton)
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        warn(f"torch.compile failed ({type(exc).__name__}: {first}); running uncompiled")
        backbone.uncompile()
        return False
    return True


def _extract_kind(
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
        )
    finally:
        if hasattr(clips, "close"):
            clips.close()
    return pooled, regions, spans
