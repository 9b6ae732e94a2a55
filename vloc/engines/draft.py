"""``vloc translate --draft``: an LLM pass over the whole film that drafts a synopsis and a
glossary of its names and terms, for the user to edit before translating.

Seeding: the film's recurring capitalised terms (proper nouns and ranks found in at least
``MIN_CUES`` cues, most frequent first — the lines global retrieval would bring together) are
listed to the model with the part of the transcript they occur in, so it translates each once,
in context. The transcript is read in parts of at most ``CHUNK_CHARS`` characters (map), each
reply being ``{"synopsis": "...", "terms": [{"source", "target", "note"}]}``; the partial
synopses are merged by one more request (reduce). A term's first rendering wins; terms that
do not occur in the subtitles, or whose target is not in the target language's script, are
dropped.

Both drafts are written atomically into the video's workspace (``drafts/``), then the command
stops: edit them and run ``vloc translate ... --glossary DRAFT.tsv --synopsis @DRAFT.txt``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vloc.engines.base import Usage
from vloc.engines.llm import ask_json
from vloc.engines.options import LLM_ENGINES, EngineOptions
from vloc.engines.prompts import language_name
from vloc.engines.replies import ReplyError, json_object, written_in
from vloc.errors import InputError

DRAFT_VERSION = 1  # bump when the prompts below change (keys drafts kept by evaluation)
CHUNK_CHARS = 8000  # transcript characters per request
MIN_CUES = 2  # a seeded term occurs in at least this many cues
MAX_SEED_TERMS = 80  # most terms listed to the model per part
DRAFT_TOKENS = 1200  # most tokens of one reply
SCHEMA = {
    "type": "object",
    "properties": {
        "synopsis": {"type": "string", "minLength": 1},
        "terms": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "source": {"type": "string"},
                    "target": {"type": "string"},
                    "note": {"type": "string"},
                },
                "required": ["source", "target"],
            },
        },
    },
    "required": ["synopsis", "terms"],
}
SYSTEM = """You prepare the subtitle translation of a documentary film from {src} into {tgt}.
Read part of its transcript and reply with one JSON object:
{{"synopsis": "2-3 sentences in {src} on what this part covers",
 "terms": [{{"source": "a name or term as written in the transcript", "target": "its {tgt} translation", "note": "who or what it is"}}]}}
