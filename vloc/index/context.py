"""The video context of every cue of a film (paper §III-A, eq. 1–3, and the baselines' ids).

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

The translator's variants see other segments (:attr:`TranslatorConfig.context
<vloc.translator.config.TranslatorConfig.context>`): ``global`` the retrieved ones above,
``temporal`` the P cues nearest in time with the same window fusion (the ``no-gr`` baselines,
:func:`temporal_context_ids`), ``own`` the cue's raw segment alone, ``none`` nothing.
:func:`film_context` builds that context for one film from its cues' plain texts and features;
``vloc translate``, training and ``vloc eval translate`` all use it, so the model is trained,
scored and run on the very same tensors: float32 segments fused in float32 from the stored
(float16) features, gathered per batch by :meth:`FilmContext.gather`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vloc.errors import InputError
from vloc.text import plain_text

if TYPE_CHECKING:
    import numpy as np

    from vloc.encoders import Encoder

DEFAULT_P = 10  # retrieved segments per cue (paper §IV, P = 10)
DEFAULT_W = 2  # neighbours on each side fused into a retrieved segment (paper, w = 2)
DEFAULT_GAMMA = 0.1  # weight of the neighbours (paper, γ = 0.1)
SIM_BLOCK_ROWS = 512  # query rows per similarity block: bounds memory at 512 × N float32
TIE_GRID = float(2**20)  # similarities closer than ~1e-6 rank as ties (broken by position)
PAD_ID = -1  # id of a padding slot when the film has fewer than P cues
CONTEXT_KINDS = ("global", "temporal", "own", "none")  # see the module docstring
FUSED_KINDS = ("global", "temporal")  # kinds whose segments are window-fused (eq. 2)
PROGRESS_CHUNK = 256  # cues embedded between progress reports (4 encoder batches)


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


def embed_texts(
    encoder: Encoder,
    texts: Sequence[str],
    *,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Cue embeddings ``(N, D)`` float32 unit rows, exactly as the subtitle index stores them.

    Texts are reduced to their plain form (:func:`vloc.text.plain_text`) and embedded in
    the index's order: sorted by length (similar lengths batch together), in chunks of
    ``PROGRESS_CHUNK``. A sentence encoder's numbers depend slightly on what shares its batch,
    so this order is what makes the rows equal, bit for bit, to ``SubtitleIndex.embeddings()``
    of the same cues.
    """
    import numpy as np

    plain = [plain_text(t) for t in texts]
    order = np.argsort([len(t) for t in plain], kind="stable")  # similar lengths batch together
    emb = np.empty((len(plain), encoder.dim), dtype=np.float32)  # (N, D) unit rows, cue order
    for s in range(0, len(plain), PROGRESS_CHUNK):
        rows = order[s : s + PROGRESS_CHUNK]
        emb[rows] = encoder.encode([plain[i] for i in rows])
        if progress is not None:
            progress(min(s + PROGRESS_CHUNK, len(plain)), len(plain))
    return emb


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


def temporal_context_ids(n_cues: int, segments: int) -> list[list[int]]:
    """For the ``no-gr`` variants: per cue, the ``segments`` cue indices nearest in time,
    own cue first then alternating earlier/later (i, i−1, i+1, i−2, i+2, ...), skipping
    indices outside ``[0, n_cues)``; fewer when the film has fewer cues (pad with a mask)."""
    out = []
    for i in range(n_cues):
        ids = [i]
        d = 1
        while len(ids) < min(segments, n_cues):
            for j in (i - d, i + d):
                if 0 <= j < n_cues and len(ids) < segments:
                    ids.append(j)
            d += 1
        out.append(ids)
    return out


def context_ids(
    kind: str,
    n: int,
    *,
    p: int,
    embeddings: np.ndarray | None = None,
) -> np.ndarray | None:
    """Per cue, the positions of the segments it sees: ``(N, P)`` int64, ``PAD_ID`` (-1) where
    a film has fewer cues than P; ``(N, 1)`` (the cue itself) for ``own``; None for ``none``.

    ``global``: eq. 1, the P most similar cues by subtitle embedding (the cue itself first);
    ``temporal``: the P cues nearest in time (:func:`temporal_context_ids`).
    """
    import numpy as np

    if kind not in CONTEXT_KINDS:
        raise InputError(f"unknown context kind {kind!r}; valid: {', '.join(CONTEXT_KINDS)}")
    if kind == "none":
        return None
    if kind == "own":
        return np.arange(n, dtype=np.int64)[:, None]
    if kind == "global":
        if embeddings is None:
            raise InputError("global retrieval needs the cues' subtitle embeddings")
        ids, _ = retrieve(embeddings, p=p)
        return ids
    ids = np.full((n, p), PAD_ID, dtype=np.int64)
    for i, near in enumerate(temporal_context_ids(n, p)):
        ids[i, : len(near)] = near
    return ids


