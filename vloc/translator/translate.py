"""Translate the subtitles of a video end to end (``vloc translate``).

Stages, each timed and each cached where it can be:

1. **model** — with vloc's own translator (``--engine vloc``, the default): resolve ``--model``
   from the folders' JSON files alone and fail here, before torch is imported, on a missing
   model, a ``--to`` that the model does not translate into or a broken ``translator.json``;
   once the subtitles are read, the coverage check (:mod:`vloc.coverage`: a demo model picked
   by default is refused on text it does not know, any other model warns, ``strict`` fails).
2. **read** — the subtitles (:mod:`vloc.subtitles`), each cue's styling split from the plain
   text the model reads (:mod:`vloc.translator.cues`).
3. **decode** — :func:`vloc.translator.decode.decode_with_model` (features, index, eq. 1–3
   context, batched beam search) for vloc's model; :func:`vloc.engines.pipeline.decode_with_engine`
   (the film's index, related and previous lines, glossary, keyframes) for ``openai``, ``gguf``
   and ``seq2seq``. Both journal every finished batch (:mod:`vloc.translator.journal`): a
   killed run restarts where it stopped and gives byte-identical output.
4. **write** — line breaking for the target language (:mod:`vloc.translator.linebreak`), tag
   restoration, an optional bilingual layout, the glossary report, then one atomic write.

The output has exactly the input's cues: same count, order, start and end times; an empty cue
stays empty (:func:`vloc.translator.cues.check_same_cues`).

Model folders, their lookup and ``translator.json``: :mod:`vloc.translator.registry`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.errors import InputError, SubtitleError
from vloc.guard import check_output, declare_inputs, guarded, protect_inputs
from vloc.subtitles import OUTPUT_FORMATS, check_subtitle_file
from vloc.timing import Stopwatch
from vloc.translator.cues import LANG_CODE, check_same_cues, default_output, render_cue, split_style
from vloc.translator.decode import DEFAULT_BEAM
from vloc.translator.linebreak import ReadabilityReport, check_readability
from vloc.translator.registry import (
    ModelChoice,
    choose_model,
    open_model,
)

if TYPE_CHECKING:
    from vloc.coverage import Coverage
    from vloc.engines.options import EngineOptions

DEFAULT_BATCH = 32  # cues per decoding batch: large enough to amortise the step overhead
DEVICES = ("cpu", "cuda")

ProgressFn = Callable[[str, int, int], None]  # (stage, done, total)
WarnFn = Callable[[str], None]


@dataclass(frozen=True)
class TranslateOptions:
    """What ``vloc translate`` was asked to do."""

    to: str  # target language code; must be the model's target language
    model: str | None = None  # vloc engine: model name (under the model folders) or folder;
    # None: the only installed model translating into ``to``
    output: str | Path | None = None  # output file; None: beside the subtitles, film.<to>.<fmt>
    format: str | None = None  # "srt" | "vtt" | "ass" | "ssa" | "ttml"; None: from
    # ``output``'s suffix, else the input's
    beam_size: int = DEFAULT_BEAM  # beam width (1 = greedy)
    batch_size: int = DEFAULT_BATCH  # cues per decoding batch (also the journal's unit)
    bilingual: bool = False  # each cue holds the translation over the source line(s) (ASS:
    # the source in its own style)
    encoding: str | None = None  # subtitle encoding override (default: detect)
    workdir: str | Path | None = None  # parent folder of the video's workspace
    device: str = "cpu"  # "cpu" | "cuda", for the backbone and the translator
    strict: bool = False  # a failed coverage check is an error instead of a warning
    engine: EngineOptions | None = None  # openai | gguf | seq2seq and their context; None or
    # kind "vloc": vloc's own translator (``model``)
    source_lang: str | None = None  # engines: the subtitles' language; None: from the file
    # name's tag (film.en.srt), else guessed from the script
    allow_truncated: bool = False  # features of a truncated video: go on with what decodes
    style: str | None = None  # a style profile (shipped name or .toml): each cue's budget goes
    # into the LLM engines' prompts, over-budget replies are asked once to condense, and the
    # result counts the cues over budget; None: no budgets
    backbone_path: str = "auto"  # how the video backbone runs: "auto" | "eager" | "jit" |
    # "compile" (vloc.features.execution; FeatureOptions.backbone_path)
    memory: tuple[str, ...] = ()  # translation memory files (vloc.memory.film): exact and
    # fuzzy matches used verbatim; LLM engines also see similar pairs as examples
    memory_examples: int = 600  # token budget of those examples (0: none); the default is
    # vloc.memory.lookup.EXAMPLE_TOKENS (not imported: `vloc --help` stays light)


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
    variant: str  # translator variant (vloc), or the engine kind
    source_lang: str
    target_lang: str
    journal: Path  # the decoding journal
    warnings: list[str] = field(default_factory=list)
    coverage: dict[str, Any] | None = None  # vloc.coverage.Coverage.to_json() of the input
    engine: str = "vloc"  # vloc | openai | gguf | seq2seq
    extra: dict[str, Any] = field(default_factory=dict)  # engines: usage and context settings
    glossary: list[dict[str, Any]] | None = None  # per term: cues, honoured, missed
    style: dict[str, Any] | None = None  # --style: profile, cues over budget before and after
    memory: dict[str, Any] | None = None  # FilmMemory.to_json(): exact, fuzzy, identity, ...

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
            "engine": self.engine,
            "model": self.model,
            "variant": self.variant,
            "source_lang": self.source_lang,
            "target_lang": self.target_lang,
            "journal": str(self.journal),
            "warnings": self.warnings,
            "coverage": self.coverage,
            "glossary": self.glossary,
            "style": self.style,
            "memory": self.memory,
            **self.extra,
        }


# ---------------------------------------------------------------- the pipeline


def _validate(options: TranslateOptions) -> None:
    if not options.to or not LANG_CODE.match(options.to):
        raise InputError(f"--to {options.to!r} is not a language code (e.g. zh, en, pt-BR)")
    if options.beam_size < 1:
        raise InputError(f"--beam must be at least 1, got {options.beam_size}")
    if options.batch_size < 1:
        raise InputError(f"--batch-size must be at least 1, got {options.batch_size}")
    if options.format is not None and options.format not in OUTPUT_FORMATS:
        raise InputError(f"--format {options.format!r}; valid: {', '.join(OUTPUT_FORMATS)}")
    if options.device not in DEVICES:
        raise InputError(f"--device {options.device!r}; valid: {', '.join(DEVICES)}")
    from vloc.features.execution import check_path  # torch-free

    check_path(options.backbone_path, fast=True, device=options.device)  # fast: as extracted
    if options.engine is not None:
        options.engine.check()


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
        if fmt not in OUTPUT_FORMATS:
            raise InputError(
                f"cannot tell the output format from {out.name!r}; use a name ending in "
                f".{', .'.join(OUTPUT_FORMATS)} or --format {'|'.join(OUTPUT_FORMATS)}",
                path=out,
            )
    else:
        fmt = options.format or subs_format or "srt"
        out = default_output(subtitles, options.to, fmt)
    engine = options.engine
    models = [options.model, engine.model if engine else None, engine.glossary if engine else None]
    check_output(out, [video, subtitles, *(m for m in models if m and Path(m).exists())])
    return out, fmt


@guarded
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
        InputError, SubtitleError, MediaError, WeightsError, EngineError: each naming the file
        or endpoint; nothing is written to the output path then.
    """
    clock = Stopwatch()
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
    from vloc.style.chinese import to_traditional, traditional_config

    traditional = traditional_config(options.to) is not None
    decode_to = "zh" if traditional else options.to  # zh-TW etc.: Simplified, then OpenCC
    engine = options.engine
    kind = engine.kind if engine is not None else "vloc"
    video, subtitles = Path(video), Path(subtitles)
    check_subtitle_file(subtitles)
    if not video.is_file():
        raise InputError("video not found", path=video)
    if options.output is not None:
        _output_path(None, video, subtitles, options)  # refuse a bad -o before any heavy work
    from vloc.workspace import Workspace

    Workspace.for_video(video, options.workdir)  # an input area: no -o inside it
    profile = None
    if options.style is not None:
        from vloc.style.profile_file import load_profile

        profile = load_profile(options.style)  # a bad profile fails before any heavy work
    glossary: tuple = ()
    if engine is not None and engine.glossary:
        from vloc.engines.glossary import read_glossary

        glossary = read_glossary(engine.glossary)
        if traditional:  # the engine writes Simplified: a Traditional glossary is checked so
            from vloc.style.chinese import to_simplified

            targets = to_simplified([t.target for t in glossary])
            glossary = tuple(replace(t, target=x) for t, x in zip(glossary, targets, strict=True))
    with clock("model"):
        choice = choose_model(options.model, decode_to) if kind == "vloc" else None
    if choice is not None:  # the model chosen by name or by default: its files are inputs
        declare_inputs([choice.folder], f"model {choice.name}")

    with clock("read"):
        from vloc.subtitles import read_subtitles

        subs = read_subtitles(subtitles, encoding=options.encoding)
        if not subs.cues:
            raise SubtitleError(
                "nothing to translate: the file holds no subtitle cues", path=subtitles
            )
        for w in subs.warnings:
            _warn(w)
        out_path, fmt = _output_path(subs.format, video, subtitles, options)
        styled = [split_style(c.text) for c in subs.cues]
        texts = [s.plain for s in styled]
        n = len(subs.cues)
        spans = [(c.start_ms, c.end_ms) for c in subs.cues]
        cue_budgets = None
        if profile is not None:
            from vloc.style.budget import budgets

            cue_budgets = budgets(spans, options.to, profile)

    memory = None
    if options.memory:  # its files are inputs (a folder: the pairs read from it, below)
        declare_inputs([p for p in options.memory if not Path(p).is_dir()], "translation memory")
        from vloc.engines.options import LLM_ENGINES
        from vloc.engines.pipeline import source_language
        from vloc.memory.film import film_memory

        with clock("memory"):
            memory = film_memory(
                options.memory, texts, source_lang=source_language(
                    subtitles, texts, options.source_lang or (choice.source_lang if choice else None)
                ), target_lang=options.to,
                examples=kind in LLM_ENGINES and options.memory_examples > 0,
                example_tokens=options.memory_examples,
                encoding=options.encoding, warn=_warn,
            )  # fmt: skip
    if memory is not None:
        declare_inputs(memory.files, "translation memory")
    fixed = memory.fixed if memory is not None else {}
    coverage = None
    if choice is not None:
        coverage = _check_coverage(choice, texts, subtitles, options, _warn)
        with clock("model"):
            _check_device(options.device)
            loaded = open_model(choice.folder, decode_to, device=options.device)
        from vloc.translator.decode import decode_with_model

        decode_options = replace(options, to=decode_to)
        decoded = decode_with_model(
            loaded,
            video,
            subtitles,
            texts,
            decode_options,
            progress=_progress,
            warn=_warn,
            skip=fixed,
        )
        model_files: Path | None = loaded.path
    else:
        from vloc.engines.pipeline import decode_with_engine

        assert engine is not None
        _check_device(options.device)
        decoded = decode_with_engine(
            engine,
            video,
            subtitles,
            texts,
            [(c.start_ms, c.end_ms) for c in subs.cues],
            to=decode_to,
            source_lang=options.source_lang,
            glossary=glossary,
            budgets=cue_budgets,
            memory=memory,
            encoding=options.encoding,
            workdir=options.workdir,
            device=options.device,
            progress=_progress,
            warn=_warn,
        )
        model_files = Path(engine.model) if engine.model and Path(engine.model).exists() else None
    for stage, seconds in decoded.timings.items():
        clock.add(stage, seconds)

    with clock("write"):
        translations = dict(decoded.translations)
        if traditional:
            keys = sorted(translations)
            converted = to_traditional([translations[k] for k in keys], options.to)
            translations = dict(zip(keys, converted, strict=True))
        ass_out = fmt in ("ass", "ssa")
        translations.update(fixed)  # the memory's, byte for byte (already in the target script)
        out_texts, shown = [], []
        for i in range(n):
            text, display = render_cue(
                styled[i],
                translations.get(i, ""),
                options.to,
                options.bilingual and not ass_out,
                profile,
            )
            if options.bilingual and ass_out and styled[i].plain:
                from vloc.subtitles.ass import bilingual_text

                text = bilingual_text(text, styled[i].body)
            out_texts.append(text)
            shown.append(display)
        out_doc = subs.with_texts(out_texts)
        check_same_cues(subs, out_doc, subtitles)
        readability = check_readability(
            shown, [(c.start_ms, c.end_ms) for c in subs.cues], options.to
        )
        glossary_json = None
        if glossary:
            from vloc.engines.glossary import glossary_report

            glossary_json = [
                r.to_json()
                for r in glossary_report(  # Simplified: before any OpenCC conversion
                    texts, [decoded.translations.get(i, "") for i in range(n)], glossary
                )
            ]
        style_json = None
        if profile is not None and cue_budgets is not None:
            style_json = _budget_report(profile.name, shown, cue_budgets, options.to, decoded)
            if style_json["over_budget_after"]:
                _warn(
                    f"{style_json['over_budget_after']} of {n} cues are over their budget under "
                    f"the {profile.name} profile (kept; see vloc check)"
                )
        from vloc.subtitles import write_subtitles

        inputs = [video, subtitles, model_files, engine.glossary if engine else None]
        with protect_inputs([*inputs, *options.memory, *(memory.files if memory else ())]):
            write_subtitles(
                out_path, out_doc, format=fmt, keep_indices=True, lang=options.to,
                bilingual=options.bilingual,
            )  # fmt: skip
    return TranslateResult(
        output=out_path,
        cues=n,
        translated=decoded.translated,
        reused=decoded.reused,
        empty=sum(1 for t in texts if not t),
        batches=decoded.batches,
        timings=clock.stop(),
        cache=decoded.cache,
        readability=readability,
        model=decoded.model,
        variant=decoded.variant,
        source_lang=decoded.source_lang,
        target_lang=options.to if traditional else decoded.target_lang,
        journal=decoded.journal,
        warnings=warnings,
        coverage=coverage.to_json() if coverage is not None else None,
        engine=kind,
        extra=decoded.extra,
        glossary=glossary_json,
        style=style_json,
        memory=memory.to_json() if memory is not None else None,
    )


