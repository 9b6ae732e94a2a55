"""The decoding stage of ``vloc translate --engine openai|gguf|seq2seq``.

1. **index** (``--context global``) — the film's subtitle index (:func:`vloc.index.build_index`,
   cached in the workspace) gives every cue's embedding, for retrieval (eq. 1) and for
   text-aware keyframe selection.
2. **engine** — opened once (:func:`vloc.engines.open_engine`).
3. **decode** — :class:`vloc.engines.runner.EngineRunner`: consecutive batches with the film's
   context, journaled under keys over the engine's identity and everything each prompt showed.
"""

from __future__ import annotations

import time

from vloc.decoding.job import Decoded, FilmJob, ProgressFn, WarnFn
from vloc.decoding.journal import JOURNAL_FORMAT, Journal
from vloc.engines.options import LLM_ENGINES, EngineOptions
from vloc.fileio import stable_hash
from vloc.subtitles.language import source_language


def decode_with_engine(
    job: FilmJob, options: EngineOptions, *, progress: ProgressFn, warn: WarnFn
) -> Decoded:
    """Translate the film's cues with the engine ``options`` names; see the module docstring.
    With ``job.budgets`` (``--style``) the LLM engines' prompts carry each line's limit and
    over-budget replies are asked up to twice to condense. The cues ``job.skip`` are not sent (the
    caller puts the memory's translations in)."""
    from vloc.engines import open_engine
    from vloc.engines.runner import EngineRunner, FilmText

    opt = options
    video, subtitles, texts, to, memory = job.video, job.subtitles, job.texts, job.to, job.memory
    timings: dict[str, float] = {}
    cache: dict[str, bool | None] = {"features": None, "index": None}
    src_lang = source_language(subtitles, texts, job.source_lang)
    c0 = time.perf_counter()
    engine = open_engine(opt, device=job.device, warn=warn)
    timings["model"] = time.perf_counter() - c0
    try:
        embeddings = None
        wants_index = opt.kind in LLM_ENGINES and (
            opt.context == "global" or (opt.frames and opt.frame_select == "text")
        )
        if wants_index:
            from vloc.index import build_index

            c0 = time.perf_counter()
            res = build_index(
                video,
                subtitles,
                encoding=job.encoding,
                workdir=job.workdir,
                progress=lambda done, total: progress("index", done, total),
                warn=warn,
            )
            embeddings, cache["index"] = res.index.embeddings(), res.cached
            timings["index"] = time.perf_counter() - c0
        frames = None
        if opt.frames:
            if engine.accepts_images:
                frames = _frames_fn(video, job.spans_ms, opt, embeddings)
            else:
                warn(
                    f"--frames {opt.frames}: the {opt.kind} engine {engine.name!r} takes no "
                    "images (pass --images for a vision-language model); no keyframes sent"
                )
        if opt.concurrency > opt.lag:
            warn(
                f"--concurrency {opt.concurrency} overlaps at most --lag {opt.lag} batches (a "
                "batch waits for the translations it may see); raise --lag to overlap more"
            )
        film = FilmText(
            texts,
            src_lang,
            to,
            embeddings=embeddings,
            synopsis=opt.synopsis,
            glossary=job.glossary,
            budgets=job.budgets if opt.kind in LLM_ENGINES else None,
            fixed=dict(job.skip),
            examples=memory.examples if memory is not None else (),
        )
        key = stable_hash({"v": JOURNAL_FORMAT, "engine": engine.identity, "to": to})
        with Journal.open(video, job.workdir, subtitles, to, key, notify=warn) as journal:
            from vloc.decoding.context_log import context_log_path

            runner = EngineRunner(
                engine, film, opt, journal, frames=frames, progress=progress, warn=warn,
                context_log=context_log_path(journal.path),
            )  # fmt: skip
            c0 = time.perf_counter()
            result = runner.run()
            timings["decode"] = time.perf_counter() - c0
    finally:
        engine.close()
    return Decoded(
        translations=result.translations,
        translated=result.translated,
        reused=result.reused,
        batches=result.batches,
        journal=journal.path,
        model=engine.name,
        variant=opt.kind,
        source_lang=src_lang,
        target_lang=to,
        cache=cache,
        timings=timings,
        extra={
            "engine": opt.kind,
            "usage": result.usage.to_json(),
            "context": {
                "mode": opt.context if engine.uses_context else "none",
                "batch_cues": opt.batch_cues,
                "related": opt.related,
                "previous": opt.previous,
                "lag": opt.lag,
                "frames": opt.frames if frames else 0,
                "frame_select": opt.frame_select,
                "context_lines": result.prompt_lines,
            },
        },
    )


def _frames_fn(video, times_ms, opt, embeddings):
    from vloc.engines.frames import FrameGrabber, select_frames

    grabber = FrameGrabber(video)

    def frames(rows: list[int], related: list[int]) -> list[bytes]:
        stamps = select_frames(
            rows, related, times_ms, opt.frames, opt.frame_select, embeddings=embeddings
        )
        frames.last_stamps = stamps  # type: ignore[attr-defined]  # the context log's frames_ms
        return [grabber.jpeg(t) for t in stamps]

    return frames
