"""Search moments across indexed videos: one query, many subtitle indexes, one ranking.

All indexes are loaded once into an :class:`IndexSet`. A query searches each index exactly
(faiss ``IndexFlatIP``) and heap-merges the per-film top-k lists by score. Concatenating all
vectors into one ``IndexFlatIP`` gives the same ranking but costs a copy of every vector
(+100 MB for 100 films) and, on a busy 2-core CPU, faiss's multi-threaded scan of one large
index was slower (6 ms per-index vs 5.6–32 ms concatenated for 100 films, 60k cues;
``benchmarks/bench_index.py`` measures both).
Scores are cosine similarities (unit vectors), comparable across films because every index
must come from the same encoder.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vloc.errors import InputError
from vloc.index.store import SubtitleIndex, find_indexes, load_index, plain_text

if TYPE_CHECKING:
    import numpy as np

    from vloc.encoders import Encoder, EncoderRef

DEFAULT_TOP_K = 10  # moments shown per query


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
    text: str  # cue text, tags removed, lines joined
    score: float  # cosine similarity to the query, in [-1, 1]


@dataclass(frozen=True)
class SearchResult:
    """Ranked hits of one query and where the time went."""

    query: str
    hits: list[Hit]  # best first, at most top_k
    indexes: int  # number of indexes searched
    cues: int  # total cues searched
    encoder: str  # encoder name recorded in the indexes
    load_seconds: float  # loading the indexes and the encoder
    query_seconds: float  # embedding the query and searching


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
        results: list[list[tuple[float, int, int]]] = []
        per_index = [ix.search(queries, min(k, ix.size)) for ix in self.indexes]
        for q in range(queries.shape[0]):
            streams = [_stream(m, sc[q], ids[q]) for m, (sc, ids) in enumerate(per_index)]
            merged = heapq.merge(*streams, key=lambda h: (-h[0], h[1], h[2]))
            results.append(list(_take(merged, k)))
        return results

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


def _stream(m: int, scores: np.ndarray, ids: np.ndarray) -> list[tuple[float, int, int]]:
    """One index's hits for one query as (score, index number, position), best first."""
    hits = [(float(s), m, int(i)) for s, i in zip(scores, ids, strict=True) if i >= 0]
    return sorted(hits, key=lambda h: (-h[0], h[1], h[2]))


def _take(it: Iterable, n: int) -> Iterable:
    for i, x in enumerate(it):
        if i >= n:
            return
        yield x


def encoder_for(indexes: IndexSet, encoder: str | Path | None = None) -> EncoderRef:
    """The encoder to query ``indexes`` with: ``encoder`` if given, else the recorded one.

    Raises :class:`InputError` when its content hash differs from the indexes' encoder.
    """
    from vloc.encoders import resolve_encoder

    if encoder is None:
        recorded = indexes.indexes[0].manifest["encoder"]
        folder = Path(str(recorded.get("folder", "")))
        ref = resolve_encoder(folder if folder.is_dir() else indexes.encoder_name)
        if ref.sha256 != indexes.encoder_sha256:  # the folder changed since indexing: try the name
            ref = resolve_encoder(indexes.encoder_name)
    else:
        ref = resolve_encoder(encoder)
    check_query_encoder(indexes, ref)
    return ref


def check_query_encoder(indexes: IndexSet, ref: EncoderRef) -> None:
    """Raise :class:`InputError` unless ``ref`` is the indexes' encoder (by content hash)."""
    if ref.sha256 != indexes.encoder_sha256:
        raise InputError(
            f"the indexes were built with encoder {indexes.encoder_name!r} (sha256 "
            f"{indexes.encoder_sha256[:12]}) but the query encoder {ref.name!r} has sha256 "
            f"{ref.sha256[:12]}; query with the same encoder or re-index"
        )


def search(
    query: str,
    paths: Iterable[str | Path],
    *,
    top_k: int = DEFAULT_TOP_K,
    encoder: str | Path | Encoder | None = None,
) -> SearchResult:
    """Find the ``top_k`` cues most similar to ``query`` across every index under ``paths``.

    Args:
        query: free text, in any language the indexes' encoder understands.
        paths: index folders, workspaces, or folders of workspaces.
        encoder: None to use the encoder recorded in the indexes, or a name/folder/loaded
            encoder that must be the same model (checked by content hash).
    """
    from vloc.encoders import QUERY_THREADS, Encoder, load_encoder

    if not query.strip():
        raise InputError("the query is empty")
    if top_k < 1:
        raise InputError(f"--top-k must be at least 1, got {top_k}")
    t0 = time.perf_counter()
    indexes = IndexSet.load(paths)
    if isinstance(encoder, Encoder):
        check_query_encoder(indexes, encoder.ref)
        enc = encoder
    else:
        enc = load_encoder(encoder_for(indexes, encoder))
    t1 = time.perf_counter()
    [found] = indexes.search(enc.encode([query], threads=QUERY_THREADS), top_k)
    hits = [indexes.hit(*h) for h in found]
    return SearchResult(
        query=query,
        hits=hits,
        indexes=len(indexes.indexes),
        cues=indexes.size,
        encoder=indexes.encoder_name,
        load_seconds=t1 - t0,
        query_seconds=time.perf_counter() - t1,
    )
