"""The last pass over a film, after the batch loop: words left in the source's language, then
lines still over their budget.

**Leftovers.** A small chat model asked for a whole batch sometimes copies a common word of the
source into a translation of another script (``他们召集所有飞行员进行 briefing``) and keeps it
when re-asked with the word named (:func:`vloc.engines.replies.untranslated_words`) — and in a
Chinese subtitle every letter of ``reinforcements`` counts against the cue's budget. Each such
line is asked once more, alone and phrase by phrase: "which {target} words replace 1:
'briefing somehow' in this translation?" (:func:`leftover_messages`; the schema allows no Latin
letter in an answer); the checked answers (:func:`check_answer`) replace the phrases in the
line (:func:`replace_leftovers`). A line not written in the target's script at all is one
leftover: the whole line.

**Shortening** (with ``--style``). A line still over its budget after its condense rounds —
which re-translate from the source — is given to the model as it stands, target side: "rewrite
this {target} subtitle in at most N characters, keeping its meaning" (:func:`shorten_messages`).
The rewrite replaces the line only when it keeps to the budget (lines included), is in the
target's script, leaves no source word, and keeps at least :data:`MIN_KEPT` of the N
characters (:func:`check_shortened`): a line is condensed, not gutted.

Nothing else of a translation changes, and a rejected answer (asked once more with the
problem stated) leaves the line as it was. The earlier translations a later batch saw are not
rewritten, so the batches' journal entries stay valid; the pass's requests are journaled
beside them (:class:`LastPass`), under keys over the line, its translation and
:data:`LAST_PASS_VERSION`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vloc.engines.base import Usage
from vloc.engines.replies import ReplyError, json_object, untranslated_words, written_in
from vloc.fileio import stable_hash
from vloc.glossary.file import GlossaryTerm
from vloc.style.budget import Budget, over_budget
from vloc.style.measure import cue_chars
from vloc.text import CJK_LETTERS, LATIN_LETTERS, LATIN_WORD, written_without_spaces

if TYPE_CHECKING:
    from vloc.engines.runner import EngineRunResult, FilmText, JournalLike

LAST_PASS_VERSION = 2  # bump when a prompt or a rule of the pass changes
MIN_KEPT = 2 / 3  # a shortened line holds at least this share of the characters it may hold
MAX_ANSWER_CHARS = 12  # a phrase's replacement: at most this many characters per word
# a run of Latin words: "everybody else", "upside-down", "déjà vu"
_RUN = re.compile(f"{LATIN_WORD.pattern}(?:[ '-]+{LATIN_WORD.pattern})*")
# an answer's pattern: no ASCII letter (what a grammar can hold; check_answer sees the rest)
_NO_LATIN = "^[^A-Za-z]+$"
_CJK = re.compile(f"[{CJK_LETTERS}]")


def leftovers(
    source: str, text: str, lang: str, glossary: tuple[GlossaryTerm, ...] = ()
) -> list[str]:
    """What of translation ``text`` is still in the source's language: each run of Latin
    words (``briefing somehow``, ``everybody else``) that holds a word left untranslated, in
    any form (:func:`vloc.engines.replies.untranslated_words`), or ``[text]`` when it holds
    no letter of ``lang``'s script at all. Empty for a Latin-script target (nothing can be
    told apart there)."""
    if not text.strip() or not any(ch.isalpha() for ch in source):
        return []
    if not written_in(text, lang):
        return [text] if written_in(text, "en") else []
    words = set(untranslated_words(source, text, lang, glossary, forms=True))
    if not words:
        return []
    runs = [m.group() for m in _RUN.finditer(text)]
    return list(dict.fromkeys(r for r in runs if words & set(LATIN_WORD.findall(r))))


def leftover_messages(
    source: str, text: str, phrases: list[str], source_lang: str, target_lang: str
) -> list[dict[str, Any]]:
    """The chat request for ``phrases`` of line ``source``, translated as ``text``; the
    answer's keys are the phrases' numbers (a small model asked with the phrase as the key
    tends to copy it as the value)."""
    from vloc.engines.prompts import language_name

    src, tgt = language_name(source_lang), language_name(target_lang)
    listed = "\n".join(
        f"{k}: {json.dumps(w, ensure_ascii=False)}" for k, w in enumerate(phrases, 1)
    )
    example = json.dumps({str(k): "..." for k in range(1, len(phrases) + 1)})
    return [
        {
            "role": "system",
            "content": f"You translate {src} words of a film's subtitle into {tgt}. Reply "
            "with one JSON object and nothing else.",
        },
        {
            "role": "user",
            "content": f"Subtitle line ({src}): {json.dumps(source, ensure_ascii=False)}\n"
            f"Its translation: {json.dumps(text, ensure_ascii=False)}\n"
            f"The translation leaves these words in {src}:\n{listed}\n"
            f"Give, for each number, the short {tgt} words that replace them in the "
            f"translation, as this line means them, written in {tgt} and not in {src}: "
            f"{example}",
        },
    ]


def answer_schema(phrases: list[str]) -> dict[str, Any]:
    """JSON schema of an answer: each phrase's number mapped to a non-empty string without a
    Latin letter (a whole line may keep a name)."""
    whole = len(phrases) == 1 and not _RUN.fullmatch(phrases[0])
    value = {"type": "string", "minLength": 1, **({} if whole else {"pattern": _NO_LATIN})}
    keys = [str(k) for k in range(1, len(phrases) + 1)]
    return {
        "type": "object",
        "properties": {k: value for k in keys},
        "required": keys,
        "additionalProperties": False,
    }


def check_answer(reply: str, phrases: list[str], source: str, target_lang: str) -> dict[str, str]:
    """The replacement of every phrase of ``phrases`` (keyed by the phrase) in ``reply``;
    :class:`ReplyError` when one is missing, not in the target's script, still holds a word of
    the source or is longer than a replacement can be (``MAX_ANSWER_CHARS`` a word, four times
    the line's length for a whole line)."""
    obj = json_object(reply)
    out: dict[str, str] = {}
    for k, w in enumerate(phrases, 1):
        value = obj.get(str(k))
        if not isinstance(value, str) or not value.strip():
            raise ReplyError(f"no translation of {w!r}", hard=True)
        value = value.strip()
        words = len(w.split())
        limit = MAX_ANSWER_CHARS * words if _RUN.fullmatch(w) else 4 * len(w) + 20
        if len(value) > limit:
            raise ReplyError(f"the translation of {w!r} is too long ({len(value)} characters)",
                             hard=True)  # fmt: skip
        if not written_in(value, target_lang):
            raise ReplyError(f"{value!r} for {w!r} is not written in the target language",
                             hard=True)  # fmt: skip
        if kept := untranslated_words(source, value, target_lang):
            raise ReplyError(f"{value!r} for {w!r} leaves {kept[0]!r} untranslated", hard=True)
        out[w] = value
    return out


def replace_leftovers(text: str, answers: dict[str, str], lang: str) -> str:
    """``text`` with each phrase of ``answers`` replaced (whole words, every occurrence); in a
    language written without spaces, a space between a replaced phrase and a letter of the
    target's script goes too (``进行 briefing 时`` → ``进行汇报时``)."""
    if text in answers:
        return answers[text]
    wordless = written_without_spaces(lang)
    for word, value in answers.items():
        text = _replace_word(text, word, value, wordless)
    return " ".join(text.split()) if wordless else text


def _replace_word(text: str, word: str, value: str, wordless: bool) -> str:
    """``text`` with every whole ``word`` (or phrase) replaced by ``value``
    (see :func:`replace_leftovers`)."""
    pattern = re.compile(rf"(\s?)(?<![{LATIN_LETTERS}]){re.escape(word)}(?![{LATIN_LETTERS}])(\s?)")

    def sub(m: re.Match[str]) -> str:
        before, after = m.group(1), m.group(2)
        if not wordless:
            return before + value + after
        start, end = m.start(), m.end()  # the spaces the model put around a foreign word go
        if before and (start == 0 or _CJK.match(text[start - 1])):
            before = ""
        if after and (end >= len(text) or _CJK.match(text[end])):
            after = ""
        shown = value
        if not before:  # "补充 reinforcements" → "补充", not "补充补充"
            shown = shown[_overlap(text[:start], shown) :]
        if not after:  # "被 wiped掉" → "被擦掉", not "被擦掉掉"
            shown = shown[: len(shown) - _overlap(shown, text[end:])]
        return before + shown + after

    return pattern.sub(sub, text)


def _overlap(left: str, right: str) -> int:
    """The length of the longest end of ``left`` that ``right`` starts with."""
    return next((k for k in range(min(len(left), len(right)), 0, -1)
                 if left.endswith(right[:k])), 0)  # fmt: skip


# ---------------------------------------------------------------- shortening


def shorten_limit(text: str, budget: Budget) -> int:
    """The characters a shortened ``text`` may hold: its budget when it has more characters
    than that, else two fewer than it has (it keeps to the count but breaks into no allowed
    lines)."""
    chars = cue_chars(text, budget.style)
    return budget.chars if chars > budget.chars else max(1, chars - 2)


def shorten_messages(
    source: str, text: str, limit: int, source_lang: str, target_lang: str
) -> list[dict[str, Any]]:
    """The chat request to rewrite ``text`` (the translation of line ``source``) in at most
    ``limit`` characters."""
    from vloc.engines.prompts import language_name

    src, tgt = language_name(source_lang), language_name(target_lang)
    return [
        {
            "role": "system",
            "content": f"You shorten {tgt} film subtitles. Reply with one JSON object and "
            "nothing else.",
        },
        {
            "role": "user",
            "content": f"{src} line: {json.dumps(source, ensure_ascii=False)}\n"
            f"{tgt} subtitle: {json.dumps(text, ensure_ascii=False)} ({len(text)} "
            f"characters)\nRewrite the {tgt} subtitle in at most {limit} characters, keeping "
            'its meaning: drop words the line can do without. Reply {"1": "..."}',
        },
    ]


SHORTEN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"1": {"type": "string", "minLength": 1}},
    "required": ["1"],
    "additionalProperties": False,
}


