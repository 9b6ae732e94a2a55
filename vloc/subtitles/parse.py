"""Parsing SRT and WebVTT text into :class:`~vloc.subtitles.cues.Subtitles`
(:func:`parse_subtitles`) and reading a file (:func:`read_subtitles`): timing lines found by
shape, then parsed strictly (rules in :mod:`vloc.subtitles`).
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

from vloc.errors import SubtitleError
from vloc.fileio import read_bytes_limited
from vloc.guard import note_read
from vloc.subtitles.cues import _SIGNS, ASS_FORMATS, FORMATS, Cue, Subtitles, parse_timestamp
from vloc.subtitles.encodings import decode_subtitle_bytes

MAX_SUBTITLE_BYTES = 64 << 20  # 64 MiB: a 3-hour film has ~200 KB of subtitles; bigger is not one
WHAT = "subtitle file"  # what errors call the file read
MAX_WARNINGS_PER_KIND = 10  # per-cue timing warnings listed before summarising the rest
_TIME_PUNCTUATION = ":.,;" + _SIGNS  # what sits between and around the digits of a timestamp


# two timestamps on a line with no '-->' between them ("00:00:01,000 -> 00:00:02,000")
_MISSING_ARROW_RE = re.compile(
    r"\s*[-+\u2212]?\d+:\d{2}[:.,]\d+\S*\s*[-=~>–—]{0,3}\s*[-+\u2212]?\d+:\d{2}[:.,]\d+"
)
# one timestamp alone on its line, with hours or a fraction ("00:00:03,000", "00:03.000"),
# so that a clock time in dialogue ("12:30") never matches
_LONE_TIMESTAMP_RE = re.compile(
    r"\s*[-+\u2212]?(?:\d+:\d{1,2}:\d{1,2}(?:[.,]\d+)?|\d{1,2}:\d{1,2}[.,]\d+)\s*"
)
_NUMBER_RE = re.compile(r"\s*[0-9]+\s*")  # an SRT cue number (ASCII digits only)
# the form a timing line must have, per format, quoted in errors
_TIMING_FORMS = {
    "srt": "'hh:mm:ss,mmm --> hh:mm:ss,mmm'",
    "vtt": "'[hh:]mm:ss.mmm --> [hh:]mm:ss.mmm [settings]'",
}


def _looks_like_timing(line: str, fmt: str) -> bool:
    """Is this line meant as a ``start --> end`` line? (The rule is in :mod:`vloc.subtitles`.)"""
    if "-->" not in line:
        return False
    if fmt == "vtt":
        return True
    left, _, right = line.partition("-->")
    left = left.strip()
    if not left:
        return True
    if all(ch.isdecimal() or ch.isspace() or ch in _TIME_PUNCTUATION for ch in left):
        return any(ch.isdecimal() for ch in left)  # "00 : 00 : 01,000"
    if not all(ch.isalnum() or ch in _TIME_PUNCTUATION for ch in left):
        return False  # several words, or symbols no timestamp has: dialogue
    right_words = right.split(None, 1)
    has_digit = any(ch.isdecimal() for ch in left + (right_words[0] if right_words else ""))
    return has_digit and (":" in left or left[0].isdecimal() or left[0] in _SIGNS)


def reads_as_timing(line: str, fmt: str) -> bool:
    """Would :func:`parse_subtitles` take this line of a cue's text as a timing line, or
    refuse it as a malformed one? (What the writer must neutralise, :mod:`vloc.subtitles.write`.)
    """
    return _looks_like_timing(line, fmt) or _MISSING_ARROW_RE.match(line) is not None


def _parse_timing_line(line: str) -> tuple[int, int, str]:
    """``start --> end [settings]`` -> (start_ms, end_ms, settings). Raises SubtitleError."""
    left, _, right = line.partition("-->")
    parts = right.split(None, 1)
    if not left.strip() or not parts:
        raise SubtitleError(f"timing line {line.strip()!r} lacks a start or an end time")
    settings = parts[1].strip() if len(parts) > 1 else ""
    return parse_timestamp(left), parse_timestamp(parts[0]), settings


_VTT_SKIPPED_BLOCKS = ("NOTE", "STYLE", "REGION")


def _sniff_format(text: str, path: Path | None) -> str:
    if text.lstrip("\ufeff \t\n").startswith("WEBVTT"):
        return "vtt"
    suffix = path.suffix.lower().lstrip(".") if path is not None else ""
    return suffix if suffix in FORMATS else "srt"


def _vtt_block_word(lines: list[str], i: int, header: int) -> str:
    """``"WEBVTT"``, ``"NOTE"``, ``"STYLE"`` or ``"REGION"`` when line ``i`` starts such a
    block (the header only as the first non-blank line), else ``""``."""
    word = lines[i].split(None, 1)[0] if lines[i].strip() else ""
    if word == "WEBVTT" and i == header:
        return word
    at_block_start = i == 0 or not lines[i - 1].strip()
    return word if at_block_start and word in _VTT_SKIPPED_BLOCKS else ""


def _vtt_skipped_lines(lines: list[str]) -> list[bool]:
    """Mark the WEBVTT header block and NOTE/STYLE/REGION blocks (up to the next blank line,
    or up to a line with ``-->``, which is never skipped: it is read, and refused, as a
    timing line)."""
    skip = [False] * len(lines)
    header = next((i for i, line in enumerate(lines) if line.strip()), 0)
    i = 0
    while i < len(lines):  # every pass moves i forward by at least one line
        if _vtt_block_word(lines, i, header):
            j = i
            while j < len(lines) and lines[j].strip() and "-->" not in lines[j]:
                skip[j] = True
                j += 1
            i = max(j, i + 1)
        else:
            i += 1
    return skip


def _is_label(lines: list[str], j: int, skip: list[bool], fmt: str, lowest: int) -> bool:
    """Is line ``j`` (just before a timing line) the cue's number (SRT) or identifier (VTT)?"""
    if j < lowest or skip[j] or not lines[j].strip():
        return False
    if _NUMBER_RE.fullmatch(lines[j]):
        return True
    # A VTT identifier starts its block; a line right under another cue's text is that text.
    return fmt == "vtt" and (j == 0 or not lines[j - 1].strip() or skip[j - 1])


