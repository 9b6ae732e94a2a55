"""Search moments across indexed videos: one query, many subtitle indexes, one ranking.

All indexes are loaded once into an :class:`IndexSet`. A query searches each index exactly
(faiss ``IndexFlatIP``) and heap-merges the per-film top-k lists by score. Concatenating all
vectors into one ``IndexFlatIP`` gives the same ranking but costs a copy of every vector
(+100 MB for 100 films) and, on a busy 2-core CPU, faiss's multi-threaded scan of one large
index was slower (6 ms per-index vs 5.6–32 ms concatenated for 100 films, 60k cues;
``benchmarks/bench_index.py`` measures both).
Scores are cosine similarities (unit vectors), comparable across films because every index
must come from the same encoder.

What a query is matched against (``by``, :data:`BY`):

* ``said`` — the subtitle cues (the sentence encoder's embeddings of what is said);
* ``seen`` — the clip embeddings an align model stored in the indexes
  (``vloc index VIDEO SUBS --align MODEL``): the query goes through the model's text encoder and
  text head (:mod:`vloc.align`), so a description of what is shown finds it, in any language
  the text encoder knows, even when no subtitle names it. Every index must hold clips of the
  same align model;
* ``both`` — the two rankings fused by their evidence (:func:`fuse`): each list's top
  :data:`FUSE_DEPTH` (at least top-k) moments; a moment scores
  ``max over the lists it is in of w × (cosine − centre)``, where ``centre`` is the query's
  mean cosine over *every* cue (said) or clip (seen) of the searched indexes (one dot product
  with the mean stored vector, :meth:`IndexSet.mean_vector`) and ``w`` is
  :data:`FUSE_WEIGHTS` (said 2, seen 1). A ranking carries signal for a query when its best
  moments stand far above what an arbitrary moment scores; a flat ranking (a description of
  what is shown, searched against subtitles that never name it) gives every moment little
  evidence and cannot push its noise above the other ranking's moments, while a query that
  quotes a line keeps the said ranking's moments on top. The weight is there because the
  spaces' cosine spreads differ (the sentence encoder's is about half the align space's).
  It was chosen on validation films of the synthetic benchmark (``benchmarks/
  bench_search_seen.py``), never on its held-out films: every said weight from 1.75 to 3
  matched the better single ranking on both scene descriptions and quoted/translated lines;
  1.5 and below lost translated lines (R@5 0.94 → 0.44 at 1), 4 and above started to lose
  scene descriptions. Equal-weight reciprocal-rank fusion (:func:`rrf_fuse`, k = 60, kept for
  comparison) let the chance-level said ranking push unrelated cues into the top 5 (R@5 0.89
  held-out, 0.48 on quoted lines). Ties go to the better single rank, then to index order and
  position. A ``seen`` clip is the same moment as the cue it overlaps most; a clip that
  overlaps no cue is a moment of its own. A fused hit's ``score`` is its evidence.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from vloc.errors import InputError
from vloc.index.store import SubtitleIndex, find_indexes, load_index, plain_text

if TYPE_CHECKING:
    import numpy as np

    from vloc.align.model import LoadedAlign
    from vloc.encoders import Encoder, EncoderRef

DEFAULT_TOP_K = 10  # moments shown per query
BY = ("said", "seen", "both")  # what a query is matched against (see the module docstring)
RRF_K = 60  # reciprocal-rank fusion constant (Cormack et al. 2009): 1 / (RRF_K + rank)
FUSE_DEPTH = 100  # candidates taken from each ranking before fusing (at least top-k)
# --by both: a ranking's evidence for a moment is its cosine above the query's mean cosine over
# every item of that ranking, times this weight. Cosine spreads of the two spaces are not
# alike (the sentence encoder's is about half the align space's); on validation films every
# said weight in 1.75-3 fused as well as the better single ranking, 1.5 and below or 4 and
# above did not (see the module docstring)
FUSE_WEIGHTS: dict[str, float] = {"said": 2.0, "seen": 1.0}


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
    by: str = "said"  # what the query was matched against (BY)
    align: str | None = None  # the align model's name (by seen / both)


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


def fuse(
    rankings: dict[str, list[tuple[float, tuple[object, ...]]]],
    centres: dict[str, float],
    k: int,
    weights: dict[str, float] | None = None,
) -> list[tuple[float, tuple[object, ...], dict[str, int]]]:
    """Fuse ranked lists by each moment's strongest evidence (the ``--by both`` rule).

    Args:
        rankings: per list name, (cosine, moment key) best first, each key at most once.
        centres: per list, the query's mean cosine over every item that list ranks (what a
            moment of no relevance scores).
        k: moments returned.
        weights: per list, what one unit of cosine above the centre counts (default
            :data:`FUSE_WEIGHTS`; a list not named there counts 1).

    A moment scores ``max over the lists it is in of weight × (cosine − centre)``. A flat
    ranking (every cosine near its centre) gives no moment much evidence, so it cannot
    displace a confident ranking's moments; when both are confident, their best moments lead.
    Returns the top ``k`` as (score, key, {list name: 1-based rank}), best first; ties go to
    the better single rank, then to the key's order.
    """
    w = FUSE_WEIGHTS if weights is None else weights
    scores: dict[tuple[object, ...], float] = {}
    ranks: dict[tuple[object, ...], dict[str, int]] = {}
    for name, rows in rankings.items():
        weight, centre = w.get(name, 1.0), centres[name]
        for r, (cos, key) in enumerate(rows, 1):
            ev = weight * (cos - centre)
            if key not in scores or ev > scores[key]:
                scores[key] = ev
            ranks.setdefault(key, {})[name] = r
    order = sorted(scores, key=lambda x: (-scores[x], min(ranks[x].values()), x))
    return [(scores[x], x, ranks[x]) for x in order[:k]]


def rrf_fuse(
    rankings: dict[str, list[tuple[object, ...]]], k: int, constant: int = RRF_K
) -> list[tuple[float, tuple[object, ...], dict[str, int]]]:
    """Reciprocal-rank fusion of ranked lists of moment keys (best first, no duplicates).

    Returns the top ``k`` as (Σ 1 / (constant + rank), key, {list name: 1-based rank}), best
    first; ties go to the better single rank, then to the key's order.
    """
    scores: dict[tuple[object, ...], float] = {}
    ranks: dict[tuple[object, ...], dict[str, int]] = {}
    for name, keys in rankings.items():
        for r, key in enumerate(keys, 1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (constant + r)
            ranks.setdefault(key, {})[name] = r
    order = sorted(scores, key=lambda x: (-scores[x], min(ranks[x].values()), x))
    return [(scores[x], x, ranks[x]) for x in order[:k]]


class Searcher:
    """Indexes, encoders and align model loaded once; :meth:`query` many times.

    Args:
        indexes: the loaded indexes.
        by: ``said``, ``seen`` or ``both`` (:data:`BY`).
        encoder: the subtitle query encoder (None: the recorded one; checked by hash).
        align: the align model for ``seen``/``both`` (None: the folder the indexes record;
            a name, folder or loaded model must be the same model, checked by hash).
    """

    def __init__(
        self,
        indexes: IndexSet,
        *,
        by: str = "said",
        encoder: str | Path | Encoder | None = None,
        align: str | Path | LoadedAlign | None = None,
    ) -> None:
        from vloc.encoders import Encoder, load_encoder

        if by not in BY:
            raise InputError(f"unknown --by {by!r}; valid: {', '.join(BY)}")
        self.indexes, self.by = indexes, by
        self.encoder: Encoder | None = None
        self.align: LoadedAlign | None = None
        self.align_encoder: Encoder | None = None
        if by in ("seen", "both"):
            sha = indexes.check_clips()
            self.align = _align_for(indexes, sha, align)
        if by in ("said", "both"):
            if isinstance(encoder, Encoder):
                check_query_encoder(indexes, encoder.ref)
                self.encoder = encoder
            else:
                self.encoder = load_encoder(encoder_for(indexes, encoder))
        if self.align is not None:
            want = self.align.encoder
            if self.encoder is not None and self.encoder.sha256 == want["sha256"]:
                self.align_encoder = self.encoder
            else:
                self.align_encoder = _align_text_encoder(self.align)

    def ranked(self, query: str, top_k: int) -> list[Hit]:
        """The top ``top_k`` hits of ``query`` (best first)."""
        if top_k < 1:
            raise InputError(f"--top-k must be at least 1, got {top_k}")
        if self.by != "both":
            return [h for _, _, h in self.rankings(query, top_k)[self.by].rows]
        lists = self.rankings(query, max(top_k, FUSE_DEPTH))
        fused = fuse(
            {name: [(sc, key) for sc, key, _ in r.rows] for name, r in lists.items()},
            {name: r.centre for name, r in lists.items()},
            top_k,
        )
        by_key = {key: h for name in ("seen", "said") for _, key, h in lists[name].rows}
        return [
            replace(
                by_key[key],
                score=score,
                source="both",
                said_rank=ranks.get("said"),
                seen_rank=ranks.get("seen"),
            )
            for score, key, ranks in fused
        ]

    def rankings(self, query: str, depth: int) -> dict[str, Ranking]:
        """Each ranking this searcher runs (``said`` and/or ``seen``): its top ``depth``.

        A moment key is ``("cue", index number, cue position)``; a ``seen`` clip is the moment
        of the cue it overlaps most, a clip under no cue ``("clip", index number, clip)``.
        With ``by="both"`` each moment appears once per list (two clips under one cue: the
        better one counts); ``by="seen"`` keeps every clip.
        """
        from vloc.encoders import QUERY_THREADS

        if not query.strip():
            raise InputError("the query is empty")
        if depth < 1:
            raise InputError(f"--top-k must be at least 1, got {depth}")
        ix = self.indexes
        out: dict[str, Ranking] = {}
        if self.encoder is not None:
            q = self.encoder.encode([query], threads=QUERY_THREADS)  # (1, D)
            [said] = ix.search(q, depth)
            rows = [(sc, ("cue", m, p), ix.hit(sc, m, p)) for sc, m, p in said]
            out["said"] = Ranking(rows, float(q[0] @ ix.mean_vector("said")))
        if self.align is not None and self.align_encoder is not None:
            emb = self.align_encoder.encode([query], threads=QUERY_THREADS)  # (1, D_t)
            q = self.align.project_text(emb)  # (1, D')
            [seen] = ix.search_clips(q, depth)
            rows, keys = [], set()
            for sc, m, j in seen:
                h = ix.clip_hit(sc, m, j)
                key = ("cue", m, h.position) if h.position >= 0 else ("clip", m, j)
                if self.by == "both" and key in keys:
                    continue
                keys.add(key)
                rows.append((sc, key, h))
            out["seen"] = Ranking(rows, float(q[0] @ ix.mean_vector("seen")))
        return out


@dataclass(frozen=True)
class Ranking:
    """One ranking of a query (``said`` or ``seen``)."""

    rows: list[tuple[float, tuple[object, ...], Hit]]  # (cosine, moment key, hit), best first
    centre: float  # the query's mean cosine over every item of the ranking (all indexes)


def _align_for(indexes: IndexSet, sha: str, align: str | Path | LoadedAlign | None) -> LoadedAlign:
    """The align model whose clips the indexes hold (checked by content hash)."""
    from vloc.align.model import LoadedAlign, load_align

    clips = indexes.indexes[0].clips
    assert clips is not None, "check_clips passed"
    if align is None:
        folder = Path(str(clips.info["align"].get("folder", "")))
        if not folder.is_dir():
            raise InputError(
                f"the align model {clips.align_name!r} the indexes were built with is no longer "
                f"at {folder}; pass its folder with --align",
                path=indexes.indexes[0].folder,
            )
        model = load_align(folder)
    else:
        model = align if isinstance(align, LoadedAlign) else load_align(align)
    if model.sha256 != sha:
        raise InputError(
            f"the indexes hold clips of align model {clips.align_name!r} (sha256 {sha[:12]}) "
            f"but {model.folder} has sha256 {model.sha256[:12]}; query with the same model or "
            "re-index"
        )
    return model


def _align_text_encoder(model: LoadedAlign) -> Encoder:
    """The align model's text encoder (by its recorded name, checked by content hash)."""
    from vloc.encoders import load_encoder, resolve_encoder

    want = model.encoder
    ref = resolve_encoder(str(want["name"]))
    if ref.sha256 != want["sha256"]:
        raise InputError(
            f"the align model was trained on text encoder {want['name']!r} (sha256 "
            f"{str(want['sha256'])[:12]}) but that name now resolves to sha256 {ref.sha256[:12]}",
            path=model.folder,
        )
    return load_encoder(ref)