def enhance(
    features: np.ndarray, *, w: int = DEFAULT_W, gamma: float = DEFAULT_GAMMA
) -> np.ndarray:
    """Eq. 2 for every segment: ``f + γ · Σ_{k=1..w} (f[j-k] + f[j+k])``, absent outside the film.

    Args:
        features: ``(N, ...)`` per-segment features in cue order (e.g. ``(N, R, D)``); float16
            is widened to float32 (exactly) before anything is summed.
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


def gather_context(ids: np.ndarray, segments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eq. 3 for a batch: (video ``(B, P, R, D)`` float32, the ``segments`` ``(N, R, D)`` at the
    context ids ``(B, P)`` with zeros at padding; mask ``(B, P)`` bool, True at real ones).
    ``segments`` is the film's array, or a lazy context's rows of it (indexed the same way)."""
    import numpy as np

    mask = ids != PAD_ID
    video = segments[np.where(mask, ids, 0)]  # (B, P, R, D)
    video[~mask] = 0.0
    return np.ascontiguousarray(video, dtype=np.float32), mask


def fuse_rows(
    features: np.ndarray, rows: np.ndarray, *, w: int = DEFAULT_W, gamma: float = DEFAULT_GAMMA
) -> np.ndarray:
    """Eq. 2 for the segments at ``rows`` only: ``enhance(features)[rows]``, bit for bit (the
    same float32 sums in the same order), reading just those rows and their neighbours.

    Args:
        features: ``(N, ...)`` raw per-segment features (float16, e.g. memory-mapped, or
            float32).
        rows: ``(U,)`` segment positions in ``[0, N)``.
    Returns:
        ``(U, ...)`` float32 enhanced features.
    """
    import numpy as np

    n = features.shape[0]
    rows = np.asarray(rows, dtype=np.int64).reshape(-1)
    # one (U, ...) float32 sum and one neighbour at a time: the batch's memory is set by U, never
    # by how far apart its rows lie in the film (a block of every row read would be up to
    # (2w + 1) U rows). An absent neighbour adds nothing, as +0.0 would (the sum starts at +0.0)
    neighbours = np.zeros((rows.size, *features.shape[1:]), np.float32)
    for k in range(1, min(w, n - 1) + 1):  # preceding j-k, then following j+k: enhance's order
        for near in (rows - k, rows + k):
            inside = (near >= 0) & (near < n)
            neighbours[inside] += features[near[inside]]  # float16 rows widened to float32
    centre = np.asarray(features[rows], dtype=np.float32)
    return centre + np.float32(gamma) * neighbours


@dataclass(frozen=True, eq=False)
class FilmContext:
    """The segments every cue of one film sees (see the module docstring).

    Attributes:
        kind: one of ``CONTEXT_KINDS``.
        ids: ``(N, P)`` int64 cue positions per cue (``PAD_ID`` = padding; ``(N, 1)`` for
            ``own``), or None for ``none``.
        segments: ``(N, R, D)`` float32 per-cue segments the ids index: window-fused (eq. 2)
            for ``global`` and ``temporal``, raw for ``own``; None for ``none`` and for a
            ``lazy`` context.
        raw: a ``lazy`` context's ``(N, R, D)`` stored features (float16, possibly
            memory-mapped): :meth:`gather` fuses only the rows a batch uses, with ``w`` and
            ``gamma``, so the film's segments never sit in memory as float32.
    """

    kind: str
    ids: np.ndarray | None
    segments: np.ndarray | None
    raw: np.ndarray | None = None
    w: int = DEFAULT_W
    gamma: float = DEFAULT_GAMMA

    def gather(self, rows: Sequence[int] | np.ndarray) -> tuple[Any, Any]:
        """(video ``(B, P, R, D)`` float32, mask ``(B, P)`` bool) for the cues at ``rows``;
        (None, None) for ``none``. The same values whether the context is lazy or not."""
        import numpy as np

        if self.ids is None or (self.segments is None and self.raw is None):
            return None, None
        ids = self.ids[np.asarray(rows, dtype=np.int64)]  # (B, P)
        if self.segments is not None:
            return gather_context(ids, self.segments)
        used = np.unique(np.where(ids != PAD_ID, ids, 0))  # (U,) the segments this batch sees
        if self.kind in FUSED_KINDS:
            block = fuse_rows(self.raw, used, w=self.w, gamma=self.gamma)  # (U, R, D)
        else:
            block = np.asarray(self.raw[used], dtype=np.float32)
        return gather_context(ids, _Rows(used, block))