def parse_subtitles(
    text: str,
    *,
    path: str | Path | None = None,
    format: str | None = None,
    encoding: str = "utf-8",
) -> Subtitles:
    """Parse already-decoded SRT or WebVTT text (any of CRLF/CR/LF line ends).

    ``format`` defaults to the ``WEBVTT`` header, then ``path``'s extension, then SRT.
    ``encoding`` is only recorded in the result. Raises :class:`SubtitleError` with the
    1-based line number and the expected form for any line that looks like a timing line but
    does not parse (see :mod:`vloc.subtitles`), and when non-empty text has no cue at all.
    """
    path = Path(path) if path is not None else None
    text = text.replace("\r\n", "\n").replace("\r", "\n").removeprefix("\ufeff")
    fmt = format or _sniff_format(text, path)
    if fmt not in FORMATS:
        raise SubtitleError(f"unknown subtitle format {fmt!r}; valid: srt, vtt", path=path)
    where = f"{path}: " if path is not None else ""
    lines = text.split("\n")
    skip = _vtt_skipped_lines(lines) if fmt == "vtt" else [False] * len(lines)

    expected = _TIMING_FORMS[fmt]
    header = next((i for i, line in enumerate(lines) if line.strip()), 0)
    timing: list[int] = []  # line index of each cue's timing line
    spans: list[tuple[int, int, str]] = []  # (start_ms, end_ms, settings) per timing line
    for i, line in enumerate(lines):
        if skip[i]:
            continue
        # two times at the start of a line: a timing line, even when its '-->' is missing
        # ("00:00:01,000 -> 00:00:02,000") or has more than one time before it ("00:00:01,000
        # -> 00:00:02,000 --> x"): then parsing it names the part that is not a time
        two_times = _MISSING_ARROW_RE.match(line) is not None
        if _looks_like_timing(line, fmt) or (two_times and "-->" in line):
            if fmt == "vtt" and (block := _vtt_block_word(lines, i, header)):
                raise SubtitleError(
                    f"line {i + 1}: {line.strip()[:80]!r}: a {block} line cannot contain '-->' "
                    f"(WebVTT keeps '-->' for timing lines); expected {expected}",
                    path=path,
                )
            try:
                spans.append(_parse_timing_line(line))
            except SubtitleError as e:
                raise SubtitleError(f"line {i + 1}: {e}; expected {expected}", path=path) from None
            timing.append(i)
        elif two_times:
            raise SubtitleError(
                f"line {i + 1}: timing line without '-->': {line.strip()[:80]!r}; "
                f"expected {expected}",
                path=path,
            )
        elif (
            _LONE_TIMESTAMP_RE.fullmatch(line)
            and i > 0
            and _NUMBER_RE.fullmatch(lines[i - 1])
            and (i == 1 or not lines[i - 2].strip() or skip[i - 2])
        ):
            raise SubtitleError(
                f"line {i + 1}: timing line without '-->' and an end time: {line.strip()!r}; "
                f"expected {expected}",
                path=path,
            )

    warnings: list[str] = []
    if not timing:
        if any(line.strip() and not skip[i] for i, line in enumerate(lines)):
            raise SubtitleError(
                "no subtitle cues found (no 'hh:mm:ss,mmm --> hh:mm:ss,mmm' line); "
                "is this an SRT/WebVTT file?",
                path=path,
            )
        warnings.append(f"{where}no subtitle cues (empty file)")
        return Subtitles((), path, encoding, fmt, tuple(warnings))

    # label[k]: line index of cue k's number/identifier, or None
    labels: list[int | None] = []
    for k, t in enumerate(timing):
        lowest = timing[k - 1] + 1 if k else 0
        labels.append(t - 1 if _is_label(lines, t - 1, skip, fmt, lowest) else None)
    first = labels[0] if labels[0] is not None else timing[0]
    stray = [i + 1 for i in range(first) if lines[i].strip() and not skip[i]]
    if stray:
        warnings.append(f"{where}lines {stray[0]}-{stray[-1]} before the first cue ignored")

    cues: list[Cue] = []
    settings: dict[int, str] = {}
    identifiers: dict[int, str] = {}
    for k, t in enumerate(timing):
        start, end, cue_settings = spans[k]
        if k + 1 < len(timing):
            stop = labels[k + 1] if labels[k + 1] is not None else timing[k + 1]
        else:
            stop = len(lines)
        body = [lines[i] for i in range(t + 1, stop) if not skip[i]]
        blank = next((j for j, line in enumerate(body) if not line.strip()), len(body))
        extra = [line for line in body[blank:] if line.strip()]
        if extra:
            warnings.append(
                f"{where}cue {len(cues) + 1} (line {t + 1}): text continues after a blank line; "
                "kept in the cue"
            )
        label = lines[labels[k]].strip() if labels[k] is not None else ""
        index = int(label) if fmt == "srt" and label else len(cues) + 1
        if fmt == "vtt" and label:
            identifiers[len(cues)] = label
        if cue_settings:
            settings[len(cues)] = cue_settings
        cues.append(Cue(index, start, end, "\n".join(body[:blank] + extra)))

    warnings += _timing_warnings(cues, [t + 1 for t in timing], where)
    return Subtitles(tuple(cues), path, encoding, fmt, tuple(warnings), settings, identifiers)


