"""Subtitle files: read and write SRT and WebVTT (vloc's own parser, stricter than the
libraries: timing lines found by shape and parsed strictly, every cue kept); read and write
ASS/SSA through pysubs2 (:mod:`~vloc.subtitles.ass`), write TTML/IMSC through ttconv
(:mod:`~vloc.subtitles.ttml`).

Times are integer milliseconds throughout; a cue covers ``[start_ms, end_ms)``.

Reading is deliberately forgiving about layout and strict about meaning:

* encodings: UTF-8 (with or without BOM), UTF-16/32 with BOM, GB18030/GBK and Big5 without BOM
  (chosen by strict decoding plus a score of common Chinese characters), Windows-1252 for
  Western files; when the bytes fit two encodings equally well the reader refuses to guess;
  a UTF-8 BOM in front of bytes that are not UTF-8 is an error that names the encoding the
  rest of the file reads as (``--encoding cp1252``), and with ``encoding`` given that BOM is
  dropped before decoding;
* cues with no blank line between them stay separate (the parser splits on timing lines);
* overlapping, unsorted, zero-length and reversed cues are kept in file order and reported
  as warnings.

Timing lines are found by shape, then parsed strictly: a line that looks like a timing line
but does not parse is an error naming the file, the 1-based line and the expected form; it is
never read as cue text and never skipped. A line looks like a timing line when

* WebVTT: it contains ``-->`` (the format forbids ``-->`` in cue text, identifiers and notes);
* SRT: it contains ``-->`` and the text before the first ``-->`` is empty, or only digits,
  spaces, signs and ``:.,;`` with at least one digit (``00 : 00 : 01,000``), or one word of
  letters, digits, signs and ``:.,;`` that has a colon or starts with a digit or sign, with a
  digit in it or in the word after the arrow (``-00:00:03,000``, ``00:00:aa,000``,
  ``T00:00:01,000``). Dialogue such as ``A --> B``, ``Win10 --> Win11`` or
  ``Meet at 10:30 --> the bridge`` stays text; the rare ``1 --> 2`` in dialogue is an error;
* both: two timestamps with no ``-->`` between them (``00:00:01,000 -> 00:00:02,000``), or a
  lone ``hh:mm:ss[,mmm]``/``mm:ss,mmm`` right under a cue number that starts a block.

What does not parse: negative times, letters in numbers, a missing start or end, minutes or
seconds >= 60. Accepted: ``00:00:03.5`` (3.5 s), ``,`` or ``.`` before the fraction, hours
past 99, WebVTT ``mm:ss.ttt`` and cue settings after the end time.

Example::

    >>> subs = read_subtitles("film.en.srt")
    >>> subs.encoding, subs.format, len(subs.cues)
    ('utf-8', 'srt', 1483)
    >>> write_subtitles("film.zh.srt", subs.with_texts(translated))

The package's modules: :mod:`~vloc.subtitles.cues` (the cues and their timestamps),
:mod:`~vloc.subtitles.encodings` (bytes to text), :mod:`~vloc.subtitles.parse` (text to cues,
reading a file) and :mod:`~vloc.subtitles.write` (cues to text and files).
"""

from __future__ import annotations

from vloc.subtitles.cues import (
    FORMATS,
    OUTPUT_FORMATS,
    READ_FORMATS,
    Cue,
    Subtitles,
    format_timestamp,
    parse_timestamp,
)
from vloc.subtitles.encodings import decode_subtitle_bytes
from vloc.subtitles.parse import (
    MAX_SUBTITLE_BYTES,
    check_subtitle_file,
    parse_subtitles,
    read_subtitles,
)
from vloc.subtitles.write import dumps_srt, dumps_vtt, write_subtitles

__all__ = [
    "FORMATS",
    "OUTPUT_FORMATS",
    "READ_FORMATS",
    "MAX_SUBTITLE_BYTES",
    "Cue",
    "Subtitles",
    "check_subtitle_file",
    "decode_subtitle_bytes",
    "dumps_srt",
    "dumps_vtt",
    "format_timestamp",
    "parse_subtitles",
    "parse_timestamp",
    "read_subtitles",
    "write_subtitles",
]