def search(
    query: str,
    paths: Iterable[str | Path],
    *,
    top_k: int = DEFAULT_TOP_K,
    encoder: str | Path | Encoder | None = None,
    by: str = "said",
    align: str | Path | LoadedAlign | None = None,
) -> SearchResult:
    """Find the ``top_k`` moments most similar to ``query`` across every index under ``paths``.

    Args:
        query: free text, in any language the indexes' encoder understands.
        paths: index folders, workspaces, or folders of workspaces.
        encoder: None to use the encoder recorded in the indexes, or a name/folder/loaded
            encoder that must be the same model (checked by content hash).
        by: ``said`` (subtitles), ``seen`` (clip embeddings of an align model) or ``both``
            (the two fused by evidence, :func:`fuse`), see the module docstring.
        align: with ``seen``/``both``: the align model (default: the one the indexes record).
    """
    if not query.strip():
        raise InputError("the query is empty")
    if top_k < 1:
        raise InputError(f"--top-k must be at least 1, got {top_k}")
    if by not in BY:
        raise InputError(f"unknown --by {by!r}; valid: {', '.join(BY)}")
    t0 = time.perf_counter()
    indexes = IndexSet.load(paths)
    searcher = Searcher(indexes, by=by, encoder=encoder, align=align)
    t1 = time.perf_counter()
    hits = searcher.ranked(query, top_k)
    return SearchResult(
        query=query,
        hits=hits,
        indexes=len(indexes.indexes),
        cues=indexes.size,
        encoder=indexes.encoder_name,
        load_seconds=t1 - t0,
        query_seconds=time.perf_counter() - t1,
        by=by,
        align=searcher.align.name if searcher.align is not None else None,
    )
