"""``vloc summarize --engine openai|gguf``: a cross-lingual summary of a whole film by an LLM.

Map-reduce over the transcript (the subtitles' cue texts, tags removed): the transcript is cut
at cue boundaries into parts of at most ``CHUNK_CHARS`` characters; each part is summarized in
the target language (*map*), then the partial summaries are merged into one summary of a few
sentences (*reduce*; a film that fits in one part is summarized in one request). Where the
endpoint takes images (``--images``), ``--frames K`` keyframes spread evenly over the film are
attached to the final request.

The reliability rules of translation hold: the reply must be ``{"summary": "..."}`` (a JSON
schema where the endpoint takes one), non-empty, in the target script, without runaway
repetition; a rejected reply is asked again once with the problem stated, then the command
fails with one line. The output is written atomically and never over an input.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vloc.engines.base import Usage
from vloc.engines.llm import ask_json
from vloc.engines.options import LLM_ENGINES, EngineOptions
from vloc.engines.prompts import language_name
from vloc.engines.replies import ReplyError, json_object, runs_away, written_in
from vloc.errors import InputError

CHUNK_CHARS = 6000  # transcript characters per map request (~1,500 tokens of English)
SUMMARY_TOKENS = 400  # most tokens of one summary reply
SCHEMA = {
    "type": "object",
    "properties": {"summary": {"type": "string", "minLength": 1}},
    "required": ["summary"],
    "additionalProperties": False,
}
SYSTEM = """You summarize documentary films for viewers who do not speak their language.
Write in {tgt}. Be factual: name the people, places, dates and events the film covers; do not
invent anything. Reply with one JSON object {{"summary": "..."}} and nothing else."""
MAP = "Part {i} of {n} of the film's transcript ({src}):\n{text}\n\nSummarize this part in {tgt} in 2-4 sentences."
REDUCE = (
    "Summaries of the {n} consecutive parts of one film:\n{parts}\n\n"
    "Write one summary of the whole film in {tgt}, 3-5 sentences."
)
WarnFn = Callable[[str], None]
ProgressFn = Callable[[str, int, int], None]


def chunk_transcript(cues: list[str], limit: int = CHUNK_CHARS) -> list[str]:
    """Consecutive cue texts joined into parts of at most ``limit`` characters (a longer cue
    is a part of its own)."""
    parts, current = [], ""
    for text in (c for c in cues if c.strip()):
        if current and len(current) + 1 + len(text) > limit:
            parts.append(current)
            current = text
        else:
            current = f"{current} {text}".strip()
    if current:
        parts.append(current)
    return parts


def _check_summary(reply: str, lang: str, source_chars: int) -> str:
    obj = json_object(reply)
    text = obj.get("summary")
    if not isinstance(text, str) or not text.strip():
        raise ReplyError("the reply has no non-empty 'summary'", hard=True)
    text = " ".join(text.split())
    if not written_in(text, lang):
        raise ReplyError("the summary is not written in the target language", hard=False)
    if runs_away(text, max(source_chars, 400)):
        raise ReplyError("the summary repeats itself", hard=False)
    return text


def _ask(backend: Any, messages: list[dict[str, Any]], lang: str, chars: int, usage: Usage) -> str:
    return ask_json(
        backend,
        messages,
        schema=SCHEMA,
        max_tokens=SUMMARY_TOKENS,
        check=lambda reply: _check_summary(reply, lang, chars),
        usage=usage,
        what="summary",
    )


def summarize_with_engine(
    video: Path,
    subs: Path,
    *,
    to: str,
    options: EngineOptions,
    output: Path | None = None,
    source_lang: str | None = None,
    encoding: str | None = None,
    chunk_chars: int = CHUNK_CHARS,
    warn: WarnFn | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Summarize the film's subtitles in ``to`` with an LLM engine; write ``output`` (default
    ``<video stem>.<to>.summary.md``) atomically; → the result as JSON-ready dict."""
    from vloc.engines import open_engine
    from vloc.fileio import atomic_write_text
    from vloc.guard import check_output, protect_inputs
    from vloc.subtitles import check_subtitle_file, read_subtitles
    from vloc.subtitles.language import source_language
    from vloc.summarizer.summarize import default_output
    from vloc.text import plain_text

    if options.kind not in LLM_ENGINES:
        raise InputError(
            f"summarize --engine takes {' or '.join(LLM_ENGINES)}, not {options.kind!r}"
        )
    check_subtitle_file(subs)
    out = Path(output) if output is not None else default_output(video, to)
    inputs = [
        video,
        subs,
        options.model if options.model and Path(options.model).exists() else None,
    ]
    check_output(out, inputs)
    t0 = time.perf_counter()
    doc = read_subtitles(subs, encoding=encoding)
    texts = [plain_text(c.text) for c in doc.cues]
    parts = chunk_transcript(texts, chunk_chars)
    if not parts:
        raise InputError("nothing to summarize: the subtitles hold no text", path=subs)
    src = source_language(subs, texts, source_lang)
    names = {"src": language_name(src), "tgt": language_name(to)}
    engine = open_engine(options, warn=warn)
    usage = Usage()
    backend = engine.backend  # type: ignore[attr-defined]
    system = {"role": "system", "content": SYSTEM.format(**names)}
    try:
        partial = []
        steps = len(parts) + (1 if len(parts) > 1 else 0)
        for i, text in enumerate(parts, start=1):
            msg = MAP.format(i=i, n=len(parts), text=text, **names)
            if len(parts) == 1:
                msg = msg.replace("2-4 sentences", "3-5 sentences")
            partial.append(
                _ask(backend, [system, {"role": "user", "content": msg}], to, len(text), usage)
            )
            if progress is not None:
                progress("summarize", i, steps)
        summary = partial[0]
        if len(parts) > 1:
            body = "\n".join(f"{i}. {p}" for i, p in enumerate(partial, start=1))
            content: Any = REDUCE.format(n=len(parts), parts=body, **names)
            if options.frames and engine.accepts_images and doc.cues:
                content = _with_frames(video, content, doc, options.frames)
            summary = _ask(
                backend, [system, {"role": "user", "content": content}], to, len(body), usage
            )
            if progress is not None:
                progress("summarize", steps, steps)
    finally:
        engine.close()
    md = "\n".join(
        [
            f"# Summary ({to})",
            "",
            summary,
            "",
            "## Source",
            "",
            f"- video: `{video}`",
            f"- subtitles: `{subs}` ({len(doc.cues)} cues, {src})",
            f"- transcript: {sum(len(p) for p in parts):,} characters in {len(parts)} part(s)",
            "",
            "## Engine",
            "",
            f"- {options.kind}: `{engine.name}`",
            f"- tokens: {usage.prompt_tokens:,} prompt + {usage.completion_tokens:,} completion, "
            f"{usage.requests} request(s), {usage.reasks} re-ask(s)",
            "",
        ]
    )
    with protect_inputs(inputs):
        atomic_write_text(out, md)
    return {
        "summary": summary,
        "lang": to,
        "output": str(out),
        "engine": options.kind,
        "model": engine.name,
        "parts": len(parts),
        "partial_summaries": partial if len(parts) > 1 else [],
        "usage": usage.to_json(),
        "seconds": round(time.perf_counter() - t0, 3),
    }


def _with_frames(video: Path, text: str, doc: Any, k: int) -> list[dict[str, Any]]:
    from vloc.engines.frames import FrameGrabber, data_url

    start, end = doc.cues[0].start_ms, max(c.end_ms for c in doc.cues)
    grab = FrameGrabber(video)
    stamps = [int(start + (end - start) * (j + 0.5) / k) for j in range(k)]
    return [{"type": "text", "text": text}] + [
        {"type": "image_url", "image_url": {"url": data_url(grab.jpeg(t))}} for t in stamps
    ]


__all__ = ["chunk_transcript", "summarize_with_engine"]
