"""The last pass over a film: source words a translation still leaves untranslated.

A small chat model asked for a whole batch sometimes copies a common word of the source into
a translation of another script (``他们召集所有飞行员进行 briefing``) and keeps it when
re-asked with the word named (:func:`vloc.engines.replies.untranslated_words`) — and in a
Chinese subtitle every letter of ``reinforcements`` counts against the cue's budget. After the
batch loop, each such line is asked once more, alone and phrase by phrase: "which {target}
words replace 1: 'briefing somehow' in this translation?" (:func:`leftover_messages`; the
schema allows no Latin letter in an answer); the checked answers (:func:`check_answer`)
replace the phrases in the line (:func:`replace_leftovers`). A line not written in the
target's script at all is one leftover: the whole line.

Nothing else of the translation changes, so a line whose answer is rejected keeps its reply as
it was (with the warning of its batch). The requests are journaled beside the batches, under a
key over the line, its translation and :data:`LEFTOVERS_VERSION`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from vloc.engines.replies import ReplyError, json_object, untranslated_words, written_in
from vloc.glossary.file import GlossaryTerm
from vloc.text import CJK_LETTERS, written_without_spaces

LEFTOVERS_VERSION = 1  # bump when the prompt or the replacement rule changes
MAX_ANSWER_CHARS = 12  # a phrase's replacement: at most this many characters per word
_RUN = re.compile(r"[A-Za-z]+(?:[ '-]+[A-Za-z]+)*")  # "everybody else", "upside-down"
_NO_LATIN = "^[^A-Za-z]+$"  # an answer's pattern: not one letter of the source's script
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
    return list(dict.fromkeys(r for r in runs if words & set(re.findall(r"[a-z]+", r))))


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
    pattern = re.compile(rf"(\s?)(?<![A-Za-z]){re.escape(word)}(?![A-Za-z])(\s?)")

    def sub(m: re.Match[str]) -> str:
        before, after = m.group(1), m.group(2)
        if wordless:  # the spaces the model put around a foreign word go with it
            start, end = m.start(), m.end()
            if before and (start == 0 or _CJK.match(text[start - 1])):
                before = ""
            if after and (end >= len(text) or _CJK.match(text[end])):
                after = ""
        return before + value + after

    return pattern.sub(sub, text)
