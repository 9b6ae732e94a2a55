"""Batched beam search and greedy search over any incremental decoder.

Both the translator and the summarizer generate text through this module. A model only has to
implement :class:`IncrementalDecoder`: one new token per hypothesis per step, with its own cache
of self-attention keys/values. The search

* runs all ``B`` items × ``beam_size`` hypotheses as one batch (``B·beam`` rows): memory
  tensors are expanded once with ``repeat_interleave(beam, 0)``, the cache is reordered with
  ``index_select(0, rows)`` after every step;
* keeps up to ``beam_size`` finished hypotheses per item and stops an item once it has them
  (or once it reaches its maximum length); finished items are dropped from the batch, so the
  remaining steps cost less; the search ends when every item is done;
* normalises finished scores fairseq-style: ``sum(log p) / len ** length_penalty`` where
  ``len`` counts the generated tokens *including* EOS (``length_penalty = 0`` ranks by raw
  log-probability; larger values favour longer outputs).

Example::

    memory = model.encode(src, src_mask, video, video_mask)
    result = beam_search(model, memory, bos=1, eos=2, beam_size=5, max_len=64)
    result.tokens[0]   # best token ids of item 0, without BOS/EOS
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from vloc.errors import InputError

if TYPE_CHECKING:
    import torch

    from vloc.attention import Tensors

NEG_INF = float("-inf")


class IncrementalDecoder(Protocol):
    """What beam search needs from a model."""

    def decode_step(
        self, tokens: torch.Tensor, memory: Tensors, cache: Tensors, step: int
    ) -> torch.Tensor:
        """tokens: (B, 1) int64, the last generated token of each hypothesis (BOS at step 0);
        memory: encoder outputs etc., every tensor batch-first (B, ...); cache: the model's
        incremental state (self-attention keys/values so far), every tensor batch-first, created
        and extended by the model in place (dict starts empty); returns logits (B, V) float32."""


@dataclass(frozen=True)
class BeamResult:
    """The outcome of a search over ``B`` items."""

    tokens: list[list[int]]  # best hypothesis per item: token ids without BOS and EOS
    scores: list[float]  # its length-normalised log-probability
    nbest: list[list[tuple[list[int], float]]]  # per item, finished hypotheses best first


def _batch_size(memory: dict[str, torch.Tensor]) -> int:
    if not memory:
        raise InputError("beam search needs a non-empty memory dict (the encoder outputs)")
    sizes = {int(t.shape[0]) for t in memory.values()}
    if len(sizes) != 1:
        raise InputError(f"memory tensors must share their batch (first) dimension, got {sizes}")
    return sizes.pop()


def _max_lengths(max_len: int | torch.Tensor, batch: int) -> list[int]:
    import torch

    if isinstance(max_len, torch.Tensor):
        values = [int(v) for v in max_len.reshape(-1).tolist()]
        if len(values) == 1:
            values = values * batch
    else:
        values = [int(max_len)] * batch
    if len(values) != batch:
        raise InputError(f"max_len has {len(values)} entries for a batch of {batch} items")
    if any(v < 0 for v in values):
        raise InputError(f"max_len must be >= 0, got {min(values)}")
    return values


def _ban_repeated_ngrams(lprobs: torch.Tensor, history: list[list[int]], n: int) -> None:
    """Set to -inf (in place) every token that would repeat an n-gram of its row's history.

    lprobs: (rows, V) log-probabilities; history: generated tokens of each row (no BOS).
    """
    for row, seq in enumerate(history):
        if len(seq) < n - 1:
            continue
        prefix = tuple(seq[len(seq) - (n - 1) :]) if n > 1 else ()
        banned = [
            seq[i + n - 1] for i in range(len(seq) - n + 1) if tuple(seq[i : i + n - 1]) == prefix
        ]
        if banned:
            lprobs[row, banned] = NEG_INF


def _step_lprobs(
    model: IncrementalDecoder,
    last: torch.Tensor,
    memory: dict[str, torch.Tensor],
    cache: dict[str, torch.Tensor],
    step: int,
    *,
    eos: int,
    min_len: int,
    force_eos: torch.Tensor,
    no_repeat_ngram: int,
    history: list[list[int]],
    banned: tuple[int, ...],
) -> torch.Tensor:
    """Log-probabilities of the next token, (rows, V) float32, with the search constraints."""
    import torch

    logits = model.decode_step(last, memory, cache, step)  # (rows, V)
    lprobs = torch.log_softmax(logits.float(), dim=-1)
    if banned:
        lprobs[:, list(banned)] = NEG_INF
    if step < min_len:
        lprobs[:, eos] = NEG_INF
    if no_repeat_ngram > 0:
        _ban_repeated_ngrams(lprobs, history, no_repeat_ngram)
    if bool(force_eos.any()):
        # rows at their maximum length: EOS is the only continuation
        eos_col = lprobs[:, eos].clone()
        lprobs[force_eos] = NEG_INF
        lprobs[force_eos, eos] = eos_col[force_eos]
        # if EOS had been banned (min_len > max_len or an n-gram), still end the hypothesis
        lprobs[force_eos & torch.isinf(eos_col), eos] = 0.0
    return lprobs


def _reorder(tensors: dict[str, torch.Tensor], rows: torch.Tensor) -> None:
    for key, value in tensors.items():
        tensors[key] = value.index_select(0, rows)


def beam_search(
    model: IncrementalDecoder,
    memory: dict[str, torch.Tensor],
    *,
    bos: int,
    eos: int,
    beam_size: int = 5,
    max_len: int | torch.Tensor = 128,
    length_penalty: float = 1.0,
    min_len: int = 0,
    no_repeat_ngram: int = 0,
    banned: tuple[int, ...] = (),
) -> BeamResult:
    """Beam search for every item of ``memory`` at once.

    memory: the model's encoder outputs, every tensor (B, ...); max_len: the maximum number of
    generated tokens (EOS excluded), one int or a (B,) tensor; min_len: EOS is forbidden before
    this many tokens; no_repeat_ngram: forbid repeating any n-gram of this size (0: off);
    banned: token ids never generated (e.g. pad, BOS).
    """
    import torch

    if beam_size < 1:
        raise InputError(f"beam size must be >= 1, got {beam_size}")
    batch = _batch_size(memory)
    limits = _max_lengths(max_len, batch)
    k = beam_size
    device = next(iter(memory.values())).device

    memory = {key: value.repeat_interleave(k, 0) for key, value in memory.items()}  # (B·k, ...)
    cache: dict[str, torch.Tensor] = {}
    active = list(range(batch))  # item ids still searching, in row-block order
    # running log-probability of each hypothesis; only beam 0 is alive at step 0 so that the
    # first expansion does not produce k copies of the same hypothesis
    scores = torch.full((batch, k), NEG_INF, device=device)  # (b, k)
    scores[:, 0] = 0.0
    last = torch.full((batch * k, 1), bos, dtype=torch.long, device=device)  # (b·k, 1)
    history: list[list[int]] = [[] for _ in range(batch * k)]
    finished: list[list[tuple[float, int, list[int]]]] = [[] for _ in range(batch)]  # min-heaps
    tie = itertools.count()
    rules = dict(eos=eos, min_len=min_len, no_repeat_ngram=no_repeat_ngram, banned=tuple(banned))

    step = 0
    while active:
        b = len(active)
        limit_rows = torch.tensor(
            [limits[i] <= step for i in active for _ in range(k)], device=device
        )  # (b·k,)
        lprobs = _step_lprobs(
            model, last, memory, cache, step, force_eos=limit_rows, history=history, **rules
        )  # (b·k, V)
        # the 2k best of all k·V extensions are among the 2k best of each hypothesis: select
        # per row first, so the large (rows, V) tensor is touched once
        per_row = min(2 * k, lprobs.shape[-1])
        row_lp, row_tok = lprobs.topk(per_row, dim=-1)  # (b·k, per_row)
        cand = (scores.reshape(b * k, 1) + row_lp).reshape(b, k * per_row)  # (b, k·per_row)
        n_cand = min(2 * k, k * per_row)
        top_scores, top_pos = cand.topk(n_cand, dim=-1)  # (b, 2k)
        top_beam = top_pos // per_row  # (b, 2k) which hypothesis each candidate extends
        top_tok = row_tok.reshape(b, k * per_row).gather(1, top_pos)  # (b, 2k)

        # 1. finalize EOS candidates ranked within the top k (fairseq's rule)
        is_eos = top_tok == eos  # (b, 2k)
        rank_ok = torch.arange(n_cand, device=device).unsqueeze(0) < k
        final = is_eos & rank_ok & torch.isfinite(top_scores)
        length = step + 1  # generated tokens including EOS
        norm = length**length_penalty
        hits = final.nonzero().tolist()
        beams_l, scores_l = (top_beam.tolist(), top_scores.tolist()) if hits else ([], [])
        for j, c in hits:
            item = active[j]
            hyp = history[j * k + beams_l[j][c]]
            entry = (scores_l[j][c] / norm, -next(tie), list(hyp))
            if len(finished[item]) < k:
                heapq.heappush(finished[item], entry)
            else:  # keep the k best (min-heap: the worst is on top)
                heapq.heappushpop(finished[item], entry)

        # 2. the k best non-EOS candidates continue
        cont_scores = top_scores.masked_fill(is_eos, NEG_INF)
        cont_scores, order = cont_scores.topk(k, dim=-1)  # (b, k)

        # 3. items with k finished hypotheses, at their length limit, or without a live
        # (finite-score) hypothesis left are done
        alive = torch.isfinite(cont_scores).any(dim=1).tolist()
        done = [
            len(finished[item]) >= k or limits[item] <= step or not alive[j]
            for j, item in enumerate(active)
        ]
        if all(done):
            break
        cont_beam = top_beam.gather(1, order)  # (b, k)
        cont_tok = top_tok.gather(1, order)  # (b, k)
        rows = (torch.arange(b, device=device).unsqueeze(1) * k + cont_beam).reshape(-1)  # (b·k,)
        rows_list = rows.tolist()
        toks_list = cont_tok.reshape(-1).tolist()
        history = [history[r] + [t] for r, t in zip(rows_list, toks_list, strict=True)]
        scores = cont_scores
        last = cont_tok.reshape(b * k, 1)

        # 4. drop done items from the batch
        keep = [j for j, d in enumerate(done) if not d]
        if len(keep) < b:
            keep_t = torch.tensor(keep, device=device)
            keep_rows = (keep_t.unsqueeze(1) * k + torch.arange(k, device=device)).reshape(-1)
            active = [active[j] for j in keep]
            scores = scores.index_select(0, keep_t)
            last = last.index_select(0, keep_rows)
            history = [history[r] for r in keep_rows.tolist()]
            rows = rows.index_select(0, keep_rows)
            _reorder(memory, keep_rows)
        _reorder(cache, rows)
        step += 1

    nbest = []
    for heap in finished:
        ranked = sorted(heap, key=lambda e: (-e[0], -e[1]))  # best first, then oldest
        nbest.append([(hyp, score) for score, _, hyp in ranked])
    return BeamResult(
        tokens=[n[0][0] if n else [] for n in nbest],
        scores=[n[0][1] if n else NEG_INF for n in nbest],
        nbest=nbest,
    )


def greedy_search(
    model: IncrementalDecoder,
    memory: dict[str, torch.Tensor],
    *,
    bos: int,
    eos: int,
    max_len: int | torch.Tensor = 128,
    length_penalty: float = 1.0,
    min_len: int = 0,
    no_repeat_ngram: int = 0,
    banned: tuple[int, ...] = (),
) -> BeamResult:
    """Pick the most probable token at every step; same arguments and scores as
    :func:`beam_search` (which gives the same result with ``beam_size=1``)."""
    import torch

    batch = _batch_size(memory)
    limits = _max_lengths(max_len, batch)
    device = next(iter(memory.values())).device
    memory = dict(memory)
    cache: dict[str, torch.Tensor] = {}
    active = list(range(batch))
    scores = torch.zeros(batch, device=device)  # (b,)
    last = torch.full((batch, 1), bos, dtype=torch.long, device=device)  # (b, 1)
    history: list[list[int]] = [[] for _ in range(batch)]
    out: list[tuple[list[int], float] | None] = [None] * batch
    rules = dict(eos=eos, min_len=min_len, no_repeat_ngram=no_repeat_ngram, banned=tuple(banned))
    step = 0
    while active:
        force = torch.tensor([limits[i] <= step for i in active], device=device)
        lprobs = _step_lprobs(
            model, last, memory, cache, step, force_eos=force, history=history, **rules
        )  # (b, V)
        best, tok = lprobs.max(dim=-1)  # (b,), (b,)
        scores = scores + best
        keep = []
        for j, item in enumerate(active):
            if int(tok[j]) == eos:
                out[item] = (history[j], float(scores[j]) / (step + 1) ** length_penalty)
            else:
                history[j] = history[j] + [int(tok[j])]
                keep.append(j)
        if not keep:
            break
        last = tok.unsqueeze(1)
        if len(keep) < len(active):
            keep_t = torch.tensor(keep, device=device)
            active = [active[j] for j in keep]
            scores = scores.index_select(0, keep_t)
            last = last.index_select(0, keep_t)
            history = [history[j] for j in keep]
            _reorder(memory, keep_t)
            _reorder(cache, keep_t)
        step += 1
    results = [o if o is not None else ([], NEG_INF) for o in out]
    return BeamResult(
        tokens=[r[0] for r in results],
        scores=[r[1] for r in results],
        nbest=[[r] for r in results],
    )
