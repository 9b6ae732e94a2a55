"""The planning stage of feature extraction: check the options and the video, read the
subtitles, resolve the weights and compute the cache key of every entry a run asks for — all
before anything heavy (no torch, no ffprobe), so a run whose entries are in the store returns
in milliseconds.

Every requested kind gets a :class:`Plan` holding its key on each backbone path (eager, jit,
compile) and the paths whose entries a lookup accepts; :class:`Run` holds what the plans share.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vloc.backbones import get_spec
from vloc.errors import InputError, MediaError
from vloc.features.execution import check_path, keyed_path
from vloc.features.options import FeatureOptions, WarnFn, validate_options
from vloc.features.store import feature_key
from vloc.fileio import file_fingerprint, sha256_file


@dataclass(frozen=True)
class Plan:
    """One requested entry: its kind, its key on every backbone path, the entries it accepts."""

    kind: str  # "cues" | "stride"
    key: str  # the key written under: the first candidate's until the path is decided
    spans: list[tuple[int, int]] | None  # cue spans (start_ms, end_ms); None for stride
    keys: tuple[tuple[str, str], ...] = ()  # (path, key) for eager, jit and compile
    accepted: tuple[str, ...] = ()  # the paths whose entries a lookup accepts, preferred first
    lock_key: str = ""  # the eager key: one lock per entry, whichever path computes it

    def key_for(self, path: str) -> str:
        """The entry's key on backbone path ``path``."""
        return dict(self.keys)[path]

    @property
    def candidates(self) -> list[tuple[str, str]]:
        """(path, key) of the entries a lookup accepts."""
        return [(p, self.key_for(p)) for p in self.accepted]


@dataclass(frozen=True)
class Run:
    """What the planning stage settled, before any decoding: the entries to find or make."""

    video: Path
    plans: list[Plan]  # one per requested kind, in the order of MODES' kinds
    source: Any  # the resolved weights (vloc.backbones.weights.WeightsSource)
    fps: float  # decode rate, frames/s
    size: int  # square crop side, px
    fingerprint: str  # the video's file fingerprint (part of every key)
    sub_meta: dict[str, Any] | None  # the subtitles' name, sha256, cue count, encoding
    path: str  # the requested backbone path, checked: "auto" | "eager" | "jit" | "compile"


def plan_run(video: Path, subs: str | Path | None, options: FeatureOptions, warn: WarnFn) -> Run:
    """Check the options and the video, read the subtitles, resolve the weights and compute
    the cache key of each requested kind (no torch, no ffprobe)."""
    from vloc.backbones.weights import resolve_weights

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
            Plan(kind, keys[accepted[0]], plan_spans, tuple(keys.items()), accepted, keys["eager"])
        )
    return Run(video, plans, source, fps, size, fingerprint, sub_meta, path)


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


def check_truncation_record(meta: dict[str, Any], video: Path, options: FeatureOptions) -> None:
    """A cached entry made from a truncated video is only used with ``allow_truncated``."""
    record = meta.get("truncated")
    if record and not options.allow_truncated:
        from vloc.media.info import Shortfall

        short = Shortfall(video, float(record["decoded_s"]), float(record["expected_s"]))
        raise MediaError(short.error() + " (features cached by such a run)", path=video)