class _Rows:
    """Rows ``used`` (sorted) of an ``(N, R, D)`` array, held as ``block`` ``(U, R, D)``:
    indexing by cue positions among ``used`` gives what the full array would."""

    def __init__(self, used: np.ndarray, block: np.ndarray) -> None:
        self.used, self.block = used, block

    def __getitem__(self, positions: np.ndarray) -> np.ndarray:
        import numpy as np

        return self.block[np.searchsorted(self.used, positions)]


def film_context(
    kind: str,
    texts: Sequence[str],
    features: np.ndarray | None,
    *,
    p: int = DEFAULT_P,
    w: int = DEFAULT_W,
    gamma: float = DEFAULT_GAMMA,
    embeddings: np.ndarray | None = None,
    encoder: Encoder | None = None,
    lazy: bool = False,
) -> FilmContext:
    """The context of every cue of one film: ids by ``kind`` and the features they index.

    Args:
        kind: ``global`` | ``temporal`` | ``own`` | ``none`` (see the module docstring).
        texts: the N cues' plain texts (tags removed; "" for an empty cue), in film order.
        features: ``(N, R, D)`` raw per-cue segment features (float16 or float32; None for
            ``none``); window-fused here, in float32.
        p, w, gamma: P segments per cue, w neighbours per side, γ (eq. 1–2).
        embeddings: ``global``: the cues' index embeddings ``(N, E)``
            (``SubtitleIndex.embeddings()`` of the same cues); when None, the ``texts`` are
            embedded with ``encoder`` exactly as the index does (:func:`embed_texts`).
        lazy: keep ``features`` as given (float16, memory-mapped: a long film's segments are
            never widened to float32 as a whole) and fuse per batch in
            :meth:`FilmContext.gather`, which returns the same values.
    """
    import numpy as np

    n = len(texts)
    if kind not in CONTEXT_KINDS:
        raise InputError(f"unknown context kind {kind!r}; valid: {', '.join(CONTEXT_KINDS)}")
    if kind == "none":
        return FilmContext(kind, None, None)
    if p < 1 or w < 0 or not math.isfinite(gamma):
        raise InputError(f"need p >= 1, w >= 0 and a finite gamma, got p={p}, w={w}, gamma={gamma}")
    if features is None or np.ndim(features) != 3 or features.shape[0] != n:
        shape = None if features is None else np.shape(features)
        raise InputError(f"need per-cue segment features (N={n}, R, D), got shape {shape}")
    if kind == "global" and embeddings is None:
        if encoder is None:
            raise InputError("global retrieval needs the cues' embeddings or a sentence encoder")
        embeddings = embed_texts(encoder, texts)
    if embeddings is not None and kind == "global" and embeddings.shape[0] != n:
        raise InputError(
            f"the subtitle index has {embeddings.shape[0]} cues but the film has {n}: they "
            "must come from the same subtitles"
        )
    ids = context_ids(kind, n, p=p, embeddings=embeddings)
    if lazy:
        return FilmContext(kind, ids, None, raw=features, w=w, gamma=gamma)
    if kind in FUSED_KINDS:
        segments = enhance(features, w=w, gamma=gamma)  # (N, R, D) float32
    else:
        segments = np.asarray(features, dtype=np.float32)  # own: the raw segment V_i
    return FilmContext(kind, ids, segments)


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
    fused, mask = gather_context(ids, enhance(feats, w=w, gamma=gamma))  # (B, P, R, D), (B, P)
    return GlobalContext(ids=ids, scores=scores, mask=mask, fused=fused)
