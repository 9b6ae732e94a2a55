"""How much text a cue can hold, and whether a translation keeps to it.

A cue's budget is what a viewer can read in the time it is shown, capped by what fits on the
screen::

    chars = min(floor(duration_s × cps), lines × chars_per_line)

with the reading speed, lines and characters per line of the target language's style. An
engine's prompt carries each cue's budget (:meth:`Budget.prompt`); a reply is over budget
(:func:`over_budget`) when its characters exceed the budget, or when, broken into lines
(:func:`vloc.style.linebreak.break_lines`), it needs more lines or a longer line than the
style allows. An over-budget reply is asked to condense (up to
:data:`~vloc.engines.replies.CONDENSE_ROUNDS` times), then kept and counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vloc.style.linebreak import break_lines, fits
from vloc.style.measure import cue_chars
from vloc.style.profiles import LanguageStyle, StyleProfile
from vloc.text import strip_tags


@dataclass(frozen=True)
class Budget:
    """The characters one cue can hold in its target language."""

    chars: int  # the budget: min(reading-speed characters, lines × chars_per_line), >= 1
    by_speed: int  # floor(duration_s × cps): what can be read in the cue's time
    by_lines: int  # lines × chars_per_line: what fits on the screen
    duration_ms: int  # the cue's display time
    style: LanguageStyle  # the limits it came from

    def describe(self) -> str:
        """``18 characters (2.0 s at 9 characters/s; 2 lines of 16)``."""
        s = self.style
        return (
            f"{self.chars} characters ({self.duration_ms / 1000:.1f} s at {s.cps:g} "
            f"characters/s; {s.lines} line{'s' if s.lines > 1 else ''} of {s.chars_per_line})"
        )

    def prompt(self) -> str:
        """The line a prompt carries for this cue: ``at most 18 characters``."""
        return f"at most {self.chars} characters"


def cue_budget(start_ms: int, end_ms: int, style: LanguageStyle) -> Budget:
    """The budget of a cue shown over ``[start_ms, end_ms)`` (at least one character)."""
    duration = max(0, end_ms - start_ms)
    by_speed = math.floor(duration / 1000.0 * style.cps + 1e-9)
    by_lines = style.lines * style.chars_per_line
    return Budget(max(1, min(by_speed, by_lines)), by_speed, by_lines, duration, style)


def budgets(spans_ms: list[tuple[int, int]], lang: str, profile: StyleProfile) -> list[Budget]:
    """One budget per cue ``(start_ms, end_ms)`` for ``lang`` under ``profile``."""
    style = profile.for_language(lang)
    return [cue_budget(a, b, style) for a, b in spans_ms]


def over_budget(text: str, budget: Budget, lang: str) -> str | None:
    """Why ``text`` (a translation of one cue, plain or already broken) is over ``budget``,
    as a sentence for a re-ask; None when it keeps to it. Empty text is never over."""
    style = budget.style
    if not strip_tags(text).strip():
        return None
    chars = cue_chars(text, style)
    if chars > budget.chars:
        return f"{chars} characters where the cue holds {budget.describe()}"
    lines = break_lines(text, lang, style)
    if not fits(lines, style):
        return (
            f"does not fit {style.lines} line{'s' if style.lines > 1 else ''} of "
            f"{style.chars_per_line} characters"
        )
    return None


def limit_shares(texts: list[str], cue_budgets: list[Budget], lang: str) -> dict[str, float]:
    """Shares of ``texts`` (one per cue, as shown or as one line) over their budgets: in all
    (:func:`over_budget`), over the reading speed (characters above ``by_speed``), and not
    fitting the style's lines when broken (:func:`break_lines`); empty texts count as within.
    The same measure for a human reference and an engine's output, whatever their line breaks."""
    n = len(texts)
    over = speed = lines = 0
    for text, b in zip(texts, cue_budgets, strict=True):
        if not strip_tags(text).strip():
            continue
        over += over_budget(text, b, lang) is not None
        speed += cue_chars(text, b.style) > b.by_speed
        lines += not fits(break_lines(text, lang, b.style), b.style)
    share = (lambda k: round(k / n, 4)) if n else (lambda k: 0.0)
    return {
        "cues": n,
        "over_budget": share(over),
        "reading_speed": share(speed),
        "lines": share(lines),
    }
