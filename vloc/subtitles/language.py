"""Which language a subtitle file is in, when the user does not say: the tag of its name
(``film.en.srt``), else a guess from its script."""

from __future__ import annotations

import re
from pathlib import Path

from vloc.text import CJK_LETTERS

_LANG_TAG = re.compile(r"\.([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?)$")
_CJK = re.compile(f"[{CJK_LETTERS}]")
CJK_SHARE = 0.3  # a film whose letters are at least this share CJK is taken for Chinese


def source_language(subtitles: Path, texts: list[str], given: str | None) -> str:
    """``given``, else the language tag of ``film.en.srt``, else a guess from the script."""
    if given:
        return given
    m = _LANG_TAG.search(subtitles.stem)
    if m:
        return m.group(1)
    letters = "".join(ch for t in texts for ch in t if ch.isalpha())
    cjk = len(_CJK.findall(letters))
    return "zh" if letters and cjk / len(letters) >= CJK_SHARE else "en"
