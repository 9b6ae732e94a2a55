"""Translate the subtitles of a video end to end (``vloc translate``).

Stages, each timed and each cached where it can be:

1. **model** — resolve ``--model`` (a folder, or a name under the model folders) from the
   folders' JSON files alone and fail here, before torch is imported, on a missing model, a
   ``--to`` that the model does not translate into or a broken ``translator.json``; then, once
   the subtitles are read, the coverage check (:mod:`vloc.coverage`: a demo model picked by
   default is refused on text it does not know, any other model warns, ``strict`` fails), and
   only then load the translator and its two tokenizers.
2. **features** — per-cue clip features of the video (:func:`vloc.features.extract_features`,
   cached in the workspace), extracted with exactly the backbone, weights, fps, clip length,
   crop size and grid recorded in the model folder (``translator.json``, below). Skipped by the
   ``text-only`` variant.
3. **index** — the subtitle vector index (:func:`vloc.index.build_index`, cached), only for the
   variants that retrieve globally (``config.context == "global"``).
4. **context** — the segments each cue sees: the top-P retrieved cues with window fusion
   (eq. 1–3, as :func:`vloc.index.global_context`, retrieved once for the film and gathered
   per batch), the P cues nearest in time with the same fusion (``no-gr*``), the cue's own raw
   segment (``segment-level``) or nothing (``text-only``).
5. **decode** — batched beam search with incremental decoding (:meth:`Translator.generate`).
   Every finished batch is appended to a journal in the workspace (JSON lines, fsynced), keyed
   by a hash of the model, the decoding settings, the feature/index keys, the cue's source text
   and its context ids. A killed run restarts from the journal and decodes only what is left;
   batches are a fixed partition of the cues, so a resumed run decodes the same batches as an
   uninterrupted one and gives byte-identical output.
6. **write** — line breaking for the target language (:mod:`vloc.translator.linebreak`), tag
   restoration, an optional bilingual layout, then one atomic write of the output file.

The output has exactly the input's cues: same count, order, start and end times; an empty cue
stays empty. Tags: the model reads the text without tags; a translation is re-wrapped in
``<i>…</i>`` when the whole source cue was italic (every line), and gets the source's leading
ASS override block (``{\\an8}`` etc.) back; tags inside a line cannot be placed in a
translation and are dropped.

Model folders, their lookup and ``translator.json``: :mod:`vloc.translator.registry`.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.errors import InputError, SubtitleError, VlocError, WeightsError
from vloc.fileio import check_output, protect_inputs, stable_hash
from vloc.subtitles import FORMATS
from vloc.translator.linebreak import ReadabilityReport, break_text, check_readability
from vloc.translator.registry import (
    INFO_FILE,
    SRC_TOKENIZER_DIR,
    LoadedModel,
    ModelChoice,
    choose_model,
    describe_installed,
    open_model,
)
from vloc.workspace import Workspace, safe_name

if TYPE_CHECKING:
    import numpy as np

    from vloc.coverage import Coverage
    from vloc.subtitles import Subtitles

DEFAULT_BEAM = 5  # beam width (the translator paper decodes with beam search; 5 is fairseq's)
DEFAULT_BATCH = 32  # cues per decoding batch: large enough to amortise the step overhead
DEVICES = ("cpu", "cuda")
JOURNAL_DIR = "translations"  # workspace sub-folder of decoding journals
JOURNAL_FORMAT = 1  # bump when the meaning of a journal entry changes
SOURCE_ADD_EOS = True  # source ids end with EOS (fairseq convention, as in training)
_LANG_SUFFIX = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$")  # "en", "zh-Hans", "pt_BR"
_LEADING_OVERRIDE = re.compile(r"^\s*(\{\\[^}]*\})")  # "{\an8}" at the start of a cue
_TAGS = re.compile(r"<[^>]*>|\{\\[^}]*\}")
_ITALIC_LINE = re.compile(r"^\s*<i>(.*)</i>\s*$", re.IGNORECASE | re.DOTALL)

ProgressFn = Callable[[str, int, int], None]  # (stage, done, total)
WarnFn = Callable[[str], None]


@dataclass(frozen=True)
class TranslateOptions:
    """What ``vloc translate`` was asked to do."""

    to: str  # target language code; must be the model's target language
    model: str | None = None  # model name (under the model folders) or folder; None: the only
    # installed model translating into ``to``
    output: str | Path | None = None  # output file; None: beside the subtitles, film.<to>.<fmt>
    format: str | None = None  # "srt" | "vtt"; None: from ``output``'s suffix, else the input's
    beam_size: int = DEFAULT_BEAM  # beam width (1 = greedy)
    batch_size: int = DEFAULT_BATCH  # cues per decoding batch (also the journal's unit)
    bilingual: bool = False  # each cue holds the source line(s), then the translation
    encoding: str | None = None  # subtitle encoding override (default: detect)
    workdir: str | Path | None = None  # parent folder of the video's workspace
    device: str = "cpu"  # "cpu" | "cuda", for the backbone and the translator
    strict: bool = False  # a failed coverage check is an error instead of a warning


@dataclass
class TranslateResult:
    """What :func:`translate_subtitles` did."""

    output: Path  # the file written
    cues: int  # cues in the input and in the output
    translated: int  # cues decoded by this run
    reused: int  # cues taken from the journal of an earlier (interrupted) run
    empty: int  # cues without text, kept empty
    batches: int  # decoding batches run by this run
    timings: dict[str, float]  # seconds per stage: model, read, features, index, context, ...
    cache: dict[str, bool | None]  # features/index found in the workspace (None: not needed)
    readability: ReadabilityReport  # line-length and reading-speed violations
    model: str  # model name
    variant: str  # translator variant
    source_lang: str
    target_lang: str
    journal: Path  # the decoding journal
    warnings: list[str] = field(default_factory=list)
    coverage: dict[str, Any] | None = None  # vloc.coverage.Coverage.to_json() of the input

    def to_json(self) -> dict[str, Any]:
        return {
            "output": str(self.output),
            "cues": self.cues,
            "translated": self.translated,
            "reused": self.reused,
            "empty": self.empty,
            "batches": self.batches,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "cache": self.cache,
            "violations": self.readability.to_json(),
            "model": self.model,
            "variant": self.variant,
            "source_lang": self.source_lang,
            "target_lang": self.target_lang,
            "journal": str(self.journal),
            "warnings": self.warnings,
            "coverage": self.coverage,
        }


# ---------------------------------------------------------------- paths and text


def default_output(subtitles: str | Path, to: str, fmt: str) -> Path:
    """``film.en.srt`` -> ``film.zh.srt``; ``film.srt`` -> ``film.zh.srt`` (beside the input)."""
    subtitles = Path(subtitles)
    stem = subtitles.stem
    base, dot, last = stem.rpartition(".")
    if dot and base and _LANG_SUFFIX.match(last):
        stem = base
    return subtitles.with_name(f"{stem}.{to}.{fmt}")


@dataclass(frozen=True)
class _Styled:
    prefix: str  # a leading ASS override block ("{\an8}") or ""
    italic: bool  # every line of the cue was wrapped in <i>…</i>
    plain: str  # the text the model reads: tags removed, lines joined by spaces
    body: str  # the source without its leading override block (bilingual output)


def split_style(text: str) -> _Styled:
    """Separate a cue's whole-cue styling from the text the model reads."""
    m = _LEADING_OVERRIDE.match(text)
    prefix = m.group(1) if m else ""
    body = text[m.end() :] if m else text
    lines = [line for line in body.split("\n") if line.strip()]
    italic = bool(lines) and all(_ITALIC_LINE.match(line) for line in lines)
    if not italic and _ITALIC_LINE.match(body.strip()):
        italic = True  # one <i> opened on the first line and closed on the last
    plain = " ".join(_TAGS.sub("", body).split())
    return _Styled(prefix, italic, plain, body.strip("\n"))


