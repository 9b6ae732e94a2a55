"""Quality control of a subtitle file against a style profile, cue by cue (``vloc check``).

Every rule of :data:`vloc.style.profiles.RULES` is checked on every cue, at the level the
profile gives it (``error``, ``warning``; ``off`` rules are not checked):

* ``chars_per_line``: a shown line (tags removed) longer than the language's limit;
* ``lines``: more shown lines than the limit;
* ``reading_speed``: characters of all lines over the display time (s) above the limit;
* ``min_duration`` / ``max_duration``: display time outside the profile's bounds;
* ``overlap``: the cue starts before the previous cue (in file order) ends;
* ``min_gap``: it starts less than the minimum gap (frames at the video's frame rate, else the
  profile's) after the previous cue ends;
* ``empty``: no text to show;
* ``untranslated``: the same text as the source cue at the same time (``source`` given), or,
  in a language of another script than the source's, common words of the source cue left in
  it (``进行 briefing``; :func:`vloc.style.scripts.source_words_left`);
* ``wrong_script``: most letters in another script than the language's, or, for a
  ``zh-Hans``/``zh-Hant`` target, in the other Chinese script;
* ``shot_change``: a shot change (``cuts_ms``: :func:`vloc.style.scenes.shot_changes`) inside the
  cue, farther than the profile's shot margin from its start and end.

It runs on any subtitle file the reader takes, a human reference as well as vloc's output, so
both can be held to the same profile. Counting follows :mod:`vloc.style.measure`.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vloc.errors import InputError
from vloc.style.measure import cue_chars, display_lines, line_chars, reading_speed
from vloc.style.profiles import RULES, StyleProfile
from vloc.style.scripts import (
    chinese_target,
    chinese_variant,
    guess_language,
    source_words_left,
    written_in,
)
from vloc.subtitles import Cue
from vloc.text import LANG_CODE, plain_text

LIMIT_RULES = ("chars_per_line", "lines", "reading_speed")  # "over the profile's limits"
UNDETERMINED = "und"  # the language of a file whose name and letters do not tell it
_CPS_SLACK = 1e-9


@dataclass(frozen=True)
class Finding:
    """One rule one cue breaks."""

    rule: str  # a name of RULES
    level: str  # "error" | "warning"
    detail: str  # what was measured against what, e.g. "21 characters on line 1 (limit 16)"


@dataclass(frozen=True)
class FlaggedCue:
    """A cue that breaks at least one rule."""

    cue: int  # the cue's number: 1-based position in the file
    start_ms: int
    end_ms: int
    text: str
    findings: tuple[Finding, ...]

    @property
    def rules(self) -> list[str]:
        return [f.rule for f in self.findings]

    def to_json(self) -> dict[str, Any]:
        return {
            "cue": self.cue,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "text": self.text,
            "rules": self.rules,
            "levels": {f.rule: f.level for f in self.findings},
            "details": {f.rule: f.detail for f in self.findings},
        }


@dataclass
class CheckReport:
    """The QC report of one file."""

    path: str | None
    lang: str  # the language the file was checked as ("zh", "en" ...; "und": undetermined,
    # checked with the profile's default limits and no script rule)
    profile: StyleProfile
    cues: int
    flagged: list[FlaggedCue]
    checked_rules: list[str]  # rules not "off" (shot_change only with a video, untranslated
    # only with a source)
    shot_changes: int | None = None  # shot changes found in the video (None: no video)
    warnings: list[str] = field(default_factory=list)

    def count(self, rule: str) -> int:
        return sum(rule in f.rules for f in self.flagged)

    @property
    def errors(self) -> int:
        """Cues that break at least one error-level rule."""
        return sum(any(x.level == "error" for x in f.findings) for f in self.flagged)

    @property
    def over_limits(self) -> int:
        """Cues over the language's characters per line, lines or reading speed."""
        return sum(any(r in LIMIT_RULES for r in f.rules) for f in self.flagged)

    def share(self, n: int) -> float:
        return n / self.cues if self.cues else 0.0

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per checked rule: its level, the cues that break it and their share of the file."""
        return {
            r: {
                "level": self.profile.level(r),
                "cues": self.count(r),
                "share": round(self.share(self.count(r)), 4),
            }
            for r in self.checked_rules
        }

    def to_json(self, *, max_flagged: int | None = None) -> dict[str, Any]:
        style = self.profile.for_language(self.lang)
        flagged = self.flagged if max_flagged is None else self.flagged[:max_flagged]
        return {
            "file": self.path,
            "lang": self.lang,
            "profile": self.profile.name,
            "limits": {**style.__dict__, **self.profile.timing.__dict__},
            "cues": self.cues,
            "flagged_cues": len(self.flagged),
            "error_cues": self.errors,
            "over_limits": self.over_limits,
            "over_limits_share": round(self.share(self.over_limits), 4),
            "shot_changes": self.shot_changes,
            "summary": self.summary(),
            "flagged": [f.to_json() for f in flagged],
        }


def file_language(path: str | Path | None, texts: Sequence[str]) -> str | None:
    """The language of a subtitle file: the tag before its extension (``film.zh-TW.srt``),
    else ``zh``/``ja``/``ko`` from its letters; None when neither tells (alphabetic text)."""
    if path is not None:
        suffixes = Path(path).suffixes
        if len(suffixes) >= 2:
            tag = suffixes[-2].lstrip(".")
            if LANG_CODE.match(tag) and tag.lower() not in ("srt", "vtt", "ass", "ssa"):
                return tag
    return guess_language(texts)


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", plain_text(text)).strip().casefold()


def _adder(
    found: list[Finding], active: set[str], levels: dict[str, str]
) -> Callable[[str, str], None]:
    def add(rule: str, detail: str) -> None:
        if rule in active:
            found.append(Finding(rule, levels[rule], detail))

    return add


def check_cues(
    cues: Sequence[Cue],
    lang: str,
    profile: StyleProfile,
    *,
    source: Sequence[Cue] | None = None,
    cuts_ms: Sequence[int] | None = None,
    fps: float | None = None,
    path: str | None = None,
) -> CheckReport:
    """Check ``cues`` (file order) written in ``lang`` against ``profile``.

    ``source``: the cues they translate (``untranslated`` compares each cue with the source cue
    of the same start and end, else, when both files have as many cues, the same position).
    ``cuts_ms``: the video's shot changes (``shot_change``); ``fps``: its frame rate, for the
    frame counts of the gap and shot margin (default: the profile's ``frame_rate``).
    """
    style = profile.for_language(lang)
    timing = profile.timing
    levels = {r: profile.level(r) for r in RULES}
    checked = [r for r in RULES if levels[r] != "off"]
    if source is None:
        checked = [r for r in checked if r != "untranslated"]
    if cuts_ms is None:
        checked = [r for r in checked if r != "shot_change"]
    active = set(checked)
    gap_ms = timing.frames_ms(timing.min_gap_frames, fps)
    margin_ms = timing.frames_ms(timing.shot_margin_frames, fps)
    by_time: dict[tuple[int, int], str] = {}
    by_position: list[str] | None = None
    if source is not None:
        by_time = {(c.start_ms, c.end_ms): c.text for c in source}
        by_position = [c.text for c in source] if len(source) == len(cues) else None
    cuts = sorted(cuts_ms or ())
    variant = chinese_target(lang)
    flagged: list[FlaggedCue] = []
    prev_end: int | None = None
    for pos, c in enumerate(cues):
        found: list[Finding] = []
        add = _adder(found, active, levels)

        duration = c.end_ms - c.start_ms
        shown = display_lines(c.text)
        if not shown:
            add("empty", "no text")
        else:
            long = [
                (i, n)
                for i, x in enumerate(shown, 1)
                if (n := line_chars(x, style)) > style.chars_per_line
            ]
            if long:
                i, n = max(long, key=lambda t: t[1])
                add("chars_per_line", f"{n} characters on line {i} (limit {style.chars_per_line})")
            if len(shown) > style.lines:
                add("lines", f"{len(shown)} lines (limit {style.lines})")
            chars = cue_chars(c.text, style)
            cps = reading_speed(chars, c.start_ms, c.end_ms)
            if cps > style.cps + _CPS_SLACK:
                shown_cps = "no display time" if math.isinf(cps) else f"{cps:.1f} characters/s"
                add(
                    "reading_speed",
                    f"{shown_cps}: {chars} characters in {duration} ms (limit {style.cps:g}/s)",
                )
            text = " ".join(shown)
            ok = written_in(text, lang)
            if ok is False:
                add("wrong_script", f"not written in {lang}'s script")
            elif variant is not None:
                got = chinese_variant(text)
                if got is not None and got != variant:
                    name = {"hans": "Simplified", "hant": "Traditional"}
                    add("wrong_script", f"{name[got]} Chinese where {lang} is {name[variant]}")
            if source is not None:
                src = by_time.get((c.start_ms, c.end_ms))
                if src is None and by_position is not None:
                    src = by_position[pos]
                if src is not None and any(ch.isalpha() for ch in text):
                    if _normal(src) == _normal(c.text):
                        add("untranslated", "the same text as the source cue")
                    elif left := source_words_left(plain_text(src), text, lang, forms=True):
                        words = ", ".join(repr(w) for w in left)
                        add("untranslated", f"leaves {words} in the source's language")
        if duration < timing.min_duration_ms:
            add("min_duration", f"{duration} ms (minimum {timing.min_duration_ms})")
        if duration > timing.max_duration_ms:
            add("max_duration", f"{duration} ms (maximum {timing.max_duration_ms})")
        if prev_end is not None:
            if c.start_ms < prev_end:
                add("overlap", f"starts {prev_end - c.start_ms} ms before the previous cue ends")
            elif c.start_ms - prev_end < gap_ms:
                add(
                    "min_gap",
                    f"{c.start_ms - prev_end} ms after the previous cue (minimum {gap_ms})",
                )
        if cuts and duration > 2 * margin_ms:
            i = bisect.bisect_right(cuts, c.start_ms + margin_ms)
            if i < len(cuts) and cuts[i] < c.end_ms - margin_ms:
                add("shot_change", f"shot change at {cuts[i]} ms")
        prev_end = c.end_ms if prev_end is None else max(prev_end, c.end_ms)
        if found:
            flagged.append(FlaggedCue(pos + 1, c.start_ms, c.end_ms, c.text, tuple(found)))
    return CheckReport(
        path=path,
        lang=lang,
        profile=profile,
        cues=len(cues),
        flagged=flagged,
        checked_rules=checked,
        shot_changes=None if cuts_ms is None else len(cuts),
    )


def check_file(
    subs: str | Path,
    *,
    lang: str | None = None,
    profile: StyleProfile | str | Path | None = None,
    source: str | Path | None = None,
    video: str | Path | None = None,
    encoding: str | None = None,
    workdir: str | Path | None = None,
    notify: Callable[[str], None] | None = None,
) -> CheckReport:
    """Check the subtitle file ``subs`` (SRT/WebVTT) against ``profile`` (a shipped name, a
    TOML file or a :class:`StyleProfile`; default ``default``).

    ``lang``: default from the file name (``film.zh.srt``) or its letters, else the profile's
    default entry. ``source``: the subtitles it translates (``untranslated``). ``video``: the
    film, for shot changes (ffmpeg scene detection, cached in its workspace).
    Raises :class:`~vloc.errors.InputError` naming the file for any bad input.
    """
    from vloc.style.profile_file import load_profile
    from vloc.subtitles import read_subtitles

    prof = load_profile(profile)
    subs_doc = read_subtitles(subs, encoding=encoding)
    src_doc = read_subtitles(source, encoding=encoding) if source is not None else None
    texts = [c.text for c in subs_doc.cues]
    if lang is not None and not LANG_CODE.match(lang):
        raise InputError(f"--lang {lang!r} is not a language tag (e.g. zh, zh-TW, en)")
    language = lang or file_language(subs, texts) or UNDETERMINED
    cuts: list[int] | None = None
    fps: float | None = None
    if video is not None:
        from vloc.style.scenes import shot_changes

        cuts, fps = shot_changes(video, workdir=workdir, notify=notify)
    report = check_cues(
        subs_doc.cues,
        language,
        prof,
        source=None if src_doc is None else src_doc.cues,
        cuts_ms=cuts,
        fps=fps,
        path=str(subs),
    )
    report.warnings = list(subs_doc.warnings)
    if language == UNDETERMINED:
        report.warnings.append(
            f"{subs}: language not named (film.<lang>.srt or --lang) and not told by its "
            "letters: checked with the profile's default limits, without the script rule"
        )
    if src_doc is not None:
        times = {(c.start_ms, c.end_ms) for c in src_doc.cues}
        matched = sum((c.start_ms, c.end_ms) in times for c in subs_doc.cues)
        if matched < len(subs_doc.cues) and len(src_doc.cues) != len(subs_doc.cues):
            report.warnings.append(
                f"{source}: {len(src_doc.cues)} cues for {len(subs_doc.cues)}, "
                f"{matched} at the same times: only those were checked for untranslated text"
            )
    return report
