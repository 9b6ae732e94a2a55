"""Beam and greedy search: toy decoders with known probabilities and a small random translator."""

from __future__ import annotations

import math

import pytest
import torch
from tiny_models import tiny_translator

from vloc.errors import InputError
from vloc.generation import beam_search, greedy_search

PAD, BOS, EOS, A, B = 0, 1, 2, 3, 4
VOCAB = 5


class ToyDecoder:
    """Next-token probabilities given by ``table(prefix, item)``; the prefix is kept in the
    cache (batch-first), so a wrong cache reordering by the search changes the result."""

    def __init__(self, table) -> None:
        self.table = table
        self.calls = 0

    def decode_step(self, tokens, memory, cache, step):
        self.calls += 1
        hist = cache.get("hist", tokens.new_zeros((tokens.shape[0], 0)))
        hist = torch.cat([hist, tokens], dim=1)  # (rows, step + 1), BOS first
        cache["hist"] = hist
        item = memory["item"][:, 0].tolist()  # (rows,)
        logits = torch.full((tokens.shape[0], VOCAB), float("-inf"))
        for row, prefix in enumerate(hist[:, 1:].tolist()):
            for tok, p in self.table(tuple(prefix), item[row]).items():
                logits[row, tok] = math.log(p)
        return logits


def greedy_trap(prefix, item):
    """Greedy takes A (0.6) then is stuck; beam finds B EOS (0.36 > 0.6·0.36·0.5)."""
    if prefix == ():
        return {A: 0.6, B: 0.4}
    if prefix == (A,):
        return {A: 0.36, B: 0.34, EOS: 0.30}
    if prefix == (B,):
        return {EOS: 0.9, A: 0.05, B: 0.05}
    return {EOS: 0.5, A: 0.26, B: 0.24}


def mirrored(prefix, item):
    """Item 0 prefers A-paths, item 1 the same probabilities with A and B swapped."""
    swap = {A: B, B: A, EOS: EOS}
    if item == 1:
        prefix = tuple(swap[t] for t in prefix)
    probs = greedy_trap(prefix, item)
    return {swap[t]: p for t, p in probs.items()} if item == 1 else probs


def memory_for(items):
    return {"item": torch.tensor(items).view(-1, 1)}


def test_beam_finds_the_sequence_greedy_misses():
    model = ToyDecoder(greedy_trap)
    greedy = greedy_search(model, memory_for([0]), bos=BOS, eos=EOS, length_penalty=0.0)
    beam = beam_search(
        model, memory_for([0]), bos=BOS, eos=EOS, beam_size=2, length_penalty=0.0, max_len=10
    )
    assert greedy.tokens == [[A, A]]
    assert greedy.scores[0] == pytest.approx(math.log(0.6 * 0.36 * 0.5))
    assert beam.tokens == [[B]]
    assert beam.scores[0] == pytest.approx(math.log(0.4 * 0.9))
    # the n-best list is sorted and holds up to beam_size finished hypotheses
    scores = [s for _, s in beam.nbest[0]]
    assert scores == sorted(scores, reverse=True) and len(scores) == 2


def test_batched_items_are_searched_independently():
    model = ToyDecoder(mirrored)
    batched = beam_search(
        model, memory_for([0, 1, 0]), bos=BOS, eos=EOS, beam_size=2, length_penalty=0.0
    )
    assert batched.tokens == [[B], [A], [B]]
    for i, item in enumerate([0, 1, 0]):
        alone = beam_search(
            model, memory_for([item]), bos=BOS, eos=EOS, beam_size=2, length_penalty=0.0
        )
        assert alone.tokens[0] == batched.tokens[i]
        assert alone.scores[0] == pytest.approx(batched.scores[i])


def test_length_penalty_trades_probability_for_length():
    def table(prefix, item):
        if prefix == ():
            return {EOS: 0.55, A: 0.45}
        return {A: 1.0} if len(prefix) < 3 else {EOS: 1.0}

    model = ToyDecoder(table)
    raw = beam_search(model, memory_for([0]), bos=BOS, eos=EOS, beam_size=3, length_penalty=0.0)
    assert raw.tokens == [[]]  # log 0.55 beats log 0.45
    normed = beam_search(model, memory_for([0]), bos=BOS, eos=EOS, beam_size=3, length_penalty=1.0)
    assert normed.tokens == [[A, A, A]]
    assert normed.scores[0] == pytest.approx(math.log(0.45) / 4)  # 3 tokens + EOS
    assert normed.nbest[0][1] == ([], pytest.approx(math.log(0.55)))