def render_cue(styled: _Styled, translation: str, lang: str, bilingual: bool) -> tuple[str, str]:
    """(the output cue text, the translation as shown) for one cue."""
    if not styled.plain:
        return "", ""
    shown, _ = break_text(translation, lang)
    body = f"<i>{shown}</i>" if (styled.italic and shown) else shown
    if bilingual:
        body = f"{styled.body}\n{body}" if body else styled.body
    return (styled.prefix + body) if body else "", shown


# ---------------------------------------------------------------- journal


class Journal:
    """Append-only JSON lines ``{"k": key, "t": translation}``; each batch fsynced."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, str] = {}
        if path.is_file():
            try:
                raw = path.read_text(encoding="utf-8", errors="replace")
            except OSError as e:
                raise VlocError(f"cannot read the translation journal: {e}", path=path) from e
            for line in raw.split("\n"):
                try:
                    item = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a kill, or blank
                if isinstance(item, dict) and isinstance(item.get("k"), str):
                    self.entries[item["k"]] = str(item.get("t", ""))

    def append(self, items: list[tuple[str, str]]) -> None:
        data = "".join(
            json.dumps({"k": k, "t": t}, ensure_ascii=False) + "\n" for k, t in items
        ).encode()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "ab") as f:
                if f.tell() > 0:
                    with open(self.path, "rb") as r:
                        r.seek(-1, os.SEEK_END)
                        if r.read(1) != b"\n":
                            data = b"\n" + data  # after a line cut short by a kill
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise VlocError(f"cannot write the translation journal: {e}", path=self.path) from e
        self.entries.update(items)


# ---------------------------------------------------------------- the pipeline


def _validate(options: TranslateOptions) -> None:
    if not options.to or not _LANG_SUFFIX.match(options.to):
        raise InputError(f"--to {options.to!r} is not a language code (e.g. zh, en, pt-BR)")
    if options.beam_size < 1:
        raise InputError(f"--beam must be at least 1, got {options.beam_size}")
    if options.batch_size < 1:
        raise InputError(f"--batch-size must be at least 1, got {options.batch_size}")
    if options.format is not None and options.format not in FORMATS:
        raise InputError(f"--format {options.format!r}; valid: {', '.join(FORMATS)}")
    if options.device not in DEVICES:
        raise InputError(f"--device {options.device!r}; valid: {', '.join(DEVICES)}")


def _check_device(device: str) -> None:
    if device != "cuda":
        return
    import torch

    if not torch.cuda.is_available():
        raise InputError("--device cuda: CUDA is not available here; use --device cpu")


def _output_path(
    subs_format: str | None, video: Path, subtitles: Path, options: TranslateOptions
) -> tuple[Path, str]:
    """The output file and its format, checked against the run's inputs (never one of them).

    ``subs_format`` is the input's format once read (None before: then only ``-o`` is checked).
    """
    if options.output is not None:
        out = Path(options.output)
        fmt = options.format or out.suffix.lower().lstrip(".")
        if fmt not in FORMATS:
            raise InputError(
                f"cannot tell the output format from {out.name!r}; use a .srt or .vtt name "
                "or --format srt|vtt",
                path=out,
            )
    else:
        fmt = options.format or subs_format or "srt"
        out = default_output(subtitles, options.to, fmt)
    model = options.model if options.model and Path(options.model).exists() else None
    check_output(out, [video, subtitles, model])
    return out, fmt


def _feature_options(loaded: LoadedModel, options: TranslateOptions, warn: WarnFn) -> Any:
    from vloc.features import FeatureOptions

    spec = dict(loaded.features or {})
    if loaded.features is None:
        warn(
            f"model {loaded.name!r} records no feature settings ({INFO_FILE}); "
            "using the default backbone and weights"
        )
    return FeatureOptions(**spec, device=options.device, encoding=options.encoding)


def context_ids(
    kind: str,
    n: int,
    *,
    p: int,
    embeddings: np.ndarray | None = None,
) -> np.ndarray | None:
    """Per cue, the positions of the segments it sees: ``(N, P)`` int64, ``PAD_ID`` (-1) where
    a film has fewer cues than P; ``(N, 1)`` (the cue itself) for ``own``; None for ``none``.

    ``global``: eq. 1, the P most similar cues by subtitle embedding (the cue itself first);
    ``temporal``: the P cues nearest in time (:func:`temporal_context_ids`).
    """
    import numpy as np

    from vloc.index import PAD_ID, retrieve
    from vloc.translator.config import temporal_context_ids

    if kind == "none":
        return None
    if kind == "own":
        return np.arange(n, dtype=np.int64)[:, None]
    if kind == "global":
        assert embeddings is not None, "global retrieval needs the subtitle embeddings"
        ids, _ = retrieve(embeddings, p=p)
        return ids
    ids = np.full((n, p), PAD_ID, dtype=np.int64)
    for i, near in enumerate(temporal_context_ids(n, p)):
        ids[i, : len(near)] = near
    return ids


def gather_context(ids: np.ndarray, segments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(video ``(B, P, R, D)`` float32 with zeros at padding, mask ``(B, P)`` bool) for the
    context ids ``(B, P)`` of a batch, from per-cue segments ``(N, R, D)``."""
    import numpy as np

    mask = ids >= 0
    video = segments[np.where(mask, ids, 0)]  # (B, P, R, D)
    video[~mask] = 0.0
    return np.ascontiguousarray(video, dtype=np.float32), mask


