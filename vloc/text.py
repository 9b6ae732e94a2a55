"""Plain text of subtitle cues, language codes and CJK characters: the one home of the patterns
that indexing, translation, summarization, tokenization and scoring share. Imports no torch.

Where two helpers differ, they differ on purpose, because a shipped model or index was made
with one of them and must keep reading what it was made with:

* :func:`plain_text` (tags removed, every whitespace run one space) is what a cue's text is
  indexed, searched, shown and translated as; :func:`transcript_text` joins the same pieces
  without a space between two CJK characters (:func:`join_texts`), because the summarizer's
  transcripts were written that way — Chinese and Japanese put no spaces between words, and
  a space would become a token the summarizer never saw;
* :data:`CJK_PATTERN` (Han, kana, CJK symbols and punctuation, full-width forms) is what the
  tokenizers split into single characters before BPE — the shipped tokenizers carry this
  exact pattern — and what the transcript joining glues; Hangul is not in it (Korean is
  written with spaces). :data:`CJK_LETTERS` (Han, kana, Hangul; no punctuation) is what the
  metrics score character by character; punctuation is dropped from scoring anyway;
* :data:`LANG_CODE` accepts two- or three-letter codes with an optional subtag (``en``,
  ``zho``, ``zh-Hans``, ``pt_BR``); :func:`vloc.coverage.language_tag` takes only the
  two-letter ones from file names (see there).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

TAGS = re.compile(r"<[^>]*>|\{\\[^}]*\}")  # HTML-style tags and ASS override blocks
LANG_CODE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$")  # "en", "zh-Hans", "pt_BR"
# Han (incl. ext. A and compatibility), kana, CJK symbols/punctuation, full-width forms
CJK_PATTERN = r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]"
# Han (incl. ext. A and compatibility), kana, Hangul syllables: the letters of a character class
CJK_LETTERS = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
_CJK = re.compile(CJK_PATTERN)
# Latin letters with their accented forms (Latin-1 letters, Latin Extended-A and -B; not × ÷):
# a class's inside, so that "Müncheberg" or "café" is one word and not "M", "ncheberg"
LATIN_LETTERS = r"A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
LATIN_WORD = re.compile(f"[{LATIN_LETTERS}]+")
# terminal escape sequences, removed whole: CSI ("ESC [ 2 J", colours, cursor moves) and
# terminated OSC ("ESC ] 8 ; ; url BEL": titles, hyperlinks), 7-bit and C1 forms
_ESCAPE_SEQUENCES = re.compile(
    "(?:\x1b\\[|\x9b)[0-?]*[ -/]*[@-~]|(?:\x1b\\]|\x9d)[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\\\|\x9c)"
)
# C0 controls but tab and newline (ESC, BEL, NUL, CR, form feed ...), DEL and C1 controls,
# and lone surrogates (not text: no UTF-8 encoder writes them)
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATES = re.compile("[\ud800-\udfff]")


def strip_tags(text: str) -> str:
    """``text`` without HTML-style tags (``<i>``) and ASS override blocks (``{\\an8}``)."""
    return TAGS.sub("", text)


def without_controls(text: str) -> str:
    """``text`` as it may be written to a file: CR and CRLF become ``\\n``; terminal escape
    sequences (CSI such as ``ESC [2J``, OSC such as a title or a hyperlink) are removed whole,
    then every other control character (ESC, BEL, NUL, form feed, DEL, C1 codes); a lone
    surrogate becomes U+FFFD. Tabs, newlines and bidi marks stay: they are text."""
    text = _ESCAPE_SEQUENCES.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _SURROGATES.sub("\ufffd", _CONTROLS.sub("", text))


def plain_text(text: str) -> str:
    """Cue text as indexed, shown and translated: tags removed, lines joined by spaces."""
    return " ".join(strip_tags(text).split())


def join_texts(parts: Sequence[str]) -> str:
    """Join pieces of a transcript: with a space, except between two CJK characters (Chinese and
    Japanese are written without spaces, and the transcripts a model was trained on have none
    there: a space would become an extra token the model never saw). Empty pieces are
    skipped."""
    out = ""
    for p in parts:
        if not p:
            continue
        glue = "" if out and _CJK.match(out[-1]) and _CJK.match(p[0]) else " "
        out = p if not out else out + glue + p
    return out


def transcript_text(text: str) -> str:
    """Cue text as a piece of a transcript: tags removed, lines joined by :func:`join_texts`."""
    return join_texts(strip_tags(text).split())


def language_base(code: str) -> str:
    """The primary language of a code, lower-cased: ``zh-Hans`` → ``zh``, ``pt_BR`` → ``pt``."""
    return re.split(r"[-_]", code.strip().lower(), maxsplit=1)[0]


def written_without_spaces(lang: str) -> bool:
    """Chinese and Japanese: no space between words (a line breaks between any two words)."""
    return language_base(lang) in ("zh", "ja")


# Chinese subtitle punctuation: subtitles carry no full stops or commas — a clause break inside
# a cue is a space and a cue's end is bare (the convention of professionally made Chinese
# subtitles, which the TopicVD references follow: 0 of their 10,429 cues hold a 。, 7 a ，).
# Question and exclamation marks, enumeration commas (、), colons, quotes and ellipses stay.
_ZH_BREAK = re.compile(r"\s*(?:[。，]|(?<!\d)[.,]|[.,](?!\d))\s*")  # not inside 1,000 / 3.5
_ZH_END = re.compile(r"[\s。，.,]+$")
SUBTITLE_PUNCTUATION = ("subtitle", "keep")  # how engine output is punctuated


def subtitle_punctuation(text: str, lang: str) -> str:
    """``text`` in the subtitle punctuation of ``lang``: for Chinese, 。 and ， (and ASCII ``.``
    and ``,`` that do not sit inside a number such as 1,000 or 3.5) become one space, none
    ends the cue; ``…`` is kept. Other languages are returned unchanged."""
    if language_base(lang) != "zh":
        return text
    keep = text.replace("...", "…")
    out = _ZH_END.sub("", _ZH_BREAK.sub(" ", _ZH_END.sub("", keep)))
    return " ".join(out.split()) or text.strip()