def _timing_warnings(cues: list[Cue], line_numbers: list[int], where: str) -> list[str]:
    """Reversed, zero-length, unsorted and overlapping cues (kept as they are), summarised."""
    found: dict[str, list[str]] = {"reversed": [], "zero": [], "unsorted": [], "overlap": []}
    for k, cue in enumerate(cues):
        at = f"cue {cue.index} (line {line_numbers[k]})"
        if cue.end_ms < cue.start_ms:
            found["reversed"].append(f"{where}{at} ends before it starts")
        elif cue.end_ms == cue.start_ms:
            found["zero"].append(f"{where}{at} has zero length")
        if k:
            prev = cues[k - 1]
            if cue.start_ms < prev.start_ms:
                found["unsorted"].append(f"{where}{at} starts before the previous cue")
            elif cue.start_ms < prev.end_ms:
                found["overlap"].append(f"{where}{at} overlaps cue {prev.index}")
    if any(c.index != k + 1 for k, c in enumerate(cues)):
        found["unsorted"].append(f"{where}cue numbers are not 1..{len(cues)} in order")
    out: list[str] = []
    for items in found.values():
        out += items[:MAX_WARNINGS_PER_KIND]
        if len(items) > MAX_WARNINGS_PER_KIND:
            out.append(f"{where}... and {len(items) - MAX_WARNINGS_PER_KIND} more like the above")
    return out


def read_subtitles(path: str | Path, encoding: str | None = None) -> Subtitles:
    """Read an SRT or WebVTT file (format from ``.srt``/``.vtt``, else the ``WEBVTT`` header),
    or an ASS/SSA file (``.ass``/``.ssa``, through :mod:`vloc.subtitles.ass`).

    ``encoding`` overrides detection (see :func:`decode_subtitle_bytes`). Raises
    :class:`SubtitleError` naming the file for missing/unreadable files and bad content.
    """
    path = Path(path)
    note_read(path, "subtitles")
    data = read_bytes_limited(path, MAX_SUBTITLE_BYTES, what=WHAT, error=SubtitleError)
    text, codec = decode_subtitle_bytes(data, path=path, encoding=encoding)
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ASS_FORMATS:
        from vloc.subtitles.ass import parse_ass

        return parse_ass(text, path=path, fmt=suffix, encoding=codec)
    return parse_subtitles(text, path=path, encoding=codec)


def check_subtitle_file(path: str | Path) -> Path:
    """``path`` when it is an existing regular file of at most :data:`MAX_SUBTITLE_BYTES`;
    otherwise the :class:`SubtitleError` that :func:`read_subtitles` would raise (not found,
    a folder, a device such as ``/dev/zero``, a FIFO, too large), before any work starts."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise SubtitleError(f"{WHAT} not found", path=path) from None
    except OSError as e:
        raise SubtitleError(f"cannot read the {WHAT}: {e.strerror or e}", path=path) from None
    if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_SUBTITLE_BYTES:
        read_bytes_limited(path, MAX_SUBTITLE_BYTES, what=WHAT, error=SubtitleError)
    return path
