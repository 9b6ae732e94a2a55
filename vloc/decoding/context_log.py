"""What each engine prompt showed: one *context record* per translated batch.

The translation journal (:mod:`vloc.decoding.journal`) keeps only each batch's translation.
Beside it, the engine runner appends one JSON line per batch saying what the prompt carried,
so that a reviewer can later see what informed every line (``vloc review``)::

    {"v": 1, "cues": [12, 13, 14], "src": "5f1c...", "related": [[250, 0.83], [17, 0.71]],
     "previous": [10, 11], "glossary": ["Rommel"], "frames_ms": [12345, 67890]}

* ``cues`` — the batch's cue numbers (1-based positions in the film);
* ``src`` — :func:`source_digest` of the batch's source texts as the engine saw them, so that a
  record written for an older version of the subtitles is recognised and ignored;
* ``related`` — the retrieved cues shown (eq. 1), best first, each ``[number, similarity]``
  (similarity ``null`` when the writer did not have it);
* ``previous`` — the cues shown just before the batch; ``glossary`` — the source side of the
  glossary terms shown; ``frames_ms`` — the timestamps (ms) of the keyframes attached.

The log lives beside its journal (:func:`context_log_path`: ``x.jsonl`` → ``x.context.jsonl``),
is append-only, and each append is one write of whole lines, flushed and fsynced: a killed run
leaves at most one line cut short, which the reader skips (and the next append starts on a
fresh line). A batch translated again (a resumed or repeated run) appends a new record; the
reader keeps the last record for each cue.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vloc.errors import VlocError
from vloc.fileio import append_lines, sha256_bytes

CONTEXT_FORMAT = 1  # "v" of a record; records of a newer format are skipped by this reader
CONTEXT_SUFFIX = ".context.jsonl"  # a journal "x.jsonl" has its context log "x.context.jsonl"
DIGEST_CHARS = 16  # hex characters of the source digest (64 bits)


@dataclass(frozen=True)
class ContextRecord:
    """What one engine prompt showed besides its own cues (see the module docstring)."""

    cues: tuple[int, ...]  # the batch's cue numbers, 1-based positions in the film
    src: str  # source_digest() of the batch's source texts ("" when unknown)
    related: tuple[tuple[int, float | None], ...] = ()  # (cue number, similarity), best first
    previous: tuple[int, ...] = ()  # cue numbers shown as the lines just before the batch
    glossary: tuple[str, ...] = ()  # source terms of the glossary entries shown
    frames_ms: tuple[int, ...] = ()  # timestamps of the attached keyframes, ms

    def to_json(self) -> dict[str, object]:
        return {
            "v": CONTEXT_FORMAT,
            "cues": list(self.cues),
            "src": self.src,
            "related": [[n, s] for n, s in self.related],
            "previous": list(self.previous),
            "glossary": list(self.glossary),
            "frames_ms": list(self.frames_ms),
        }


def source_digest(texts: Sequence[str]) -> str:
    """A short digest of a batch's source texts (the plain texts the engine was given)."""
    return sha256_bytes("\n".join(texts).encode("utf-8"))[:DIGEST_CHARS]


def context_log_path(journal: str | Path) -> Path:
    """The context log beside a translation journal (``x.jsonl`` → ``x.context.jsonl``)."""
    journal = Path(journal)
    return journal.with_name(journal.name.removesuffix(".jsonl") + CONTEXT_SUFFIX)


def context_record(
    cues: Sequence[int],
    sources: Sequence[str],
    *,
    related: Iterable[tuple[int, float | None] | int] = (),
    previous: Iterable[int] = (),
    glossary: Iterable[str] = (),
    frames_ms: Iterable[int] = (),
) -> ContextRecord:
    """A record for one batch: ``cues`` its 1-based numbers and ``sources`` their source texts
    as the engine saw them; ``related`` numbers or ``(number, similarity)`` pairs."""
    if len(cues) != len(sources):
        raise ValueError(f"{len(cues)} cue numbers for {len(sources)} source texts")
    pairs = []
    for item in related:
        n, s = (item, None) if isinstance(item, int) else item
        pairs.append((int(n), None if s is None or not math.isfinite(s) else round(float(s), 4)))
    return ContextRecord(
        cues=tuple(int(c) for c in cues),
        src=source_digest(sources),
        related=tuple(pairs),
        previous=tuple(int(p) for p in previous),
        glossary=tuple(str(g) for g in glossary),
        frames_ms=tuple(int(t) for t in frames_ms),
    )


def append_context(path: str | Path, records: Sequence[ContextRecord]) -> None:
    """Append ``records`` to the context log at ``path`` in one fsynced write."""
    path = Path(path)
    if not records:
        return
    text = "".join(
        json.dumps(r.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n" for r in records
    )
    append_lines(path, text, what="context log")


def _ints(value: object) -> tuple[int, ...] | None:
    if not isinstance(value, list) or not all(
        isinstance(x, int) and not isinstance(x, bool) for x in value
    ):
        return None
    return tuple(value)


def _parse(item: object) -> ContextRecord | None:
    """A record from one decoded JSON line, or None when it is not one this reader knows."""
    if not isinstance(item, dict) or item.get("v") != CONTEXT_FORMAT:
        return None
    cues = _ints(item.get("cues"))
    previous = _ints(item.get("previous", []))
    frames = _ints(item.get("frames_ms", []))
    related_raw, glossary = item.get("related", []), item.get("glossary", [])
    if not cues or previous is None or frames is None or not isinstance(related_raw, list):
        return None
    if not isinstance(glossary, list) or not all(isinstance(g, str) for g in glossary):
        return None
    related: list[tuple[int, float | None]] = []
    for pair in related_raw:
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], int)):
            return None
        score = pair[1]
        if score is not None and not isinstance(score, int | float):
            return None
        related.append((pair[0], None if score is None else float(score)))
    src = item.get("src", "")
    return ContextRecord(
        cues, str(src) if isinstance(src, str) else "", tuple(related), previous,
        tuple(glossary), frames,
    )  # fmt: skip


def read_context(path: str | Path) -> list[ContextRecord]:
    """Every readable record of a context log, in file order; lines cut short by a kill,
    blank lines and records of another format are skipped. A missing file reads as empty."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    except OSError as e:
        raise VlocError(f"cannot read the context log: {e.strerror or e}", path=path) from e
    out = []
    for line in raw.split("\n"):
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if (rec := _parse(item)) is not None:
            out.append(rec)
    return out


def context_by_cue(
    records: Sequence[ContextRecord], sources: Sequence[str]
) -> tuple[dict[int, ContextRecord], int]:
    """The last valid record of each cue of a film whose plain source texts are ``sources``
    (cue number ``n`` is ``sources[n - 1]``) → ({cue number: record}, records ignored).

    A record is ignored when a number lies outside the film or its digest does not match the
    film's texts (it was written for other subtitles)."""
    n = len(sources)
    by_cue: dict[int, ContextRecord] = {}
    ignored = 0
    for rec in records:
        numbers = [*rec.cues, *(r for r, _ in rec.related), *rec.previous]
        if any(not 1 <= c <= n for c in numbers):
            ignored += 1
            continue
        if rec.src and rec.src != source_digest([sources[c - 1] for c in rec.cues]):
            ignored += 1
            continue
        for c in rec.cues:
            by_cue[c] = rec
    return by_cue, ignored
