"""Output folder names of a batch's videos: file-system-safe, unique case-insensitively, never
equal to a file batch writes into OUT, the same on every run (rules in :mod:`vloc.batch`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from vloc.errors import InputError
from vloc.workspace import safe_name

if TYPE_CHECKING:
    pass

from vloc.batch.jobs import VideoJob

REPORT_NAME = "report.json"  # the report's file name in OUT unless --report says otherwise
RESERVED_NAMES = (REPORT_NAME,)  # entries batch itself writes into OUT: no video may be named so
FIRST_SUFFIX = 2  # the first duplicate of "film" becomes "film-2"


def name_key(name: str) -> str:
    """What identifies an output name on every file system: NFC-normalised and case-folded
    (``Film`` and ``film`` are the same folder on macOS and Windows)."""
    return unicodedata.normalize("NFC", name).casefold()


def reserved_names(out_root: str | Path, report_path: str | Path | None = None) -> tuple[str, ...]:
    """The names no video may take: what batch writes into ``out_root`` besides video folders.

    Always :data:`RESERVED_NAMES` (so names do not change between runs with and without
    ``--report``), plus the report's file name when ``report_path`` lies directly in ``out_root``.
    """
    names = list(RESERVED_NAMES)
    if report_path is not None:
        report_path = Path(report_path)
        if report_path.parent.resolve() == Path(out_root).resolve():
            names.append(report_path.name)
    return tuple(dict.fromkeys(names))


def unique_names(
    found: list[tuple[str, Path, Path | None, str | None]], reserved: Sequence[str] = ()
) -> list[VideoJob]:
    """Safe names, unique under :func:`name_key` and distinct from ``reserved``.

    Two passes, both in ``found``'s order (deterministic, so a re-run gets the same names):
    first every video whose safe name is still free takes it, so ``film-2.mp4`` keeps
    ``film-2`` even when it comes before a second ``film``; then each remaining video takes
    ``<name>-2``, ``<name>-3``, ... the first that no explicit, reserved or already generated
    name has taken.
    """
    taken = {name_key(r) for r in reserved}
    # NFC first: safe_name drops combining accents, which macOS file names (NFD) are full of
    bases = [safe_name(unicodedata.normalize("NFC", name)) for name, *_ in found]
    names: list[str | None] = [None] * len(found)
    for i, base in enumerate(bases):
        if name_key(base) not in taken:
            taken.add(name_key(base))
            names[i] = base
    for i, base in enumerate(bases):
        if names[i] is not None:
            continue
        n = FIRST_SUFFIX
        while name_key(f"{base}-{n}") in taken:
            n += 1
        names[i] = f"{base}-{n}"
        taken.add(name_key(names[i]))
    return [
        VideoJob(name=name, video=video, subs=subs, lang=lang)
        for name, (_, video, subs, lang) in zip(names, found, strict=True)
        if name is not None
    ]


def check_names(jobs: Sequence[VideoJob], reserved: Sequence[str] = RESERVED_NAMES) -> None:
    """Raise :class:`InputError` unless every job has its own output folder in OUT.

    Two jobs whose names are equal under :func:`name_key`, or a job named like a file batch
    writes into OUT, would overwrite each other's outputs.
    """
    owner = {name_key(r): f"the batch file {r!r}" for r in reserved}
    for job in jobs:
        key = name_key(job.name)
        if key in ("", ".", "..") or "/" in key or "\\" in key:
            raise InputError(f"output name {job.name!r} is not a folder name", path=job.video)
        if key in owner:
            raise InputError(
                f"output name {job.name!r} is the same folder as {owner[key]} "
                "(names must differ case-insensitively)",
                path=job.video,
            )
        owner[key] = f"the output of {job.video}"
