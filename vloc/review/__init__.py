"""The review page: one self-contained HTML file where a reviewer sees, checks and corrects a
film's translation (``vloc review FILM SOURCE_SUBS TARGET_SUBS``).

It shows the film in a player with both subtitle tracks and a cue table kept in sync with it;
for every cue a keyframe thumbnail, QC flags, glossary terms honoured or missed, and what
informed the line: the similar cues the film's index retrieves and, for engine runs, the
context and keyframes the prompt showed; a timeline strip of the film; and in-page editing
with an export of the corrected subtitles (same cues, same timings, same format). Nothing is
fetched from or sent to anywhere: the page plays the film by a relative path.

Modules: :mod:`~vloc.review.data` (gathering), :mod:`~vloc.review.flags` (QC flags),
:mod:`~vloc.review.thumbs` (thumbnails, one decode pass), :mod:`~vloc.decoding.context_log` (the
per-batch context records engine runs write), :mod:`~vloc.review.page` (rendering) and
:mod:`~vloc.review.write` (:func:`write_review`).
"""

from __future__ import annotations

from vloc.decoding.context_log import (
    ContextRecord,
    append_context,
    context_by_cue,
    context_log_path,
    context_record,
    read_context,
    source_digest,
)
from vloc.review.write import THUMB_MODES, ReviewResult, files_folder, write_review

__all__ = [
    "THUMB_MODES",
    "ContextRecord",
    "ReviewResult",
    "append_context",
    "context_by_cue",
    "context_log_path",
    "context_record",
    "files_folder",
    "read_context",
    "source_digest",
    "write_review",
]