def _cue_features(
    loaded: LoadedModel,
    video: Path,
    subtitles: Path,
    n: int,
    options: TranslateOptions,
    *,
    progress: ProgressFn,
    warn: WarnFn,
) -> tuple[np.ndarray, str, bool]:
    """(per-cue segment features ``(N, R, D_v)`` float32, their store key, cache hit)."""
    from vloc.features import extract_features, load_features

    if not video.is_file():
        raise InputError("video not found", path=video)
    config = loaded.model.config
    result = extract_features(
        video,
        subs=subtitles,
        options=_feature_options(loaded, options, warn),
        workdir=options.workdir,
        progress=lambda _kind, done, total: progress("features", done, total),
        warn=warn,
    )
    entry = result.outputs["cues"]
    fs = load_features(entry)
    regions = fs.regions  # (N, R, D_v) float32
    if regions is None or regions.shape[0] != n:
        rows = 0 if regions is None else regions.shape[0]
        raise VlocError(
            f"cue features have {rows} rows for {n} cues; delete this entry and retry", path=entry
        )
    if regions.shape[1:] != (config.video_regions, config.video_dim):
        raise WeightsError(
            f"features are (R={regions.shape[1]}, D={regions.shape[2]}) per cue but the model "
            f"expects (R={config.video_regions}, D={config.video_dim}): record the backbone and "
            f"grid it was trained with in {INFO_FILE}",
            path=loaded.path,
        )
    return regions, str(fs.meta.get("key") or entry.name), result.cache_hit