def check_shortened(
    reply: str,
    source: str,
    budget: Budget,
    limit: int,
    target_lang: str,
    finish: Callable[[str], str] = str.strip,
) -> str:
    """The rewrite in ``reply``, as ``finish`` leaves it (the target's subtitle punctuation);
    :class:`ReplyError` when it is missing, not in the target's script, leaves a word of the
    source, is still over ``budget``, or holds fewer than :data:`MIN_KEPT` of ``limit``
    characters."""
    value = json_object(reply).get("1")
    if not isinstance(value, str) or not value.strip():
        raise ReplyError("no rewrite", hard=True)
    value = finish(value.strip())
    if not written_in(value, target_lang):
        raise ReplyError(f"{value!r} is not written in the target language", hard=True)
    if kept := untranslated_words(source, value, target_lang):
        raise ReplyError(f"{value!r} leaves {kept[0]!r} untranslated", hard=True)
    if why := over_budget(value, budget, target_lang):
        raise ReplyError(f"still too long: {why}", hard=True)
    least = math.ceil(MIN_KEPT * limit)
    chars = cue_chars(value, budget.style)
    if chars < least:
        raise ReplyError(
            f"{chars} characters drop too much of the line; keep its meaning in {least} to "
            f"{limit} characters",
            hard=True,
        )
    return value


