"""Many videos at once: discovery, per-video isolation, resumable runs, a JSON report.

``SOURCE`` is either a folder or a manifest:

* folder: every video (``.mp4 .mkv .webm .avi .mov``) paired with the subtitle file that
  shares its stem: ``film.mp4`` + ``film.en.srt`` (or ``film.srt``, ``film.en.vtt``); the
  language tag between stem and extension is kept (``en``). Videos without subtitles are
  listed too (tasks that need subtitles fail for them alone).
* manifest: CSV with a header, or JSONL, with fields ``video``, optional ``subs``, ``name``
  and ``lang``; relative paths are resolved against the manifest's folder.

Each video gets its own output folder ``OUT/<name>/``; no task writes anywhere else. One
video failing never stops the others.

Names: a manifest's ``name`` or else the video's stem, made file-system-safe. They are unique
case-insensitively (after Unicode NFC normalisation and case folding), since OUT may live on a
macOS or Windows share where ``Film`` and ``film`` are one folder, and never equal a file that
batch itself writes into OUT (the report, ``report.json``). Every video whose name is free
keeps it; the others, in discovery order (folder: sorted file names; manifest: row order), get
``-2``, ``-3``, ... the first suffix that no other name has taken. The same inputs always give
the same names, so a re-run resumes into the same folders.

The package's modules: :mod:`~vloc.batch.jobs` (videos, tasks, options, results),
:mod:`~vloc.batch.discovery` (folder or manifest), :mod:`~vloc.batch.naming` (output names),
:mod:`~vloc.batch.tasks` (what each task runs) and :mod:`~vloc.batch.run` (running and the
report).
"""

from __future__ import annotations

from vloc.batch.discovery import SUBTITLE_EXTENSIONS, VIDEO_EXTENSIONS, discover
from vloc.batch.jobs import (
    KNOWN_TASKS,
    TASKS_WITH_LANGUAGE,
    BatchOptions,
    JobResult,
    TaskDone,
    TaskFn,
    TaskSpec,
    VideoJob,
    parse_tasks,
)
from vloc.batch.naming import (
    FIRST_SUFFIX,
    REPORT_NAME,
    RESERVED_NAMES,
    check_names,
    name_key,
    reserved_names,
)
from vloc.batch.run import REPORT_VERSION, run_batch, run_job, write_report
from vloc.batch.tasks import TASKS

__all__ = [
    "FIRST_SUFFIX",
    "KNOWN_TASKS",
    "REPORT_NAME",
    "REPORT_VERSION",
    "RESERVED_NAMES",
    "SUBTITLE_EXTENSIONS",
    "TASKS",
    "TASKS_WITH_LANGUAGE",
    "VIDEO_EXTENSIONS",
    "BatchOptions",
    "JobResult",
    "TaskDone",
    "TaskFn",
    "TaskSpec",
    "VideoJob",
    "check_names",
    "discover",
    "name_key",
    "parse_tasks",
    "reserved_names",
    "run_batch",
    "run_job",
    "write_report",
]
