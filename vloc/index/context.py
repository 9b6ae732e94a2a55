"""Global retrieval of visual context for every cue of a film (paper §III-A, eq. 1–3).

For cue i of a film with N cues (subtitle embeddings ``e`` L2-normalised, so the inner product is
the cosine similarity):

* eq. 1 — ``I_i = Top_P(sim(S_x, S_i)), 1 <= x <= N``: the P cues of the same film most similar to
  cue i. The cue itself is always among them and always first (its own similarity is maximal, and
  it is placed first even when another cue has the same text); the rest follow by decreasing
  similarity, ties (equal to ~1e-6) by increasing cue position.
* eq. 2 — ``ṽ_j = v_j + γ · Σ_{k ∈ N_w(j)} v_k``: each retrieved segment's *raw* features plus γ
  times the sum of the *raw* features of its w preceding and w following segments in cue order.
  Neighbours outside the film are absent (no wrap-around, no padding): the first cue has only
  followers, and w larger than the film simply takes all other cues.
* eq. 3 — ``V_global,i = {ṽ_j | j ∈ I_i}``, in retrieval order.

When a film has fewer cues than P, the tail is padding: id -1, score -inf, features zero and
``mask`` False, so that a model always gets a fixed (P, R, D) block per cue.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vloc.errors import InputError

if TYPE_CHECKING:
    import numpy as np

DEFAULT_P = 10  # retrieved segments per cue (paper §IV, P = 10)
DEFAULT_W = 2  # neighbours on each side fused into a retrieved segment (paper, w = 2)
DEFAULT_GAMMA = 0.1  # weight of the neighbours (paper, γ = 0.1)
SIM_BLOCK_ROWS = 512  # query rows per similarity block: bounds memory at 512 × N float32
TIE_GRID = float(2**20)  # similarities closer than ~1e-6 rank as ties (broken by position)
PAD_ID = -1  # id of a padding slot when the film has fewer than P cues


@dataclass(frozen=True)
class GlobalContext:
    """Retrieved segments and their fused features for B query cues (B = N unless ``rows``).

    Attributes:
        ids: ``(B, P)`` int64 cue positions (0-based, in film order), column 0 = the query
            cue itself; ``PAD_ID`` where the film has fewer than P cues.
        scores: ``(B, P)`` float32 cosine similarities to the query cue; -inf at padding.
        mask: ``(B, P)`` bool, True at real segments.
        fused: ``(B, P, R, D)`` float32 enhanced features ṽ_j of eq. 2; zeros at padding.
    """

    ids: np.ndarray
    scores: np.ndarray
    mask: np.ndarray
    fused: np.ndarray


def _embeddings(index_or_embeddings: Any) -> np.ndarray:
    """``(N, D)`` float32 unit rows from a SubtitleIndex or an array (normalised here)."""
    import numpy as np

    if hasattr(index_or_embeddings, "embeddings"):
        emb = index_or_embeddings.embeddings()
    else:
        emb = np.asarray(index_or_embeddings, dtype=np.float32)
    if emb.ndim != 2:
        raise InputError(f"subtitle embeddings must be (N, D), got shape {emb.shape}")
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    return np.ascontiguousarray(emb / np.maximum(norms, 1e-12), dtype=np.float32)


def retrieve(
    embeddings: np.ndarray, *, p: int = DEFAULT_P, rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Eq. 1 for the query cues ``rows`` (default: all) of one film.

    Args:
        embeddings: ``(N, D)`` float32, L2-normalised rows in cue order.
        p: P, the number of retrieved cues (padded with ``PAD_ID`` when P > N).
        rows: ``(B,)`` int positions of the query cues, or None for all N.
    Returns:
        ids ``(B, P)`` int64 and scores ``(B, P)`` float32 (-inf at padding).
    """
    import numpy as np

    n = embeddings.shape[0]
    rows = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64).reshape(-1)
    if rows.size and (rows.min() < 0 or rows.max() >= n):
        raise InputError(
            f"query cue positions must lie in [0, {n}), got {rows.min()}..{rows.max()}"
        )
    take = min(p, n)
    ids = np.full((rows.size, p), PAD_ID, dtype=np.int64)
    scores = np.full((rows.size, p), -np.inf, dtype=np.float32)
    for s in range(0, rows.size, SIM_BLOCK_ROWS):
        blk = rows[s : s + SIM_BLOCK_ROWS]
        sim = embeddings[blk] @ embeddings.T  # (b, N) cosine similarities
        # rank on a 2^-20 grid: BLAS rounding differs with the block's shape, and identical
        # lines must tie exactly so that the lower position wins whatever the batch
        key = -np.round(sim * TIE_GRID)
        key[np.arange(blk.size), blk] = -np.inf  # the query cue itself sorts first
        order = np.argsort(key, axis=1, kind="stable")[:, :take]  # ties: lower position first
        ids[s : s + blk.size, :take] = order
        scores[s : s + blk.size, :take] = np.take_along_axis(sim, order, axis=1)
    return ids, scores


