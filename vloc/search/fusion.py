"""Fusing the said and seen rankings of a query (``vloc search --by both``).

The two rankings are fused by their evidence (:func:`fuse`): each list's top
:data:`FUSE_DEPTH` (at least top-k) moments; a moment scores
``max over the lists it is in of w × (cosine − centre)``, where ``centre`` is the query's
mean cosine over *every* cue (said) or clip (seen) of the searched indexes (one dot product
with the mean stored vector, :meth:`vloc.search.IndexSet.mean_vector`) and ``w`` is
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

RRF_K = 60  # reciprocal-rank fusion constant (Cormack et al. 2009): 1 / (RRF_K + rank)
FUSE_DEPTH = 100  # candidates taken from each ranking before fusing (at least top-k)
# --by both: a ranking's evidence for a moment is its cosine above the query's mean cosine over
# every item of that ranking, times this weight. Cosine spreads of the two spaces are not
# alike (the sentence encoder's is about half the align space's); on validation films every
# said weight in 1.75-3 fused as well as the better single ranking, 1.5 and below or 4 and
# above did not (see the module docstring)
FUSE_WEIGHTS: dict[str, float] = {"said": 2.0, "seen": 1.0}


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


__all__ = ["FUSE_DEPTH", "FUSE_WEIGHTS", "RRF_K", "fuse", "rrf_fuse"]