# ---------------------------------------------------------------- the pass


class LastPass:
    """The pass over a finished run's translations (see the module docstring)."""

    def __init__(
        self,
        ask: Callable[..., tuple[Any, Usage]],
        film: FilmText,
        journal: JournalLike,
        base_key: str,
        *,
        punctuate: Callable[[str], str],
        warn: Callable[[str], None],
        progress: Callable[[str, int, int], None],
    ) -> None:
        self.ask, self.film, self.journal, self.base_key = ask, film, journal, base_key
        self.punctuate, self.warn, self.progress = punctuate, warn, progress

    def run(self, result: EngineRunResult) -> None:
        self.mend_leftovers(result)
        if self.film.budgets:
            self.shorten(result)

    def _asked(self, key: dict[str, Any], result: EngineRunResult, **request: Any) -> Any:
        """The journaled answer under ``key``, else ``ask(**request)``'s, journaled (None:
        rejected twice)."""
        k = stable_hash({"run": self.base_key, "pass": LAST_PASS_VERSION, **key})
        if k in self.journal.entries:  # written below, by json.dumps
            return json.loads(self.journal.entries[k])
        answer, usage = self.ask(**request)
        result.usage.add(usage)
        self.journal.append([(k, json.dumps(answer, ensure_ascii=False))])
        return answer

    def mend_leftovers(self, result: EngineRunResult) -> None:
        """Each line that leaves words in the source's language, asked phrase by phrase."""
        film, lang = self.film, self.film.target_lang
        todo = []
        for i in sorted(result.translations):
            phrases = leftovers(film.texts[i], result.translations[i], lang, film.glossary)
            if phrases:
                todo.append((i, phrases))
        for k, (i, phrases) in enumerate(todo):
            source, text = film.texts[i], result.translations[i]
            answers = self._asked(
                {"leftovers": [source, text]},
                result,
                messages=leftover_messages(source, text, phrases, film.source_lang, lang),
                schema=answer_schema(phrases),
                max_tokens=sum(12 + 2 * len(w) for w in phrases) + 24,
                check=lambda reply, p=phrases, s=source: check_answer(reply, p, s, lang),
                what=f"translation of {', '.join(map(repr, phrases))}",
            )
            if isinstance(answers, dict) and sorted(answers) == sorted(phrases):
                result.translations[i] = self.punctuate(replace_leftovers(text, answers, lang))
                result.usage.leftovers += 1
                said = ", ".join(f"{w!r} as {a}" for w, a in answers.items())
                self.warn(f"line {i + 1}: {said} (asked again after the batches)")
            self.progress("leftovers", k + 1, len(todo))

    def shorten(self, result: EngineRunResult) -> None:
        """Each line still over its budget, rewritten shorter target side."""
        film, lang = self.film, self.film.target_lang
        budgets = film.budgets or []
        todo = [
            i
            for i in sorted(result.translations)
            if over_budget(result.translations[i], budgets[i], lang)
        ]
        for k, i in enumerate(todo):
            source, text, budget = film.texts[i], result.translations[i], budgets[i]
            limit = shorten_limit(text, budget)
            short = self._asked(
                {"shorten": [source, text, limit]},
                result,
                messages=shorten_messages(source, text, limit, film.source_lang, lang),
                schema=SHORTEN_SCHEMA,
                max_tokens=24 + 2 * limit,
                check=lambda reply, s=source, b=budget, n=limit: check_shortened(
                    reply, s, b, n, lang, self.punctuate
                ),
                what=f"rewrite of line {i + 1} in {limit} characters",
            )
            if isinstance(short, str) and short:
                result.translations[i] = short
                result.usage.shortened += 1
                self.warn(f"line {i + 1} shortened after the batches: {text!r} → {short!r}")
            self.progress("shortening", k + 1, len(todo))