def _cue_embeddings(
    loaded: LoadedModel,
    video: Path,
    subtitles: Path,
    options: TranslateOptions,
    *,
    progress: ProgressFn,
) -> tuple[np.ndarray, str, bool]:
    """(subtitle embeddings ``(N, E)`` unit rows, the index key, cache hit)."""
    from vloc.index import build_index

    result = build_index(
        video,
        subtitles,
        encoder=loaded.index_encoder,
        encoding=options.encoding,
        workdir=options.workdir,
        progress=lambda done, total: progress("index", done, total),
    )
    return result.index.embeddings(), str(result.index.manifest.get("key")), result.cached


def encode_sources(
    loaded: LoadedModel, texts: list[str], *, warn: WarnFn | None = None
) -> list[list[int]]:
    """Source token ids per text (EOS last), truncated to the model's ``max_source_len``."""
    config = loaded.model.config
    out, truncated = [], 0
    for ids in loaded.src_tokenizer.encode_batch(texts, add_eos=SOURCE_ADD_EOS):
        if len(ids) > config.max_source_len:
            truncated += 1
            ids = ids[: config.max_source_len - 1] + [config.eos_id]
        out.append(ids)
    if truncated and warn is not None:
        warn(f"{truncated} cue(s) longer than {config.max_source_len} tokens were truncated")
    return out


def decode_batch(
    loaded: LoadedModel,
    src_ids: list[list[int]],
    video: np.ndarray | None,
    video_mask: np.ndarray | None,
    *,
    beam_size: int = DEFAULT_BEAM,
    device: str = "cpu",
) -> list[str]:
    """Translate one batch: source ids (B lists), video ``(B, P, R, D_v)`` float32 and its mask
    ``(B, P)`` bool (None for text-only) -> B target texts."""
    import torch

    config = loaded.model.config
    length = max(len(ids) for ids in src_ids)
    src = torch.full((len(src_ids), length), config.pad_id, dtype=torch.long)  # (B, L)
    for r, ids in enumerate(src_ids):
        src[r, : len(ids)] = torch.tensor(ids)
    src_mask = src != config.pad_id
    video_t = mask_t = None
    if video is not None and video_mask is not None:
        video_t = torch.from_numpy(video).to(device)  # (B, P, R, D_v)
        mask_t = torch.from_numpy(video_mask).to(device)  # (B, P)
    result = loaded.model.generate(
        src.to(device), src_mask.to(device), video_t, mask_t, beam_size=beam_size
    )
    return loaded.tgt_tokenizer.decode_batch(result.tokens)


