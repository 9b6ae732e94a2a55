"""Summarize a video's subtitles in another language with a trained VDF summarizer.

``summarize(video, subs, SummarizeOptions(to="en"))`` reads the transcript from the subtitle file (cue texts
joined, tags stripped, no spaces between Chinese cues), takes the video's fixed-stride clip
features (extracted with the model's recorded extractor — or the 3D-ResNeXt-101 backbone by
default — cached in the video's workspace, or given as a ``.npy`` array), runs beam search (the paper's beam 6, length penalty 1) and writes
``<video stem>.<lang>.summary.md`` atomically.

A model is a folder written by ``vloc train summarize`` (its ``best/`` or the training output
itself), or a name looked up as ``models/<name>/`` under ``$VLOC_HOME`` and in the repository;
without one, the only installed model into the requested language is used (a model marked
``"demo": true`` in its ``summarizer.json`` only when no other one writes that language).
The model is chosen from its ``summarizer.json`` alone, before torch is imported, and the
transcript is measured against its source tokenizer first (:mod:`vloc.coverage`): a demo picked
by default is refused on a transcript it does not know, any other model warns, and
``SummarizeOptions.strict`` turns the warning into an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.catalogue import feature_settings, model_name
from vloc.errors import InputError
from vloc.guard import guarded
from vloc.summarizer.config import CLIP_FRAMES, PAPER_BEAM
from vloc.summarizer.data import (
    INFO_FILE,
    load_video_features,
    read_model_info,
)
from vloc.summarizer.decode import GENERATE_BATCH, BatchSummary, summarize_batch
from vloc.summarizer.loading import (
    LoadedSummarizer,
    check_info,
    default_model,
    describe_installed,
    find_model,
    installed_models,
    load_model_folder,
)
from vloc.text import join_texts, transcript_text

if TYPE_CHECKING:
    import numpy as np

    from vloc.coverage import Coverage
    from vloc.features import FeatureOptions

__all__ = [  # this module's entry points, and those of the modules it is built from
    "DEFAULT_BACKBONE",
    "DEFAULT_MAX_SUMMARY_TOKENS",
    "GENERATE_BATCH",
    "SUMMARY_SUFFIX",
    "BatchSummary",
    "LoadedSummarizer",
    "SummarizeOptions",
    "SummaryResult",
    "default_model",
    "default_output",
    "describe_installed",
    "feature_options",
    "find_model",
    "installed_models",
    "load_model_folder",
    "render_markdown",
    "summarize",
    "summarize_batch",
    "transcript_from_subtitles",
]

SUMMARY_SUFFIX = ".summary.md"
DEFAULT_BACKBONE = "resnext101_3d"  # the paper's video features (3D-ResNeXt-101, 16 frames)
DEFAULT_MAX_SUMMARY_TOKENS = 100  # How2 summaries are 2-3 sentences (~33 words on average)

WarnFn = Callable[[str], None]
ProgressFn = Callable[[str, int, int], None]


@dataclass(frozen=True)
class SummarizeOptions:
    """What ``vloc summarize`` was asked to do (names as in
    :class:`~vloc.pipeline.options.TranslateOptions`); evaluation reads only the decoding
    fields."""

    to: str | None = None  # summary language; must be the model's (required by summarize())
    model: str | Path | None = None  # model folder, training output or name (registry);
    # None: the one installed summarizer into ``to``
    output: str | Path | None = None  # the markdown; None: <video stem>.<to>.summary.md
    features: str | Path | None = None  # the video's (T, D) clip features as .npy instead of
    # extracting them
    workdir: str | Path | None = None  # parent folder of the video's workspace (feature cache)
    beam_size: int = PAPER_BEAM  # beam size (1: greedy)
    length_penalty: float = 1.0  # score / length ** penalty (paper: 1)
    max_len: int = DEFAULT_MAX_SUMMARY_TOKENS  # most summary tokens generated
    min_len: int = 0  # fewest summary tokens before EOS is allowed
    no_repeat_ngram: int = 0  # forbid repeating n-grams of this size (0: off)
    device: str = "cpu"  # "cpu" or "cuda" (model and feature extraction)
    backbone: str | None = None  # feature extractor without --features; None: the model's
    weights: str | None = None  # its weights: None (the model's or published), a path, a name
    weights_dir: str | None = None  # cache folder of published checkpoints
    encoding: str | None = None  # subtitle encoding override
    strict: bool = False  # a failed coverage check is an error instead of a warning
    allow_truncated: bool = False  # features of a truncated video: go on with what decodes

    def check(self) -> None:
        if self.beam_size < 1:
            raise InputError(f"--beam must be >= 1, got {self.beam_size}")
        if self.max_len < 1:
            raise InputError(f"--max-len must be >= 1, got {self.max_len}")
        if not 0 <= self.min_len <= self.max_len:
            raise InputError(f"--min-len must lie in [0, --max-len], got {self.min_len}")
        if self.device not in ("cpu", "cuda"):
            raise InputError(f"unknown device {self.device!r}; valid: cpu, cuda")


def transcript_from_subtitles(path: str | Path, *, encoding: str | None = None) -> dict[str, Any]:
    """The subtitle file's cue texts joined into one transcript (tags stripped) →
    ``{"text", "cues", "encoding", "warnings"}``."""
    from vloc.subtitles import read_subtitles

    doc = read_subtitles(path, encoding=encoding)
    texts = [t for t in (transcript_text(c.text) for c in doc.cues) if t]
    if not texts:
        raise InputError("the subtitle file holds no text to summarize", path=path)
    return {
        "text": join_texts(texts),
        "cues": len(doc.cues),
        "encoding": doc.encoding,
        "warnings": list(doc.warnings),
    }


@dataclass
class SummaryResult:
    """What :func:`summarize` produced."""

    summary: str  # the generated summary
    lang: str  # its language
    output: Path  # the .summary.md written
    source: dict[str, Any]  # video, subtitles, transcript and feature facts
    model: dict[str, Any]  # the model used
    decoding: dict[str, Any]  # beam, length penalty, ...
    warnings: list[str]
    coverage: dict[str, Any] | None = None  # vloc.coverage.Coverage.to_json() of the transcript

    def to_json(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "lang": self.lang,
            "output": str(self.output),
            "source": self.source,
            "model": self.model,
            "decoding": self.decoding,
            "warnings": self.warnings,
            "coverage": self.coverage,
        }


def default_output(video: str | Path, lang: str) -> Path:
    """``film.mp4`` → ``film.<lang>.summary.md`` beside it."""
    video = Path(video)
    return video.with_name(f"{video.stem}.{lang}{SUMMARY_SUFFIX}")


@guarded
def summarize(
    video: str | Path,
    subs: str | Path,
    options: SummarizeOptions,
    *,
    warn: WarnFn | None = None,
    progress: ProgressFn | None = None,
) -> SummaryResult:
    """Summarize ``subs`` (the transcript of ``video``) in language ``options.to``; write the
    markdown.

    Args:
        video: the video; only used for naming the output when ``options.features`` is given.
        subs: its subtitles (SRT/WebVTT) in the model's source language.
        options: the language, model (a folder or name, see :func:`vloc.catalogue.resolve`;
            None: the one installed model into ``to``), output, features, decoding and
            feature-extraction settings.
        warn: receives every warning (also listed in the result).
        progress: ``progress(stage, done, total)`` while extracting features.

    Raises:
        InputError, SubtitleError, MediaError, WeightsError: each naming the file at fault.
    """
    from vloc.fileio import atomic_write_text, sha256_file
    from vloc.guard import check_output, declare_inputs, protect_inputs
    from vloc.subtitles import check_subtitle_file
    from vloc.workspace import Workspace

    options.check()
    if not options.to:
        raise InputError("the summary language (--to) is required")
    to, model, features = options.to, options.model, options.features
    warnings: list[str] = []

    def _warn(msg: str) -> None:
        warnings.append(msg)
        if warn is not None:
            warn(msg)

    video, subs = Path(video), Path(subs)
    if features is None and not video.is_file():
        raise InputError("video not found (or pass --features FILE.npy)", path=video)
    check_subtitle_file(subs)
    out_path = Path(options.output) if options.output is not None else default_output(video, to)
    inputs = [video, subs, features, model if model and Path(model).exists() else None]
    check_output(out_path, inputs)  # before any heavy work
    if features is None:
        Workspace.for_video(video, options.workdir)  # an input area: no output inside it
    folder = find_model(model) if model is not None else default_model(to)
    declare_inputs([folder], f"model {folder.name}")
    info = read_model_info(folder)  # the model is chosen and checked before torch is imported
    check_info(folder, info)
    if to != info.get("tgt_lang"):
        raise InputError(
            f"--to {to!r}: this model summarizes into {info.get('tgt_lang')!r} only", path=folder
        )
    transcript = transcript_from_subtitles(subs, encoding=options.encoding)
    for w in transcript["warnings"]:
        _warn(w)
    coverage = _check_coverage(
        folder,
        info,
        transcript["text"],
        subs,
        by_default=model is None,
        options=options,
        warn=_warn,
    )
    loaded = load_model_folder(folder, device=options.device)
    c = loaded.model.config
    feats, feature_info = None, {"used": False}
    if c.uses_video:
        if features is not None:
            feats, steps = load_video_features(features, dim=c.video_dim)
            feature_info = {
                "used": True,
                "source": str(features),
                "sha256": sha256_file(features),
                "steps": steps,
            }
        else:
            feats, feature_info = _extract(video, loaded, options, _warn, progress)
    batch = summarize_batch(loaded, [transcript["text"]], [feats], options, warn=_warn)
    summary = batch.texts[0]
    if feats is not None:
        feature_info["model_steps"] = min(int(feats.shape[0]), c.max_video_len)
    source = {
        "video": str(video),
        "subtitles": str(subs),
        "subtitles_sha256": sha256_file(subs),
        "cues": transcript["cues"],
        "encoding": transcript["encoding"],
        "transcript_tokens": batch.source_tokens[0],
        "transcript_tokens_used": min(batch.source_tokens[0], c.max_source_len),
        "features": feature_info,
    }
    decoding = {
        "beam": options.beam_size,
        "length_penalty": options.length_penalty,
        "max_len": options.max_len,
        "min_len": options.min_len,
        "no_repeat_ngram": options.no_repeat_ngram,
    }
    result = SummaryResult(
        summary, to, out_path, source, loaded.describe(), decoding, warnings, coverage.to_json()
    )
    with protect_inputs([*inputs, folder]):
        atomic_write_text(out_path, render_markdown(result))
    return result


def feature_options(loaded: LoadedSummarizer, options: SummarizeOptions) -> FeatureOptions:
    """How to extract a video's features for this model.

    A model folder may record its feature extractor in ``summarizer.json`` (``video``:
    ``backbone``, ``weights`` — a checkpoint file inside the folder —, ``width``, ``size``,
    ``fps``, ``clip_frames``); then those settings are used unless the options pick another
    backbone or other weights, so that features match the training ones on any machine.
    Otherwise: ``options.backbone`` (default the paper's 3D-ResNeXt-101) with its published
    checkpoint or ``options.weights``.
    """
    from vloc.features import FeatureOptions

    rec = feature_settings(loaded.info) or {}
    recorded = rec.get("backbone")
    backbone = options.backbone
    if backbone is None or (backbone == DEFAULT_BACKBONE and recorded and options.weights is None):
        backbone = recorded or DEFAULT_BACKBONE
    same = recorded is not None and backbone == recorded
    weights = options.weights
    if weights is None and same and rec.get("weights"):
        weights = str(loaded.folder / str(rec["weights"]))
    return FeatureOptions(
        backbone=backbone,
        weights=weights,
        weights_dir=options.weights_dir,
        mode="stride",
        clip_len=int(rec.get("clip_len", CLIP_FRAMES)),
        width=float(rec.get("width", 1.0)) if same else 1.0,
        size=int(rec["size"]) if same and rec.get("size") else None,
        fps=float(rec["fps"]) if same and rec.get("fps") else None,
        device=options.device,
        allow_truncated=options.allow_truncated,
    )


def _check_coverage(
    folder: Path,
    info: dict[str, Any],
    text: str,
    subs: Path,
    *,
    by_default: bool,
    options: SummarizeOptions,
    warn: WarnFn,
) -> Coverage:
    """Measure the transcript against the model's source tokenizer and apply the coverage
    policy (:func:`vloc.coverage.check`)."""
    from vloc.coverage import ModelFacts, check_model, read_marks

    demo, domain = read_marks(info, folder / INFO_FILE)
    name = model_name(folder)
    facts = ModelFacts(
        name=name,
        kind="summarizer",
        source_lang=str(info.get("src_lang", "")),
        target_lang=str(info.get("tgt_lang", "")),
        demo=demo,
        domain=domain,
        by_default=by_default,
    )
    return check_model(folder, [text], facts, subs, strict=options.strict, warn=warn)


def _extract(
    video: Path,
    loaded: LoadedSummarizer,
    options: SummarizeOptions,
    warn: WarnFn,
    progress: ProgressFn | None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Fixed-stride clip features of ``video`` (cached in its workspace)."""
    from vloc.features import extract_features, load_features

    fo = feature_options(loaded, options)
    r = extract_features(video, options=fo, workdir=options.workdir, progress=progress, warn=warn)
    fs = load_features(r.outputs["stride"])
    dim = loaded.model.config.video_dim
    if fs.pooled.shape[1] != dim:
        raise InputError(
            f"backbone {fo.backbone!r} gives {fs.pooled.shape[1]}-d features but the model "
            f"was trained on {dim}-d ones ({loaded.info.get('video', {}).get('feature')}); "
            "pick that backbone or pass --features FILE.npy",
            path=video,
        )
    info = {
        "used": True,
        "source": str(r.outputs["stride"]),
        "backbone": fo.backbone,
        "weights": fo.weights or "published",
        "cache_hit": r.cache_hit,
        "steps": int(fs.pooled.shape[0]),
    }
    return fs.pooled, info


def render_markdown(result: SummaryResult) -> str:
    """The ``.summary.md`` text: the summary, then its source and model."""
    s, m, d = result.source, result.model, result.decoding
    f = s["features"]
    if f.get("used"):
        video_line = f"{f['steps']} feature steps from `{f['source']}`" + (
            f" (pooled to {f['model_steps']})"
            if f.get("model_steps") and f["model_steps"] < f["steps"]
            else ""
        )
    else:
        video_line = "not used by this model"
    lines = [
        f"# Summary ({result.lang})",
        "",
        result.summary,
        "",
        "## Source",
        "",
        f"- video: `{s['video']}`",
        f"- subtitles: `{s['subtitles']}` ({s['cues']} cues, {s['encoding']})",
        f"- transcript: {s['transcript_tokens']} tokens"
        + (
            f", truncated to {s['transcript_tokens_used']}"
            if s["transcript_tokens_used"] < s["transcript_tokens"]
            else ""
        ),
        f"- video features: {video_line}",
        "",
        "## Model",
        "",
        f"- model: `{m['path']}` (stage {m['stage']}, variant {m['variant']}, "
        f"{m['src_lang']} → {m['tgt_lang']}, d {m['d_model']}, layers {m['layers'][0]}+"
        f"{m['layers'][1]})",
        f"- weights sha256: `{m['weights_sha256']}`",
        f"- decoding: beam {d['beam']}, length penalty {d['length_penalty']}, "
        f"at most {d['max_len']} tokens",
    ]
    if result.warnings:
        lines += ["", "## Warnings", "", *[f"- {w}" for w in result.warnings]]
    return "\n".join(lines) + "\n"
