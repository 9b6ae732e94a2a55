"""Many subtitle indexes searched as one: the said (cue) and seen (clip) rankings of a query.

All indexes are loaded once into an :class:`IndexSet`. A query searches each index exactly
(faiss ``IndexFlatIP``) and heap-merges the per-film top-k lists by score. Concatenating all
vectors into one ``IndexFlatIP`` gives the same ranking but costs a copy of every vector
(+100 MB for 100 films) and, on a busy 2-core CPU, faiss's multi-threaded scan of one large
index was slower (6 ms per-index vs 5.6–32 ms concatenated for 100 films, 60k cues;
``benchmarks/bench_index.py`` measures both).
Scores are cosine similarities (unit vectors), comparable across films because every index
must come from the same encoder (and, for the clips, the same align model).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vloc.errors import InputError
from vloc.index.manifest import find_indexes
from vloc.index.subtitle_index import SubtitleIndex, load_index
from vloc.text import plain_text

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Hit:
    """One retrieved moment."""

    video: str  # video id (file name)
    subtitles: str  # subtitle file name the cue comes from
    index_folder: str  # index folder it was found in
    cue: int  # cue number as in the subtitle file
    position: int  # 0-based cue position in the film
    start_ms: int  # cue start, milliseconds
    end_ms: int  # cue end, milliseconds
    text: str  # cue text, tags removed, lines joined ("" for a clip under no cue)
    score: float  # cosine similarity to the query, in [-1, 1]; with by="both": the evidence
    source: str = "said"  # "said" (a cue), "seen" (a clip) or "both" (fused)
    said_rank: int | None = None  # 1-based rank in the said list (by="both"), None: absent
    seen_rank: int | None = None  # 1-based rank in the seen list (by="both"), None: absent


class IndexSet:
    """Many loaded indexes (same encoder) searched as one.

    Args:
        indexes: loaded indexes; all must record the same encoder hash.
    """

    def __init__(self, indexes: list[SubtitleIndex]) -> None:
        import numpy as np

        if not indexes:
            raise InputError("no subtitle index to search")
        first = indexes[0]
        for ix in indexes[1:]:
            if ix.encoder_sha256 != first.encoder_sha256:
                raise InputError(
                    f"indexes built with different encoders cannot be searched together: "
                    f"{first.folder} uses {first.encoder_name!r} (sha256 "
                    f"{first.encoder_sha256[:12]}), {ix.folder} uses {ix.encoder_name!r} "
                    f"(sha256 {ix.encoder_sha256[:12]}); re-index them with one encoder"
                )
        self.indexes = indexes
        self.offsets = np.cumsum([0] + [ix.size for ix in indexes]).astype(np.int64)  # (M+1,)
        self._means: dict[str, np.ndarray] = {}  # "said"/"seen" → mean stored vector (D,)

    @classmethod
    def load(cls, paths: Iterable[str | Path], *, verify: bool = True) -> IndexSet:
        """Find (see :func:`~vloc.index.find_indexes`) and load every index under ``paths``."""
        seen: dict[Path, None] = {}
        for p in paths:
            for folder in find_indexes(p):
                seen.setdefault(folder.resolve(), None)
        return cls([load_index(f, verify=verify) for f in seen])

    @property
    def encoder_name(self) -> str:
        return self.indexes[0].encoder_name

    @property
    def encoder_sha256(self) -> str:
        return self.indexes[0].encoder_sha256

    @property
    def size(self) -> int:
        return int(self.offsets[-1])

    def search(self, queries: np.ndarray, k: int) -> list[list[tuple[float, int, int]]]:
        """Top-k over all indexes for each query row ``(Q, D)`` unit vectors.

        Returns per query a list of (score, index number, cue position), best first, ties
        broken by index number then position (a tie at the k-th place may be cut either way).
        """
        if k < 1:
            raise InputError(f"top-k must be at least 1, got {k}")
        per_index = [ix.search(queries, min(k, ix.size)) for ix in self.indexes]
        return _merge(per_index, queries.shape[0], k)

    def hit(self, score: float, m: int, pos: int) -> Hit:
        ix = self.indexes[m]
        return Hit(
            video=ix.video,
            subtitles=str(ix.manifest["subtitles"].get("name", "")),
            index_folder=str(ix.folder),
            cue=int(ix.cue_index[pos]),
            position=pos,
            start_ms=int(ix.start_ms[pos]),
            end_ms=int(ix.end_ms[pos]),
            text=plain_text(ix.text[pos]),
            score=score,
        )

    def check_clips(self) -> str:
        """Raise :class:`InputError` unless every index holds clips of one align model;
        return that model's sha256."""
        first = None
        for ix in self.indexes:
            if ix.clips is None:
                raise InputError(
                    "this index has no clip embeddings, so it cannot be searched by what is "
                    "seen: index the film with 'vloc index VIDEO SUBS --align MODEL' (or search "
                    "--by said)",
                    path=ix.folder,
                )
            if first is None:
                first = ix
            elif ix.clips.align_sha256 != first.clips.align_sha256:  # type: ignore[union-attr]
                a, b = first.clips, ix.clips
                assert a is not None, "checked on the first index"
                raise InputError(
                    f"indexes with clips of different align models cannot be searched together: "
                    f"{first.folder} uses {a.align_name!r} (sha256 {a.align_sha256[:12]}), "
                    f"{ix.folder} uses {b.align_name!r} (sha256 {b.align_sha256[:12]}); "
                    "re-index them with one align model"
                )
        assert first is not None and first.clips is not None, "IndexSet is never empty"
        return first.clips.align_sha256

    def search_clips(self, queries: np.ndarray, k: int) -> list[list[tuple[float, int, int]]]:
        """Like :meth:`search` over the clip indexes: (score, index number, clip number)."""
        if k < 1:
            raise InputError(f"top-k must be at least 1, got {k}")
        self.check_clips()
        per_index = [
            ix.clips.search(queries, min(k, ix.clips.size))  # type: ignore[union-attr]
            for ix in self.indexes
        ]
        return _merge(per_index, queries.shape[0], k)

    def mean_vector(self, what: str) -> np.ndarray:
        """The mean ``(D,)`` of every stored vector of the cues (``said``) or of the clips
        (``seen``) of all indexes: a query's mean cosine over them is one dot product."""
        import numpy as np

        if what not in self._means:
            if what == "seen":
                self.check_clips()
            stores = [
                ix.faiss_index if what == "said" else ix.clips.faiss_index  # type: ignore[union-attr]
                for ix in self.indexes
            ]
            total = sum(int(f.ntotal) for f in stores)
            acc = np.zeros(int(stores[0].d), np.float64)
            for f in stores:
                if f.ntotal:
                    acc += f.reconstruct_n(0, int(f.ntotal)).sum(0, dtype=np.float64)
            self._means[what] = (acc / max(total, 1)).astype(np.float32)
        return self._means[what]

    @property
    def clip_count(self) -> int:
        return sum(ix.clips.size for ix in self.indexes if ix.clips is not None)

    def clip_hit(self, score: float, m: int, j: int) -> Hit:
        """A ``seen`` hit: clip ``j`` of index ``m``, with the text of the cue under it."""
        ix = self.indexes[m]
        assert ix.clips is not None, "check_clips passed"
        pos = int(ix.clips.cue[j])
        return Hit(
            video=ix.video,
            subtitles=str(ix.manifest["subtitles"].get("name", "")),
            index_folder=str(ix.folder),
            cue=int(ix.cue_index[pos]) if pos >= 0 else 0,
            position=pos,
            start_ms=int(ix.clips.start_ms[j]),
            end_ms=int(ix.clips.end_ms[j]),
            text=plain_text(ix.text[pos]) if pos >= 0 else "",
            score=score,
            source="seen",
        )


def _merge(per_index: list[tuple[np.ndarray, np.ndarray]], n_queries: int, k: int) -> list:
    """Heap-merge per-index (scores, ids) ``(Q, k_m)`` into the top-k per query."""
    results: list[list[tuple[float, int, int]]] = []
    for q in range(n_queries):
        streams = [_stream(m, sc[q], ids[q]) for m, (sc, ids) in enumerate(per_index)]
        merged = heapq.merge(*streams, key=lambda h: (-h[0], h[1], h[2]))
        results.append(list(_take(merged, k)))
    return results


def _stream(m: int, scores: np.ndarray, ids: np.ndarray) -> list[tuple[float, int, int]]:
    """One index's hits for one query as (score, index number, position), best first."""
    hits = [(float(s), m, int(i)) for s, i in zip(scores, ids, strict=True) if i >= 0]
    return sorted(hits, key=lambda h: (-h[0], h[1], h[2]))


def _take(it: Iterable, n: int) -> Iterable:
    for i, x in enumerate(it):
        if i >= n:
            return
        yield x


__all__ = ["Hit", "IndexSet"]
