"""Align a film's source and target subtitles by timing: the translation units of a
bilingual subtitle pair (``NAME.en.srt`` + ``NAME.zh.srt``).

Rules (one *unit* becomes one memory pair):

* A source cue and a target cue are *linked* when their times overlap by at least
  ``OVERLAP_SHARE`` of the shorter cue's duration: a cue re-timed by a few frames, or a
  40 ms bleed into the next cue, is not a link; a target cue that spans two source cues
  covers each of them and links to both. A zero-length (or reversed) cue counts as 1 ms
  at its start.
* The units are the connected groups of links: 1:1 is the common case; a target cue
  linked to two source cues (*n:1*) pairs with the two sources joined, a source cue linked
  to two target cues (*1:n*) with the targets joined, in time order and with one space.
* A group with more than ``MAX_GROUP_CUES`` cues on one side is a chain of overlaps, not a
  translation unit: it is dropped and counted (``dropped_groups``).
* A cue with no link (a source line left untranslated, a translator's note, a cue present in
  only one cut) is dropped and counted (``unaligned_source`` / ``unaligned_target``). Cues
  with no text are ignored.
* Two files whose timings never link at all are not the same film's subtitles (or one is
  shifted): :class:`~vloc.errors.InputError` naming both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vloc.errors import InputError
from vloc.memory.text import clean_text
from vloc.subtitles import Cue

OVERLAP_SHARE = 0.5  # a link: overlap >= this share of the shorter cue's duration
MAX_GROUP_CUES = 4  # more cues than this on one side of a group: not a unit, dropped
LOW_COVERAGE = 0.5  # under this share of the source cues aligned: warn (another cut?)


@dataclass(frozen=True)
class Unit:
    """One aligned unit: the positions (0-based, in file order) of its cues on each side."""

    source: tuple[int, ...]  # source cue positions, in time order
    target: tuple[int, ...]  # target cue positions, in time order


@dataclass(frozen=True)
class Alignment:
    """The units of a subtitle pair and what could not be aligned."""

    units: tuple[Unit, ...]  # in source time order
    unaligned_source: int  # source cues with text and no link (dropped)
    unaligned_target: int  # target cues with text and no link (dropped)
    dropped_groups: int  # groups over MAX_GROUP_CUES cues on a side (dropped)
    joined: int  # units of more than one cue on a side (n:1, 1:n)
    source_cues: int  # source cues with text


def _span(cue: Cue) -> tuple[int, int]:
    return cue.start_ms, max(cue.end_ms, cue.start_ms + 1)


def _links(src: list[tuple[int, int]], tgt: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(source, target) positions whose spans overlap by OVERLAP_SHARE of the shorter one;
    a sweep over both sides sorted by start, so long files cost O(n log n + links)."""
    by_start = sorted(range(len(tgt)), key=lambda j: tgt[j])
    links: list[tuple[int, int]] = []
    active: list[int] = []  # targets that started before the current source's end
    k = 0
    for i in sorted(range(len(src)), key=lambda i: src[i]):
        s, e = src[i]
        while k < len(by_start) and tgt[by_start[k]][0] < e:
            active.append(by_start[k])
            k += 1
        active = [j for j in active if tgt[j][1] > s]  # later sources start no earlier
        for j in active:
            ts, te = tgt[j]
            overlap = min(e, te) - max(s, ts)
            if overlap > 0 and overlap >= OVERLAP_SHARE * min(e - s, te - ts):
                links.append((i, j))
    return links


def align_cues(
    source: Sequence[Cue],
    target: Sequence[Cue],
    *,
    source_path: str | Path | None = None,
    target_path: str | Path | None = None,
) -> Alignment:
    """Align two cue lists by timing (module docstring). The paths only name the files in
    the error raised when no cue links at all."""
    src = [i for i, c in enumerate(source) if clean_text(c.text)]
    tgt = [j for j, c in enumerate(target) if clean_text(c.text)]
    links = _links([_span(source[i]) for i in src], [_span(target[j]) for j in tgt])
    if not links and src and tgt:
        raise InputError(
            f"the timings of the source ({_range(source, src)}) and of {target_path or 'the target'} "
            f"({_range(target, tgt)}) never overlap: they are not subtitles of the same cut of "
            "the film, or one is shifted (re-time it, or leave this pair out of the memory)",
            path=source_path,
        )
    parent = list(range(len(src) + len(tgt)))  # union-find over sources, then targets

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in links:
        parent[root(i)] = root(len(src) + j)
    groups: dict[int, tuple[list[int], list[int]]] = {}
    for i, _ in enumerate(src):
        groups.setdefault(root(i), ([], []))[0].append(i)
    for j, _ in enumerate(tgt):
        groups.setdefault(root(len(src) + j), ([], []))[1].append(j)
    units: list[Unit] = []
    lone_src = lone_tgt = dropped = joined = 0
    for s_side, t_side in groups.values():
        if not t_side:
            lone_src += len(s_side)
        elif not s_side:
            lone_tgt += len(t_side)
        elif max(len(s_side), len(t_side)) > MAX_GROUP_CUES:
            dropped += 1
        else:
            joined += max(len(s_side), len(t_side)) > 1
            units.append(
                Unit(
                    tuple(sorted((src[i] for i in s_side), key=lambda p: _span(source[p]))),
                    tuple(sorted((tgt[j] for j in t_side), key=lambda p: _span(target[p]))),
                )
            )
    units.sort(key=lambda u: _span(source[u.source[0]]))
    return Alignment(tuple(units), lone_src, lone_tgt, dropped, joined, len(src))


def unit_text(cues: Sequence[Cue], positions: Sequence[int]) -> str:
    """The text of one side of a unit: its cues' plain texts joined by one space."""
    return " ".join(t for p in positions if (t := clean_text(cues[p].text)))


def unit_label(cues: Sequence[Cue], positions: Sequence[int]) -> str:
    """Where a unit sits in its file: the cue numbers, ``12`` or ``12+13``."""
    return "+".join(str(cues[p].index) for p in positions)


def coverage_warning(alignment: Alignment, source_path: str | Path) -> str | None:
    """A warning when less than ``LOW_COVERAGE`` of the source cues aligned, else None."""
    if not alignment.source_cues:
        return None
    aligned = sum(len(u.source) for u in alignment.units)
    share = aligned / alignment.source_cues
    if share >= LOW_COVERAGE:
        return None
    return (
        f"{source_path}: only {share:.0%} of its cues align with the translation's "
        "(another cut of the film, or a shifted file?)"
    )


def _range(cues: Sequence[Cue], positions: Sequence[int]) -> str:
    from vloc.subtitles import format_timestamp

    start = min(cues[p].start_ms for p in positions)
    end = max(cues[p].end_ms for p in positions)
    return f"{format_timestamp(start)} to {format_timestamp(end)}"
