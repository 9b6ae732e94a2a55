"""Validating an LLM's reply to one batch: every line once, nothing extra, nothing empty.

:func:`parse_reply` accepts a JSON object (optionally inside a Markdown code fence or after a
sentence of chatter) whose keys are exactly the batch's cue numbers. Problems are *hard* —
not JSON, a number missing or extra, an empty translation for a non-empty line: the reply
cannot be used, :class:`ReplyError` is raised, and the engine re-asks once, then halves the
batch — or *soft*, per line — the target script is absent, the line loops ("汽车, 汽车,
汽车") or runs far longer than its source, a glossary term of its source is not rendered as
the glossary says, common words of the source are left untranslated in a target of another
script (:func:`untranslated_words`), or (with ``--style``) it is over its cue's budget
(:func:`vloc.style.budget.over_budget`): those lines alone are asked again, told what was wrong
(:mod:`vloc.engines.llm`); a line that still runs away then is never written as the
translation: the cue keeps its source text, with a warning. Words a line still leaves
untranslated after its re-asks are asked alone after the batches (:mod:`vloc.engines.last_pass`).

Every string of a reply loses its control characters first (:func:`json_object`): ESC, BEL,
NUL and whole terminal escape sequences never reach a prompt, a journal or an output file.
"""

from __future__ import annotations

import json
import re
from typing import Any

from vloc.engines.base import Line
from vloc.glossary.file import GlossaryTerm, missing_terms
from vloc.style.budget import over_budget
from vloc.style.scripts import source_words_left
from vloc.text import CJK_LETTERS, LATIN_LETTERS, LATIN_WORD, language_base, without_controls

# a translation may be at most this many times its source's length (plus slack) before it is
# taken for a runaway generation
MAX_LENGTH_RATIO = 4.0
LENGTH_SLACK = 40  # characters
_LOOP = re.compile(r"(.{2,12}?)(?:\s*\1){4,}", re.DOTALL)  # a short unit repeated 5+ times
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)
_SCRIPTS = {
    "cjk": re.compile(f"[{CJK_LETTERS}]"),
    "cyrillic": re.compile(r"[\u0400-\u04ff]"),
    "arabic": re.compile(r"[\u0600-\u06ff]"),
    "devanagari": re.compile(r"[\u0900-\u097f]"),
    "latin": re.compile(f"[{LATIN_LETTERS}]"),
}
_SCRIPT_OF = {
    "zh": "cjk", "ja": "cjk", "ko": "cjk", "ru": "cyrillic", "uk": "cyrillic",
    "bg": "cyrillic", "sr": "cyrillic", "ar": "arabic", "fa": "arabic", "hi": "devanagari",
}  # fmt: skip
OVER_BUDGET = "is too long for its cue"  # marks a reply over its budget (``--style``)
# a line over its budget is asked to condense up to this many times (the first re-ask included)
CONDENSE_ROUNDS = 2
_LETTERS = re.compile(r"[^\W\d_]{2,}")  # two letters in a row: a line with words in it


class ReplyError(ValueError):
    """A reply that cannot be used as it is; ``hard`` when nothing of it can be trusted."""

    def __init__(self, message: str, *, hard: bool) -> None:
        super().__init__(message)
        self.hard = hard


def target_script(lang: str) -> str:
    """The script a translation into ``lang`` must contain (``latin`` by default)."""
    return _SCRIPT_OF.get(language_base(lang), "latin")


def json_object(reply: str) -> dict:
    """The JSON object in a reply (inside a code fence or after chatter); ReplyError if none."""
    text = reply.strip()
    fence = _FENCE.search(text)
    if fence:
        text = fence.group(1).strip()
    if not text.startswith("{"):
        start, end = text.find("{"), text.rfind("}")
        if start < 0 or end <= start:
            raise ReplyError("the reply is not a JSON object", hard=True)
        text = text[start : end + 1]
    try:
        obj = json.loads(text)
    except ValueError as e:
        raise ReplyError(
            f"the reply is not valid JSON ({e.msg} at char {e.pos})", hard=True
        ) from None
    if not isinstance(obj, dict):
        raise ReplyError("the reply is JSON but not an object", hard=True)
    return _clean(obj)


def _clean(value: Any) -> Any:
    """Every string of a parsed reply without control characters or terminal escapes
    (:func:`vloc.text.without_controls`): what a model says never drives a terminal or
    reaches a file as ESC, BEL or NUL."""
    if isinstance(value, str):
        return without_controls(value)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {without_controls(str(k)): _clean(v) for k, v in value.items()}
    return value