def translate_subtitles(
    video: str | Path,
    subtitles: str | Path,
    options: TranslateOptions,
    *,
    progress: ProgressFn | None = None,
    warn: WarnFn | None = None,
) -> TranslateResult:
    """Translate ``subtitles`` of ``video`` into ``options.to``; write the output atomically.

    Args:
        video: the film (features are extracted from it unless the model is text-only).
        subtitles: its SRT/WebVTT subtitles in the model's source language.
        options: see :class:`TranslateOptions`.
        progress: called as ``progress(stage, done, total)`` (stages ``features``, ``index``,
            ``decode``; ``decode`` after every journaled batch).
        warn: called with each warning (also collected in the result).

    Returns:
        :class:`TranslateResult`.

    Raises:
        InputError, SubtitleError, MediaError, WeightsError: each naming the file; nothing is
        written to the output path then.
    """
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    warnings: list[str] = []

    def _warn(msg: str) -> None:
        if msg in warnings:  # the features stage re-reads the subtitles: say it once
            return
        warnings.append(msg)
        if warn is not None:
            warn(msg)

    def _progress(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(stage, done, total)

    _validate(options)
    video, subtitles = Path(video), Path(subtitles)
    if not subtitles.is_file():
        raise SubtitleError("subtitle file not found", path=subtitles)
    if not video.is_file():
        raise InputError("video not found", path=video)
    if options.output is not None:
        _output_path(None, video, subtitles, options)  # refuse a bad -o before any heavy work
    c0 = time.perf_counter()
    choice = choose_model(options.model, options.to)  # JSON files only: fails before torch
    timings["model"] = time.perf_counter() - c0

    c0 = time.perf_counter()
    from vloc.subtitles import read_subtitles

    subs = read_subtitles(subtitles, encoding=options.encoding)
    if not subs.cues:
        raise SubtitleError("nothing to translate: the file holds no subtitle cues", path=subtitles)
    for w in subs.warnings:
        _warn(w)
    out_path, fmt = _output_path(subs.format, video, subtitles, options)
    styled = [split_style(c.text) for c in subs.cues]
    n = len(subs.cues)
    timings["read"] = time.perf_counter() - c0
    coverage = _check_coverage(choice, [s.plain for s in styled], subtitles, options, _warn)

    c0 = time.perf_counter()
    _check_device(options.device)
    loaded = open_model(choice.folder, options.to, device=options.device)
    config = loaded.model.config
    timings["model"] += time.perf_counter() - c0

    kind = config.context
    cache: dict[str, bool | None] = {"features": None, "index": None}
    regions = embeddings = None
    feature_key = index_key = None
    if kind != "none":
        c0 = time.perf_counter()
        regions, feature_key, cache["features"] = _cue_features(
            loaded, video, subtitles, n, options, progress=_progress, warn=_warn
        )
        timings["features"] = time.perf_counter() - c0
    if kind == "global":
        c0 = time.perf_counter()
        embeddings, index_key, cache["index"] = _cue_embeddings(
            loaded, video, subtitles, options, progress=_progress
        )
        timings["index"] = time.perf_counter() - c0

    # every cue's context ids, and the segments they index: window-fused (eq. 2) for the
    # retrieved/temporal variants, the raw segment V_i for segment-level
    c0 = time.perf_counter()
    ctx_ids = context_ids(kind, n, p=config.segments, embeddings=embeddings)
    segments = regions
    if kind in ("global", "temporal"):
        from vloc.index import enhance

        segments = enhance(regions, w=config.window, gamma=config.window_gamma)  # (N, R, D)
    timings["context"] = time.perf_counter() - c0

    run_key = stable_hash(
        {
            "v": JOURNAL_FORMAT,
            "model": loaded.identity,
            "beam": options.beam_size,
            "features": feature_key,
            "index": index_key,
            "eos": SOURCE_ADD_EOS,
        }
    )
    ws = Workspace.for_video(video, options.workdir)
    journal = Journal(
        ws.root / JOURNAL_DIR / f"{safe_name(subtitles.name)}.{options.to}.{run_key[:16]}.jsonl"
    )
    todo = [i for i in range(n) if styled[i].plain]
    src_ids = encode_sources(loaded, [styled[i].plain for i in todo], warn=_warn)
    # a fixed partition of the cues (by length, so that batches pad little): a resumed run
    # decodes exactly the batches an uninterrupted run would have
    order = sorted(range(len(todo)), key=lambda k: (len(src_ids[k]), k))
    batches = [
        [todo[k] for k in order[s : s + options.batch_size]]
        for s in range(0, len(order), options.batch_size)
    ]
    ids_of = {i: src_ids[k] for k, i in enumerate(todo)}
    translations: dict[int, str] = {}
    reused = decoded = ran = 0
    decode_s = 0.0
    _progress("decode", 0, len(batches))
    for b, rows in enumerate(batches):
        c0 = time.perf_counter()
        ids = vid = vmask = None
        if ctx_ids is not None:
            ids = ctx_ids[rows]  # (B, P)
            vid, vmask = gather_context(ids, segments)  # (B, P, R, D), (B, P)
        keys = [
            stable_hash(
                {
                    "run": run_key,
                    "text": styled[i].plain,
                    "ctx": None if ids is None else ids[r].tolist(),
                }
            )
            for r, i in enumerate(rows)
        ]
        timings["context"] += time.perf_counter() - c0
        if all(k in journal.entries for k in keys):
            translations.update((i, journal.entries[k]) for i, k in zip(rows, keys, strict=True))
            reused += len(rows)
        else:
            c0 = time.perf_counter()
            texts = decode_batch(
                loaded,
                [ids_of[i] for i in rows],
                vid,
                vmask,
                beam_size=options.beam_size,
                device=options.device,
            )
            journal.append(list(zip(keys, texts, strict=True)))
            translations.update(zip(rows, texts, strict=True))
            decoded += len(rows)
            ran += 1
            decode_s += time.perf_counter() - c0
        _progress("decode", b + 1, len(batches))
    timings["decode"] = decode_s

    c0 = time.perf_counter()
    out_texts, shown = [], []
    for i in range(n):
        text, display = render_cue(
            styled[i], translations.get(i, ""), options.to, options.bilingual
        )
        out_texts.append(text)
        shown.append(display)
    out_doc = subs.with_texts(out_texts)
    _check_same_cues(subs, out_doc, subtitles)
    readability = check_readability(shown, [(c.start_ms, c.end_ms) for c in subs.cues], options.to)
    from vloc.subtitles import write_subtitles

    with protect_inputs([video, subtitles, loaded.path]):
        write_subtitles(out_path, out_doc, format=fmt, keep_indices=True)
    timings["write"] = time.perf_counter() - c0
    timings["total"] = time.perf_counter() - t_start
    return TranslateResult(
        output=out_path,
        cues=n,
        translated=decoded,
        reused=reused,
        empty=n - len(todo),
        batches=ran,
        timings=timings,
        cache=cache,
        readability=readability,
        model=loaded.name,
        variant=config.variant,
        source_lang=loaded.source_lang,
        target_lang=loaded.target_lang,
        journal=journal.path,
        warnings=warnings,
        coverage=coverage.to_json(),
    )


def _check_coverage(
    choice: ModelChoice,
    texts: list[str],
    subtitles: Path,
    options: TranslateOptions,
    warn: WarnFn,
) -> Coverage:
    """Measure the source texts against the model's source tokenizer and apply the coverage
    policy (:func:`vloc.coverage.check`); → the :class:`~vloc.coverage.Coverage`."""
    from vloc.coverage import ModelFacts, check, measure_folder

    coverage = measure_folder(choice.folder / SRC_TOKENIZER_DIR, texts)
    facts = ModelFacts(
        name=choice.name,
        kind="translator",
        source_lang=choice.source_lang,
        target_lang=choice.target_lang,
        demo=choice.demo,
        domain=choice.domain,
        by_default=choice.by_default,
    )
    check(
        coverage,
        facts,
        subtitles,
        installed=describe_installed(),
        train_command="vloc train translate",
        strict=options.strict,
        warn=warn,
    )
    return coverage


def _check_same_cues(src: Subtitles, out: Subtitles, path: Path) -> None:
    """The output must have the input's cues: count, order and timing (never merged,
    dropped or invented)."""
    same = len(src.cues) == len(out.cues) and all(
        (a.index, a.start_ms, a.end_ms) == (b.index, b.start_ms, b.end_ms)
        for a, b in zip(src.cues, out.cues, strict=True)
    )
    if not same:
        raise VlocError(
            f"internal error: the translation has {len(out.cues)} cues or different timing "
            f"for {len(src.cues)} input cues; nothing was written",
            path=path,
        )


__all__ = [
    "TranslateOptions",
    "TranslateResult",
    "context_ids",
    "decode_batch",
    "default_output",
    "encode_sources",
    "gather_context",
    "split_style",
    "translate_subtitles",
]
