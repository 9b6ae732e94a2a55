"""Translate the subtitles of a video end to end (``vloc translate``): the film-level job
above both decoders.

Stages, each timed and each cached where it can be:

1. **model** — the decoder (:mod:`vloc.pipeline.decoders`): vloc's own translator is chosen
   from the model folders' JSON files alone and fails here, before torch is imported, on a
   missing model, a ``--to`` it does not translate into or a broken ``translator.json``; an
   engine's options were checked with the other options.
2. **read** — the subtitles (:mod:`vloc.subtitles`), each cue's styling split from the plain
   text the decoder reads (:mod:`vloc.style.cues`); with ``--style``, each cue's budget.
3. **memory** — with ``--memory``, the cues an earlier episode translated (:mod:`vloc.memory`),
   reused verbatim; then the decoder's check of the text (the own model's coverage check).
4. **decode** — the decoder on a :class:`~vloc.decoding.FilmJob`: features, index, eq. 1–3
   context and batched beam search for vloc's model; the film's index, related and previous
   lines, glossary and keyframes for the engines. Both journal every finished batch
   (:mod:`vloc.decoding.journal`): a killed run restarts where it stopped, byte-identically.
5. **write** — :mod:`vloc.pipeline.output`: Traditional Chinese conversion, line breaking,
   tag restoration, bilingual layout, the glossary and budget reports, one atomic write.

The output has exactly the input's cues: same count, order, start and end times; an empty cue
stays empty (:func:`vloc.style.cues.check_same_cues`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from vloc.decoding.job import FilmJob, ProgressFn, WarnFn
from vloc.errors import InputError, SubtitleError
from vloc.guard import check_output, declare_inputs, guarded
from vloc.pipeline.decoders import open_decoder
from vloc.pipeline.options import TranslateOptions, TranslateResult
from vloc.pipeline.output import write_translation
from vloc.style.cues import default_output, split_style
from vloc.subtitles import OUTPUT_FORMATS, check_subtitle_file
from vloc.timing import Stopwatch
from vloc.translator.options import OwnModel


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
    d = options.decoder
    named = [d.model] if isinstance(d, OwnModel) else [d.model, d.glossary]
    check_output(out, [video, subtitles, *(m for m in named if m and Path(m).exists())])
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
        subtitles: its SRT/WebVTT/ASS subtitles in the source language.
        options: see :class:`~vloc.pipeline.options.TranslateOptions`.
        progress: called as ``progress(stage, done, total)`` (stages ``features``, ``index``,
            ``decode``; ``decode`` after every journaled batch).
        warn: called with each warning (also collected in the result).

    Returns:
        :class:`~vloc.pipeline.options.TranslateResult`.

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

    options.check()
    decode_to = options.decode_to  # zh-TW etc.: Simplified, then OpenCC (or the engine's own)
    engine = None if isinstance(options.decoder, OwnModel) else options.decoder
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
        glossary = _read_glossary(engine.glossary, options)
    # the profile's punctuation convention for the target (--punctuation still wins)
    decoder_options = (
        options.decoder if engine is None else engine.with_profile(profile, options.to)
    )
    with clock("model"):
        decoder = open_decoder(decoder_options, decode_to)

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
        spans = [(c.start_ms, c.end_ms) for c in subs.cues]
        cue_budgets = None
        if profile is not None:
            from vloc.style.budget import budgets

            cue_budgets = budgets(spans, options.to, profile)

    memory = None
    if options.memory:  # its files are inputs (a folder: the pairs read from it, below)
        with clock("memory"):
            memory = _film_memory(options, decoder, subtitles, texts, _warn)
    coverage = decoder.check_text(texts, subtitles, _warn)
    job = FilmJob(
        video, subtitles, texts, spans, decode_to, source_lang=options.source_lang,
        workdir=options.workdir, encoding=options.encoding, device=options.device,
        glossary=glossary, budgets=cue_budgets, memory=memory,
        skip=memory.fixed if memory is not None else {},
    )  # fmt: skip
    decoded = decoder.decode(job, progress=_progress, warn=_warn)
    for stage, seconds in decoded.timings.items():
        clock.add(stage, seconds)

    with clock("write"):
        inputs = [video, subtitles, *decoder.files, engine.glossary if engine else None]
        written = write_translation(
            subs, styled, decoded, options, out_path=out_path, fmt=fmt, profile=profile,
            budgets=cue_budgets, glossary=glossary, memory=memory, inputs=inputs,
            subtitles=subtitles, warn=_warn,
        )  # fmt: skip
    return TranslateResult(
        output=out_path,
        cues=len(subs.cues),
        translated=decoded.translated,
        reused=decoded.reused,
        empty=sum(1 for t in texts if not t),
        batches=decoded.batches,
        timings=clock.stop(),
        cache=decoded.cache,
        readability=written.readability,
        model=decoded.model,
        variant=decoded.variant,
        source_lang=decoded.source_lang,
        target_lang=options.to if options.converts else decoded.target_lang,
        journal=decoded.journal,
        warnings=warnings,
        coverage=coverage,
        engine=decoder.kind,
        extra=decoded.extra,
        glossary=written.glossary,
        style=written.style,
        memory=memory.to_json() if memory is not None else None,
    )


def _read_glossary(path: str, options: TranslateOptions) -> tuple[Any, ...]:
    """The ``--glossary`` terms; for a Traditional target, their targets in the script the
    decoder writes — Simplified when the result is converted after, the target's own when an
    engine writes it directly — so a glossary works in either script."""
    from vloc.glossary.file import read_glossary
    from vloc.style.chinese import to_simplified, to_traditional, traditional_config

    glossary = read_glossary(path)
    if traditional_config(options.to) is None:
        return glossary
    targets = to_simplified([t.target for t in glossary])
    if not options.converts:
        targets = to_traditional(targets, options.to)
    return tuple(replace(t, target=x) for t, x in zip(glossary, targets, strict=True))


def _film_memory(
    options: TranslateOptions, decoder: Any, subtitles: Path, texts: list[str], warn: WarnFn
) -> Any:
    """The translation memory's matches for this film (:func:`vloc.memory.film.film_memory`);
    its files are the run's inputs."""
    declare_inputs([p for p in options.memory if not Path(p).is_dir()], "translation memory")
    from vloc.engines.options import LLM_ENGINES
    from vloc.memory.film import film_memory
    from vloc.subtitles.language import source_language

    source = source_language(subtitles, texts, options.source_lang or decoder.source_lang)
    memory = film_memory(
        options.memory, texts, source_lang=source, target_lang=options.to,
        examples=decoder.kind in LLM_ENGINES and options.memory_examples > 0,
        example_tokens=options.memory_examples, encoding=options.encoding, warn=warn,
    )  # fmt: skip
    declare_inputs(memory.files, "translation memory")
    return memory
