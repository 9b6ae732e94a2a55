"""Search moments across indexed videos: one query, many subtitle indexes, one ranking.

All indexes are loaded once (:class:`IndexSet`) and searched exactly; scores are cosine
similarities, comparable across films because every index must come from the same encoder.

What a query is matched against (``by``, :data:`BY`):

* ``said`` — the subtitle cues (the sentence encoder's embeddings of what is said);
* ``seen`` — the clip embeddings an align model stored in the indexes
  (``vloc index VIDEO SUBS --align MODEL``): the query goes through the model's text encoder and
  text head (:mod:`vloc.align`), so a description of what is shown finds it, in any language
  the text encoder knows, even when no subtitle names it; with a CLIP model
  (``--align clip:NAME``) through CLIP's text tower (English only). Every index must hold
  clips of the same align (or CLIP) model;
* ``both`` — the two rankings fused by their evidence (:mod:`vloc.search.fusion`).

The package: :mod:`vloc.search.indexes` (the indexes searched as one, :class:`IndexSet`),
:mod:`vloc.search.fusion` (``--by both``), :mod:`vloc.search.seen` (the align model behind the
clips); this module holds the :class:`Searcher` and :func:`search`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from vloc.align.clip import is_clip_model
from vloc.errors import InputError
from vloc.search.fusion import FUSE_DEPTH, FUSE_WEIGHTS, RRF_K, fuse, rrf_fuse
from vloc.search.indexes import Hit, IndexSet
from vloc.search.seen import align_for, align_text_encoder, encode_seen

if TYPE_CHECKING:
    from vloc.align.clip import LoadedClip
    from vloc.align.model import LoadedAlign
    from vloc.encoders import Encoder, EncoderRef

DEFAULT_TOP_K = 10  # moments shown per query
BY = ("said", "seen", "both")  # what a query is matched against (see the module docstring)


@dataclass(frozen=True)
class SearchResult:
    """Ranked hits of one query and where the time went."""

    query: str
    hits: list[Hit]  # best first, at most top_k
    indexes: int  # number of indexes searched (a video may have several: one per subtitle file)
    cues: int  # total cues searched
    encoder: str  # encoder name recorded in the indexes
    load_seconds: float  # loading the indexes and the encoder
    query_seconds: float  # embedding the query and searching
    by: str = "said"  # what the query was matched against (BY)
    align: str | None = None  # the align model's name (by seen / both)
    videos: int = 0  # distinct videos among the indexes


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
        align: str | Path | LoadedAlign | LoadedClip | None = None,
    ) -> None:
        from vloc.encoders import Encoder, load_encoder

        if by not in BY:
            raise InputError(f"unknown --by {by!r}; valid: {', '.join(BY)}")
        self.indexes, self.by = indexes, by
        self.encoder: Encoder | None = None
        self.align: LoadedAlign | LoadedClip | None = None
        self.align_encoder: Encoder | None = None
        if by in ("seen", "both"):
            sha = indexes.check_clips()
            self.align = align_for(indexes, sha, align)
        if by in ("said", "both"):
            if isinstance(encoder, Encoder):
                check_query_encoder(indexes, encoder.ref)
                self.encoder = encoder
            else:
                self.encoder = load_encoder(encoder_for(indexes, encoder))
        if self.align is not None and not is_clip_model(self.align):  # CLIP has its text tower
            want = self.align.encoder
            if self.encoder is not None and self.encoder.sha256 == want["sha256"]:
                self.align_encoder = self.encoder
            else:
                self.align_encoder = align_text_encoder(self.align)

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
        if self.align is not None:
            q = encode_seen(self.align, self.align_encoder, [query])  # (1, D')
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


def search(
    query: str,
    paths: Iterable[str | Path],
    *,
    top_k: int = DEFAULT_TOP_K,
    encoder: str | Path | Encoder | None = None,
    by: str = "said",
    align: str | Path | LoadedAlign | LoadedClip | None = None,
) -> SearchResult:
    """Find the ``top_k`` moments most similar to ``query`` across every index under ``paths``.

    Args:
        query: free text, in any language the indexes' encoder understands.
        paths: index folders, workspaces, or folders of workspaces.
        encoder: None to use the encoder recorded in the indexes, or a name/folder/loaded
            encoder that must be the same model (checked by content hash).
        by: ``said`` (subtitles), ``seen`` (clip embeddings of an align model) or ``both``
            (the two fused by evidence, :func:`fuse`), see the module docstring.
        align: with ``seen``/``both``: the align model or ``clip:NAME`` (default: the one the
            indexes record).
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
        videos=len({ix.video for ix in indexes.indexes}),
    )


__all__ = [
    "BY",
    "DEFAULT_TOP_K",
    "FUSE_DEPTH",
    "FUSE_WEIGHTS",
    "RRF_K",
    "Hit",
    "IndexSet",
    "Ranking",
    "SearchResult",
    "Searcher",
    "check_query_encoder",
    "encoder_for",
    "fuse",
    "rrf_fuse",
    "search",
]
