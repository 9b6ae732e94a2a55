"""``vloc memory export``: earlier work (a finished film's source and approved translation,
any other memory source) as one TMX file that ``--memory`` reads back.

The pairs written are exactly the pairs ``--memory`` reads from the same inputs (the
subtitle pair is aligned by :mod:`vloc.memory.align`), with their film and cue numbers, so
export → import gives the same pairs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vloc.memory.sources import MemorySources, read_memory
from vloc.memory.tmx import TmxPair, write_tmx

WarnFn = Callable[[str], None]


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_tmx` wrote."""

    output: Path  # the TMX file
    sources: MemorySources  # the pairs written and what each input gave


def export_tmx(
    paths: Sequence[str | Path],
    output: str | Path,
    *,
    source_lang: str,
    target_lang: str,
    film: str | None = None,
    encoding: str | None = None,
    warn: WarnFn | None = None,
) -> ExportResult:
    """Write the memory pairs of ``paths`` to ``output`` (TMX 1.4b), atomically.

    Args:
        film: the film name recorded on every unit (default: each pair's own, the subtitle
            pair's NAME or the manifest's id).
        encoding: subtitle text encoding, None: detect it per file.
    """
    src = read_memory(
        paths, source_lang=source_lang, target_lang=target_lang, encoding=encoding, warn=warn
    )
    from vloc.guard import protect_inputs

    pairs = [TmxPair(p.source, p.target, film or p.film, p.cue) for p in src.pairs]
    with protect_inputs(src.files):  # a subtitle pair's partner file too
        write_tmx(output, pairs, source_lang=source_lang, target_lang=target_lang)
    return ExportResult(Path(output), src)