def test_min_len_max_len_and_ngram_blocking():
    def prefers_a(prefix, item):
        return {A: 0.7, B: 0.2, EOS: 0.1} if len(prefix) > 0 else {EOS: 0.6, A: 0.3, B: 0.1}

    model = ToyDecoder(prefers_a)
    # max_len per item: a (B,) tensor; outputs never exceed it
    out = beam_search(
        model,
        memory_for([0, 0]),
        bos=BOS,
        eos=EOS,
        beam_size=2,
        min_len=1,
        max_len=torch.tensor([3, 5]),
    )
    assert [len(t) for t in out.tokens] == [3, 5]  # min_len=1 removed the empty output
    assert all(set(t) <= {A, B} for t in out.tokens)
    blocked = greedy_search(
        model, memory_for([0]), bos=BOS, eos=EOS, min_len=1, max_len=8, no_repeat_ngram=2
    )
    seq = blocked.tokens[0]
    bigrams = list(zip(seq, seq[1:], strict=False))
    assert len(bigrams) == len(set(bigrams)) and len(seq) >= 2
    banned = greedy_search(
        model, memory_for([0]), bos=BOS, eos=EOS, min_len=2, max_len=4, banned=(A,)
    )
    assert banned.tokens == [[B, B, B, B]]


def test_search_stops_early_when_all_items_are_done():
    model = ToyDecoder(greedy_trap)
    beam_search(model, memory_for([0]), bos=BOS, eos=EOS, beam_size=2, max_len=100)
    assert model.calls < 10


def test_bad_arguments_are_reported():
    model = ToyDecoder(greedy_trap)
    with pytest.raises(InputError, match="beam size"):
        beam_search(model, memory_for([0]), bos=BOS, eos=EOS, beam_size=0)
    with pytest.raises(InputError, match="batch"):
        beam_search(model, {"a": torch.zeros(2, 1), "b": torch.zeros(3, 1)}, bos=BOS, eos=EOS)
    with pytest.raises(InputError, match="max_len"):
        beam_search(model, memory_for([0, 0]), bos=BOS, eos=EOS, max_len=torch.tensor([1, 2, 3]))


def _batch(n: int = 4, L: int = 9, P: int = 6):
    g = torch.Generator().manual_seed(1)
    src = torch.randint(4, 40, (n, L), generator=g)
    src_mask = torch.ones(n, L, dtype=torch.bool)
    for i in range(n):
        src_mask[i, L - 2 * i :] = False
    src = src.masked_fill(~src_mask, 0)
    video = torch.randn(n, P, 4, 12, generator=g)
    video_mask = torch.ones(n, P, dtype=torch.bool)
    video_mask[1, 2:] = False
    return src, src_mask, video, video_mask


@torch.inference_mode()
def test_translator_batched_beam_equals_per_item():
    model = tiny_translator()
    src, src_mask, video, video_mask = _batch()
    kw = dict(bos=1, eos=2, beam_size=4, max_len=12)
    batched = beam_search(model, model.encode(src, src_mask, video, video_mask), **kw)
    for i in range(src.shape[0]):
        sl = slice(i, i + 1)
        alone = beam_search(
            model, model.encode(src[sl], src_mask[sl], video[sl], video_mask[sl]), **kw
        )
        assert alone.tokens[0] == batched.tokens[i]
        assert alone.scores[0] == pytest.approx(batched.scores[i], abs=1e-4)
        assert [h for h, _ in alone.nbest[0]] == [h for h, _ in batched.nbest[i]]


@torch.inference_mode()
def test_translator_beam_one_equals_greedy():
    model = tiny_translator()
    src, src_mask, video, video_mask = _batch()
    memory = model.encode(src, src_mask, video, video_mask)
    kw = dict(bos=1, eos=2, max_len=torch.tensor([5, 12, 3, 7]))
    beam = beam_search(model, memory, beam_size=1, **kw)
    greedy = greedy_search(model, memory, **kw)
    assert beam.tokens == greedy.tokens
    assert beam.scores == pytest.approx(greedy.scores, abs=1e-5)
    for t, limit in zip(greedy.tokens, [5, 12, 3, 7], strict=True):
        assert len(t) <= limit