List the people, places, organisations, military ranks and units, and technical terms that a
translator must render the same way every time. Use established {tgt} translations."""
PART = "Transcript, part {i} of {n}:\n{text}\n\nNames and terms seen in this part: {seeds}"
MERGE = 'Synopses of the {n} consecutive parts of one film:\n{parts}\n\nWrite one synopsis of the whole film in {src}, 3-4 sentences. Reply as {{"synopsis": "...", "terms": []}}.'
WarnFn = Callable[[str], None]
ProgressFn = Callable[[str, int, int], None]


def seed_terms(texts: list[str]) -> list[str]:
    """Recurring capitalised terms of a film, most frequent first."""
    from vloc.glossary.terms import film_terms

    counts = Counter({t: len(rows) for t, rows in film_terms(texts).items()})
    return [t for t, n in counts.most_common() if n >= MIN_CUES]


def _check_draft(reply: str) -> dict[str, Any]:
    obj = json_object(reply)
    if not isinstance(obj.get("synopsis"), str) or not isinstance(obj.get("terms"), list):
        raise ReplyError("the reply needs 'synopsis' (a string) and 'terms' (a list)", hard=True)
    return obj


def _ask(backend: Any, system: str, user: str, usage: Usage) -> dict[str, Any]:
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    return ask_json(
        backend, messages, schema=SCHEMA, max_tokens=DRAFT_TOKENS, check=_check_draft,
        usage=usage, what="draft",
    )  # fmt: skip


def draft_film(
    texts: list[str],
    backend: Any,
    *,
    source_lang: str,
    target_lang: str,
    usage: Usage,
    progress: ProgressFn | None = None,
) -> tuple[str, list[tuple[str, str, str]]]:
    """Draft one film's synopsis and glossary from its cue texts (module docstring) →
    (synopsis, [(source, target, note), ...]); raises :class:`InputError` on no text."""
    from vloc.engines.summarize import chunk_transcript
    from vloc.glossary.file import _pattern

    parts = chunk_transcript(texts, CHUNK_CHARS)
    if not parts:
        raise InputError("nothing to draft from: the subtitles hold no text")
    names = {"src": language_name(source_lang), "tgt": language_name(target_lang)}
    seeds = seed_terms(texts)
    system = SYSTEM.format(**names)
    synopses: list[str] = []
    terms: dict[str, tuple[str, str, str]] = {}
    for i, text in enumerate(parts, start=1):
        here = [t for t in seeds if _pattern(t).search(text)][:MAX_SEED_TERMS]
        user = PART.format(i=i, n=len(parts), text=text, seeds=", ".join(here) or "(none)")
        obj = _ask(backend, system, user, usage)
        synopses.append(" ".join(obj["synopsis"].split()))
        for item in obj["terms"]:
            if not isinstance(item, dict):
                continue
            # one line of the glossary file each: tabs and newlines inside would split it
            source = " ".join(str(item.get("source", "")).split())
            target = " ".join(str(item.get("target", "")).split())
            note = " ".join(str(item.get("note", "")).split())
            if (
                source
                and target
                and not source.startswith("#")  # a comment when the glossary is read
                and source.casefold() not in terms
                and written_in(target, target_lang)
                and any(_pattern(source).search(t) for t in texts)
            ):
                terms[source.casefold()] = (source, target, note)
        if progress is not None:
            progress("draft", i, len(parts) + (len(parts) > 1))
    synopsis = synopses[0]
    if len(parts) > 1:
        merged = MERGE.format(n=len(parts), parts="\n".join(synopses), **names)
        synopsis = " ".join(_ask(backend, system, merged, usage)["synopsis"].split())
    return synopsis, list(terms.values())


def draft_context(
    video: Path,
    subs: Path,
    *,
    to: str,
    options: EngineOptions,
    source_lang: str | None = None,
    encoding: str | None = None,
    workdir: str | Path | None = None,
    progress: ProgressFn | None = None,
    warn: WarnFn | None = None,
) -> dict[str, Any]:
    """Draft the synopsis and glossary of a film (module docstring) → paths, counts, usage."""
    from vloc.engines import open_engine
    from vloc.fileio import atomic_write_text
    from vloc.subtitles import read_subtitles
    from vloc.subtitles.language import source_language
    from vloc.text import plain_text
    from vloc.workspace import Workspace, safe_name

    if options.kind not in LLM_ENGINES:
        raise InputError(f"--draft takes --engine {' or '.join(LLM_ENGINES)}, not {options.kind!r}")
    doc = read_subtitles(subs, encoding=encoding)
    texts = [plain_text(c.text) for c in doc.cues]
    if not any(t.strip() for t in texts):
        raise InputError("nothing to draft from: the subtitles hold no text", path=subs)
    src = source_language(subs, texts, source_lang)
    usage = Usage()
    engine = open_engine(options, warn=warn)
    try:
        synopsis, terms = draft_film(
            texts, engine.backend,  # type: ignore[attr-defined]
            source_lang=src, target_lang=to, usage=usage, progress=progress,
        )  # fmt: skip
    finally:
        engine.close()
    folder = Workspace.for_video(video, workdir).root / "drafts"
    stem = f"{safe_name(subs.name)}.{to}"
    glossary_path, synopsis_path = folder / f"{stem}.glossary.tsv", folder / f"{stem}.synopsis.txt"
    rows = ["source\ttarget\tnote", *("\t".join(v) for v in terms)]
    atomic_write_text(glossary_path, "\n".join(rows) + "\n")
    atomic_write_text(synopsis_path, synopsis + "\n")
    return {
        "glossary": str(glossary_path),
        "synopsis": str(synopsis_path),
        "terms": len(terms),
        "seeded": len(seed_terms(texts)),
        "parts": _count_parts(texts),
        "usage": usage.to_json(),
    }


def _count_parts(texts: list[str]) -> int:
    from vloc.engines.summarize import chunk_transcript

    return len(chunk_transcript(texts, CHUNK_CHARS))