def _budget_report(
    profile: str, shown: list[str], cue_budgets: list[Any], lang: str, decoded: Any
) -> dict[str, Any]:
    """Cues over their budget before (the engine's first replies; engines that are not asked
    again: as written) and after the condense re-asks, as the translations are shown."""
    from vloc.style.budget import over_budget

    after = sum(
        over_budget(t, b, lang) is not None for t, b in zip(shown, cue_budgets, strict=True)
    )
    usage = decoded.extra.get("usage", {}) if isinstance(decoded.extra, dict) else {}
    asked = "over_budget" in usage
    return {
        "profile": profile,
        "over_budget_before": usage["over_budget"] if asked else after,
        "over_budget_after": after,
        "condense_asked": asked,
    }


def _check_coverage(
    choice: ModelChoice,
    texts: list[str],
    subtitles: Path,
    options: TranslateOptions,
    warn: WarnFn,
) -> Coverage:
    """Measure the source texts against the model's source tokenizer and apply the coverage
    policy (:func:`vloc.coverage.check`); → the :class:`~vloc.coverage.Coverage`."""
    from vloc.coverage import ModelFacts, check_model

    facts = ModelFacts(
        name=choice.name,
        kind="translator",
        source_lang=choice.source_lang,
        target_lang=choice.target_lang,
        demo=choice.demo,
        domain=choice.domain,
        by_default=choice.by_default,
    )
    return check_model(choice.folder, texts, facts, subtitles, strict=options.strict, warn=warn)


__all__ = [
    "TranslateOptions",
    "TranslateResult",
    "default_output",
    "split_style",
    "translate_subtitles",
]
