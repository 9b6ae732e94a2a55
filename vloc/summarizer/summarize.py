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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.errors import InputError, WeightsError
from vloc.registry import describe_installed as _describe_installed
from vloc.registry import feature_settings, installed, model_name, resolve
from vloc.summarizer.config import CLIP_FRAMES, PAPER_BEAM
from vloc.summarizer.data import (
    INFO_FILE,
    SRC_TOKENIZER_DIR,
    TGT_TOKENIZER_DIR,
    encode_source,
    load_video_features,
    read_model_info,
)
from vloc.text import join_texts, transcript_text

if TYPE_CHECKING:
    import numpy as np

    from vloc.coverage import Coverage
    from vloc.features import FeatureOptions
    from vloc.summarizer.model import VDFSummarizer
    from vloc.tokenization import Tokenizer

SUMMARY_SUFFIX = ".summary.md"
DEFAULT_BACKBONE = "resnext101_3d"  # the paper's video features (3D-ResNeXt-101, 16 frames)
DEFAULT_MAX_SUMMARY_TOKENS = 100  # How2 summaries are 2-3 sentences (~33 words on average)
GENERATE_BATCH = 8  # videos summarized per beam-search batch

WarnFn = Callable[[str], None]
ProgressFn = Callable[[str, int, int], None]