def parse_reply(
    reply: str,
    cues: tuple[Line, ...] | list[Line],
    target_lang: str,
    glossary: tuple[GlossaryTerm, ...] = (),
) -> tuple[dict[int, str], dict[int, str]]:
    """(translations keyed by cue number, soft problems keyed by cue number) of ``reply`` for
    ``cues``; raises :class:`ReplyError` when the reply as a whole cannot be used (hard)."""
    obj = json_object(reply)
    want = {c.number: c for c in cues}
    got: dict[int, str] = {}
    extra = []
    for key, value in obj.items():
        k = str(key).strip().lstrip("#")
        if not k.isdigit() or int(k) not in want:
            extra.append(str(key))
            continue
        if int(k) in got:
            raise ReplyError(f"line {k} appears twice", hard=True)
        if not isinstance(value, str):
            raise ReplyError(f"line {k}: the translation is not a string", hard=True)
        got[int(k)] = value.strip()
    missing = [n for n in want if n not in got]
    if missing:
        raise ReplyError(f"lines missing: {', '.join(map(str, missing))}", hard=True)
    if extra:
        raise ReplyError(f"unexpected keys: {', '.join(extra[:5])}", hard=True)
    empty = [n for n, c in want.items() if c.source.strip() and not got[n]]
    if empty:
        raise ReplyError(f"empty translations for lines {', '.join(map(str, empty))}", hard=True)
    problems = {
        n: why
        for n, c in want.items()
        if (why := line_problem(n, c, got[n], target_lang, glossary)) is not None
    }
    return {n: got[n] for n in want}, problems


def line_problem(
    n: int, cue: Line, text: str, target_lang: str, glossary: tuple[GlossaryTerm, ...] = ()
) -> str | None:
    """The soft problem of ``text`` as line ``n``'s translation of ``cue``, worded for a
    re-ask; None when there is none."""
    if _LETTERS.search(cue.source) and not written_in(text, target_lang):
        return f"line {n} is not written in the target language: {text[:40]!r}"
    if runs_away(text, len(cue.source), cue.source):
        return f"line {n} repeats itself or runs far longer than its source"
    if missed := missing_terms(cue.source, text, glossary):
        rules = ", ".join(f"{t.source!r} as {t.target}" for t in missed)
        return f"line {n} must translate {rules} (glossary)"
    notes = []  # words left untranslated and a length over budget are said together
    if words := untranslated_words(cue.source, text, target_lang, glossary):
        listed = ", ".join(repr(w) for w in words)
        notes.append(f"line {n} leaves {listed} untranslated; write it in the target language")
    if cue.budget is not None and (why := over_budget(text, cue.budget, target_lang)):
        notes.append(
            f"line {n} also {OVER_BUDGET}: {why}; condense it"
            if notes
            else f"line {n} {OVER_BUDGET}: {why}; condense it, keeping the meaning"
        )
    return "; ".join(notes) or None


def only_over_budget(n: int, problem: str) -> bool:
    """Whether line ``n``'s problem (as :func:`parse_reply` words it) is only its length."""
    return problem.startswith(f"line {n} {OVER_BUDGET}")


def untranslated_words(
    source: str,
    text: str,
    lang: str,
    glossary: tuple[GlossaryTerm, ...] = (),
    *,
    forms: bool = False,
) -> list[str]:
    """:func:`vloc.style.scripts.source_words_left` for a reply into ``lang`` (a target of
    :func:`target_script` ``latin`` has none), the Latin words of the glossary's targets kept."""
    if target_script(lang) == "latin":
        return []
    kept = [w for t in glossary for w in LATIN_WORD.findall(t.target)]
    return source_words_left(source, text, lang, kept, forms=forms)


def written_in(text: str, lang: str) -> bool:
    """Whether ``text`` contains the script of ``lang`` at all."""
    return bool(_SCRIPTS[target_script(lang)].search(text))


def runs_away(text: str, source_chars: int, source: str = "") -> bool:
    """A runaway generation: more than ``MAX_LENGTH_RATIO`` times its source's length (plus
    ``LENGTH_SLACK``), or a short unit repeated 5+ times where ``source`` does not repeat
    itself ("No, no, no, no, no!" may be translated as it is said)."""
    if len(text) > MAX_LENGTH_RATIO * source_chars + LENGTH_SLACK:
        return True
    return bool(_LOOP.search(text)) and not _LOOP.search(source)
