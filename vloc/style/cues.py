"""A cue's text on the way in and out of translation: styling, output names, the cue check.

The model reads a cue's text without tags; a translation is re-wrapped in ``<i>…</i>`` when
the whole source cue was italic (every line), and gets the source's leading ASS override
block (``{\\an8}`` etc.) back; tags inside a line cannot be placed in a translation and are
dropped. :func:`check_same_cues` is the last check before writing: the output has exactly the
input's cues — count, order, start and end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.errors import VlocError
from vloc.style.readability import break_text
from vloc.text import LANG_CODE, plain_text

if TYPE_CHECKING:
    from vloc.subtitles import Subtitles

_LEADING_OVERRIDE = re.compile(r"^\s*(\{\\[^}]*\})")  # "{\an8}" at the start of a cue
_ITALIC_LINE = re.compile(r"^\s*<i>(.*)</i>\s*$", re.IGNORECASE | re.DOTALL)


def default_output(subtitles: str | Path, to: str, fmt: str) -> Path:
    """``film.en.srt`` -> ``film.zh.srt``; ``film.srt`` -> ``film.zh.srt`` (beside the input)."""
    subtitles = Path(subtitles)
    stem = subtitles.stem
    base, dot, last = stem.rpartition(".")
    if dot and base and LANG_CODE.match(last):
        stem = base
    return subtitles.with_name(f"{stem}.{to}.{fmt}")


@dataclass(frozen=True)
class StyledText:
    prefix: str  # a leading ASS override block ("{\an8}") or ""
    italic: bool  # every line of the cue was wrapped in <i>…</i>
    plain: str  # the text the model reads: tags removed, lines joined by spaces
    body: str  # the source without its leading override block (bilingual output, under the
    # translation)


def split_style(text: str) -> StyledText:
    """Separate a cue's whole-cue styling from the text the model reads."""
    m = _LEADING_OVERRIDE.match(text)
    prefix = m.group(1) if m else ""
    body = text[m.end() :] if m else text
    lines = [line for line in body.split("\n") if line.strip()]
    italic = bool(lines) and all(_ITALIC_LINE.match(line) for line in lines)
    if not italic and _ITALIC_LINE.match(body.strip()):
        italic = True  # one <i> opened on the first line and closed on the last
    plain = plain_text(body)
    return StyledText(prefix, italic, plain, body.strip("\n"))


def render_cue(
    styled: StyledText, translation: str, lang: str, bilingual: bool, profile: Any = None
) -> tuple[str, str]:
    """(the output cue text, the translation as shown) for one cue. ``profile`` (a
    :class:`vloc.style.profiles.StyleProfile`, from ``--style``): lines broken to its limits by
    :func:`vloc.style.linebreak.break_text` (never inside a word); None: the built-in breaker
    (2 × 16 for Chinese, at punctuation), which keeps earlier outputs byte-identical."""
    if not styled.plain:
        return "", ""
    if profile is not None:
        from vloc.style.linebreak import break_text as break_to_profile

        shown, _ = break_to_profile(translation, lang, profile=profile)
    else:
        shown, _ = break_text(translation, lang)
    body = f"<i>{shown}</i>" if (styled.italic and shown) else shown
    if bilingual:  # target over source, the usual layout for Chinese audiences
        body = f"{body}\n{styled.body}" if body else styled.body
    return (styled.prefix + body) if body else "", shown


def check_same_cues(src: Subtitles, out: Subtitles, path: Path) -> None:
    """The output must have the input's cues: count, order and timing (never merged,
    dropped or invented)."""
    same = len(src.cues) == len(out.cues) and all(
        (a.index, a.start_ms, a.end_ms) == (b.index, b.start_ms, b.end_ms)
        for a, b in zip(src.cues, out.cues, strict=True)
    )
    if not same:
        raise VlocError(
            f"internal error: the translation has {len(out.cues)} cues or different timing "
            f"for {len(src.cues)} input cues; nothing was written",
            path=path,
        )