@dataclass(frozen=True)
class SummarizeOptions:
    """What ``vloc summarize`` was asked to do (names as in
    :class:`~vloc.translator.translate.TranslateOptions`); evaluation reads only the decoding
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


@dataclass
class LoadedSummarizer:
    """A model folder loaded for inference."""

    model: VDFSummarizer  # in eval mode
    src_tok: Tokenizer  # source-language tokenizer
    tgt_tok: Tokenizer  # summary-language tokenizer
    info: dict[str, Any]  # summarizer.json: stage, languages, video features
    folder: Path

    @property
    def src_lang(self) -> str:
        return str(self.info.get("src_lang", ""))

    @property
    def tgt_lang(self) -> str:
        return str(self.info.get("tgt_lang", ""))

    def describe(self) -> dict[str, Any]:
        from vloc.fileio import sha256_file

        c = self.model.config
        return {
            "path": str(self.folder),
            "stage": self.info.get("stage"),
            "variant": c.variant,
            "src_lang": self.src_lang,
            "tgt_lang": self.tgt_lang,
            "d_model": c.d_model,
            "layers": [c.encoder_layers, c.decoder_layers],
            "weights_sha256": sha256_file(self.folder / "model.safetensors"),
        }


def find_model(name_or_path: str | Path) -> Path:
    """A model folder from a path (a model folder or a training output) or a name looked up as
    ``models/<name>/`` in ``$VLOC_HOME`` and the repository (:func:`vloc.registry.resolve`)."""
    return resolve("summarizer", name_or_path, to="")


def load_model_folder(folder: str | Path, *, device: str = "cpu") -> LoadedSummarizer:
    """Load a summarizer (config.json, model.safetensors, tokenizers, summarizer.json)."""
    from vloc.summarizer.model import VDFSummarizer
    from vloc.tokenization import Tokenizer

    folder = Path(folder)
    info = read_model_info(folder)
    _check_info(folder, info)
    model = VDFSummarizer.from_folder(folder, device=device)
    src_tok = Tokenizer.load(folder / SRC_TOKENIZER_DIR)
    tgt_tok = Tokenizer.load(folder / TGT_TOKENIZER_DIR)
    c = model.config
    if src_tok.vocab_size != c.src_vocab_size or tgt_tok.vocab_size != c.tgt_vocab_size:
        raise WeightsError(
            f"tokenizers ({src_tok.vocab_size}, {tgt_tok.vocab_size} ids) do not fit the model "
            f"({c.src_vocab_size}, {c.tgt_vocab_size})",
            path=folder,
        )
    return LoadedSummarizer(model, src_tok, tgt_tok, info, folder)


def _check_info(folder: Path, info: dict[str, Any]) -> None:
    """What ``summarizer.json`` alone can tell is wrong with a folder, before any weights load:
    a stage-2 output, an unknown backbone, a missing backbone weights file."""
    from vloc.backbones import REGISTRY

    if info.get("stage") == "2":
        raise InputError(
            "is a stage-2 distillation output (a source encoder, not a summarizer): fine-tune "
            "it first with `vloc train summarize --stage 3 --student DIR`",
            path=folder,
        )
    video = feature_settings(info) or {}
    backbone, weights = video.get("backbone"), video.get("weights")
    if backbone is not None and backbone not in REGISTRY:
        raise WeightsError(
            f"{INFO_FILE}: unknown backbone {backbone!r}; valid backbones: "
            f"{', '.join(sorted(REGISTRY))}",
            path=folder,
        )
    if weights and weights not in REGISTRY and not (folder / str(weights)).is_file():
        raise WeightsError(
            f"{INFO_FILE}: backbone weights {weights!r} not found in the model folder",
            path=folder,
        )


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
class BatchSummary:
    """Summaries of several inputs and what had to be cut to fit the model."""

    texts: list[str]  # one summary per input
    source_tokens: list[int]  # transcript tokens before truncation (EOS included)
    video_steps: list[int | None]  # feature steps before pooling (None: no video)
    warnings: list[str] = field(default_factory=list)


def summarize_batch(
    loaded: LoadedSummarizer,
    transcripts: Sequence[str],
    videos: Sequence[np.ndarray | Path | None],
    options: SummarizeOptions,
    *,
    warn: WarnFn | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> BatchSummary:
    """Summarize transcripts with their video features: (T, D) float arrays or ``.npy`` paths
    (loaded batch by batch), pooled here to the model's video positions; None for models
    without video. Truncation and pooling are reported through ``warn``."""
    import numpy as np
    import torch

    if len(transcripts) != len(videos):
        raise InputError(f"{len(transcripts)} transcripts but {len(videos)} videos")
    options.check()
    model, c = loaded.model, loaded.model.config
    device = next(model.parameters()).device
    warnings: list[str] = []

    def _warn(msg: str) -> None:
        warnings.append(msg)
        if warn is not None:
            warn(msg)

    srcs, lengths = [], []
    for t in transcripts:
        ids, n = encode_source(loaded.src_tok, t, c.max_source_len)
        srcs.append(ids)
        lengths.append(n)
    cut = [n for n in lengths if n > c.max_source_len]
    if cut:
        _warn(
            f"{len(cut)} of {len(lengths)} transcripts were longer than the model's "
            f"{c.max_source_len} tokens and were truncated (longest {max(cut)} tokens)"
        )
    from vloc.summarizer.model import pool_video

    def _video(v: np.ndarray | Path | None) -> tuple[Any, int | None]:
        """→ (pooled (S, D) tensor or None, steps before pooling or None)."""
        if v is None or not c.uses_video:
            return None, None
        if isinstance(v, Path):  # loaded per batch: a test set's features need not fit memory
            v = load_video_features(v, dim=c.video_dim)[0]
        if v.ndim != 2 or v.shape[1] != c.video_dim:
            raise InputError(
                f"video features must be (T, {c.video_dim}) for this model, got {tuple(v.shape)}"
            )
        x = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
        return pool_video(x, c.max_video_len), int(v.shape[0])

    if c.uses_video and any(v is None for v in videos):
        raise InputError(f"the {c.variant!r} summarizer needs video features for every input")
    steps: list[int | None] = []
    out: list[str] = []
    for i in range(0, len(srcs), GENERATE_BATCH):
        chunk = srcs[i : i + GENERATE_BATCH]
        width = max(len(s) for s in chunk)
        src = torch.full((len(chunk), width), c.pad_id, dtype=torch.long)
        for j, s in enumerate(chunk):
            src[j, : len(s)] = torch.tensor(s)
        loaded_videos = [_video(v) for v in videos[i : i + GENERATE_BATCH]]
        steps.extend(n for _, n in loaded_videos)
        video = video_mask = None
        if c.uses_video:
            feats = [f for f, _ in loaded_videos]
            s_max = max(f.shape[0] for f in feats)
            video = torch.zeros(len(chunk), s_max, c.video_dim)
            video_mask = torch.zeros(len(chunk), s_max, dtype=torch.bool)
            for j, f in enumerate(feats):
                video[j, : f.shape[0]] = f
                video_mask[j, : f.shape[0]] = True
            video, video_mask = video.to(device), video_mask.to(device)
        result = model.generate(
            src.to(device),
            (src != c.pad_id).to(device),
            video,
            video_mask,
            beam_size=options.beam_size,
            max_len=options.max_len,
            min_len=options.min_len,
            length_penalty=options.length_penalty,
            no_repeat_ngram=options.no_repeat_ngram,
        )
        out.extend(loaded.tgt_tok.decode(t) for t in result.tokens)
        if on_batch is not None:
            on_batch(len(chunk))
    long = [n for n in steps if n is not None and n > c.max_video_len]
    if long:
        _warn(
            f"{len(long)} of {len(steps)} videos had more than {c.max_video_len} feature steps "
            f"and were average-pooled to {c.max_video_len} (longest {max(long)})"
        )
    return BatchSummary(out, lengths, steps, warnings)


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
        options: the language, model (a folder or name, see :func:`vloc.registry.resolve`;
            None: the one installed model into ``to``), output, features, decoding and
            feature-extraction settings.
        warn: receives every warning (also listed in the result).
        progress: ``progress(stage, done, total)`` while extracting features.

    Raises:
        InputError, SubtitleError, MediaError, WeightsError: each naming the file at fault.
    """
    from vloc.fileio import atomic_write_text, check_output, protect_inputs, sha256_file

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
    if not subs.is_file():
        raise InputError("subtitle file not found", path=subs)
    out_path = Path(options.output) if options.output is not None else default_output(video, to)
    inputs = [video, subs, features, model if model and Path(model).exists() else None]
    check_output(out_path, inputs)  # before any heavy work
    folder = find_model(model) if model is not None else default_model(to)
    info = read_model_info(folder)  # the model is chosen and checked before torch is imported
    _check_info(folder, info)
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
    from vloc.coverage import ModelFacts, check, measure_folder, read_marks

    coverage = measure_folder(folder / SRC_TOKENIZER_DIR, [text])
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
    check(
        coverage,
        facts,
        subs,
        installed=describe_installed(),
        train_command="vloc train summarize",
        engines="--engine openai|gguf",
        strict=options.strict,
        warn=warn,
    )
    return coverage


def describe_installed() -> str:
    """``synth-zh-en-summary (zh→en, demo)``, or ``none``: the installed summarizers."""
    return _describe_installed("summarizer")


def installed_models() -> list[Path]:
    """Installed summarizer folders, sorted by name (:func:`vloc.registry.installed`)."""
    return installed("summarizer")


def default_model(to: str) -> Path:
    """The one installed summarizer into language ``to`` (fails naming the candidates when
    there is none or more than one: then ``--model`` decides)."""
    return resolve("summarizer", None, to=to)


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