def enhance(
    features: np.ndarray, *, w: int = DEFAULT_W, gamma: float = DEFAULT_GAMMA
) -> np.ndarray:
    """Eq. 2 for every segment: ``f + γ · Σ_{k=1..w} (f[j-k] + f[j+k])``, absent outside the film.

    Args:
        features: ``(N, ...)`` per-segment features in cue order (e.g. ``(N, R, D)``).
    Returns:
        ``(N, ...)`` float32 enhanced features; the neighbour sum uses the raw features.
    """
    import numpy as np

    f = np.asarray(features, dtype=np.float32)
    n = f.shape[0]
    neighbours = np.zeros_like(f)
    for k in range(1, min(w, n - 1) + 1):
        neighbours[k:] += f[:-k]  # preceding segment j-k
        neighbours[:-k] += f[k:]  # following segment j+k
    return f + np.float32(gamma) * neighbours


def global_context(
    index_or_embeddings: Any,
    features: np.ndarray,
    *,
    p: int = DEFAULT_P,
    w: int = DEFAULT_W,
    gamma: float = DEFAULT_GAMMA,
    rows: np.ndarray | None = None,
) -> GlobalContext:
    """Global visual context for the cues of one film, vectorised over all of them.

    Args:
        index_or_embeddings: a :class:`~vloc.index.SubtitleIndex` of the film, or its cue
            embeddings ``(N, D)`` (normalised here).
        features: ``(N, R, D_v)`` per-cue segment features (R regions), in cue order.
        p, w, gamma: P retrieved cues, w neighbours per side, γ (paper: 10, 2, 0.1).
        rows: ``(B,)`` positions of the query cues (batches of a long film); None = all N.
            The result's ``fused`` holds B × P × R × D_v floats, so for a 1,500-cue film with
            9 regions × 2048 dims, all at once is 1.1 GB: pass ``rows`` per batch instead.
    Returns:
        :class:`GlobalContext` with ids/scores/mask ``(B, P)`` and fused ``(B, P, R, D_v)``.

    Example::

        >>> ctx = global_context(np.eye(3), np.ones((3, 1, 2)), p=4, w=1)
        >>> ctx.ids[0].tolist(), ctx.mask[0].tolist()
        ([0, 1, 2, -1], [True, True, True, False])
        >>> ctx.fused[0, 0, 0].tolist()    # cue 0 has one neighbour: 1 + 0.1 * 1
        [1.100000023841858, 1.100000023841858]
    """
    import numpy as np

    if p < 1 or w < 0 or not math.isfinite(gamma):
        raise InputError(f"need p >= 1, w >= 0 and a finite gamma, got p={p}, w={w}, gamma={gamma}")
    emb = _embeddings(index_or_embeddings)
    feats = np.asarray(features)
    if feats.ndim != 3:
        raise InputError(f"segment features must be (N, R, D), got shape {feats.shape}")
    if feats.shape[0] != emb.shape[0]:
        raise InputError(
            f"the subtitle index has {emb.shape[0]} cues but the features have "
            f"{feats.shape[0]} segments: they must come from the same film and subtitles"
        )
    if emb.shape[0] == 0:
        raise InputError("cannot retrieve context in a film with no cues")
    ids, scores = retrieve(emb, p=p, rows=rows)
    enhanced = enhance(feats, w=w, gamma=gamma)  # (N, R, D)
    mask = ids != PAD_ID
    fused = enhanced[np.where(mask, ids, 0)]  # (B, P, R, D)
    fused[~mask] = 0.0
    return GlobalContext(ids=ids, scores=scores, mask=mask, fused=fused)
