"""The global-context video-guided translator: shapes, variants, masks, TVSS, incremental
decoding, save/load and a small overfitting run."""

from __future__ import annotations

import time

import pytest
import torch
from tiny_models import tiny_translator_config

from vloc.errors import InputError, WeightsError
from vloc.generation import beam_search, greedy_search
from vloc.translator import (
    VARIANTS,
    Translator,
    TranslatorConfig,
    temporal_context_ids,
)
from vloc.translator.model import SegmentSelector

B, L, T, P, R, DV = 3, 8, 6, 6, 4, 12
SRC_V, TGT_V = 40, 30


def tiny_config(variant: str = "full", **kw) -> TranslatorConfig:
    sizes = {"src_vocab_size": SRC_V, "tgt_vocab_size": TGT_V, "video_dim": DV,
             "video_regions": R, "segments": P}  # fmt: skip
    return tiny_translator_config(variant, **{**sizes, **kw})


def tiny_model(variant: str = "full", seed: int = 0, **kw) -> Translator:
    torch.manual_seed(seed)
    return Translator(tiny_config(variant, **kw)).eval()


def make_batch(seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    src_mask = torch.ones(B, L, dtype=torch.bool)
    src_mask[1, 5:] = False
    src_mask[2, 3:] = False
    src = torch.randint(4, SRC_V, (B, L), generator=g).masked_fill(~src_mask, 0)
    video = torch.randn(B, P, R, DV, generator=g)
    video_mask = torch.ones(B, P, dtype=torch.bool)
    video_mask[1, 4:] = False  # a film with fewer cues than P
    video_mask[2, 2:] = False
    tgt = torch.randint(4, TGT_V, (B, T), generator=g)
    tgt[:, 0] = 1  # BOS
    return src, src_mask, video, video_mask, tgt


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_gives_logits_of_the_right_shape(variant: str):
    model = tiny_model(variant)
    src, src_mask, video, video_mask, tgt = make_batch()
    logits = model(src, src_mask, video, video_mask, tgt)
    assert logits.shape == (B, T, TGT_V)
    assert torch.isfinite(logits).all()
    has_video_params = any(
        n.startswith(("video_proj", "region_attn", "fusion")) for n, _ in model.named_parameters()
    )
    assert has_video_params == (variant != "text-only")
    has_selector = any(n.startswith("selector") for n, _ in model.named_parameters())
    assert has_selector == (variant in ("full", "no-gr"))


def test_text_only_ignores_video_and_full_does_not():
    src, src_mask, video, video_mask, tgt = make_batch()
    other = torch.randn_like(video) * 3
    text_only = tiny_model("text-only")
    a = text_only(src, src_mask, video, video_mask, tgt)
    assert torch.equal(a, text_only(src, src_mask, other, video_mask, tgt))
    assert torch.equal(a, text_only(src, src_mask, None, None, tgt))
    for variant in ("full", "segment-level", "no-tvss"):
        model = tiny_model(variant)
        x = model(src, src_mask, video, video_mask, tgt)
        y = model(src, src_mask, other, video_mask, tgt)
        assert (x - y).abs().max() > 1e-4, variant


@pytest.mark.parametrize("variant", ["full", "no-tvss", "segment-level"])
def test_padding_cues_and_tokens_do_not_change_outputs(variant: str):
    model = tiny_model(variant)
    src, src_mask, video, video_mask, tgt = make_batch()
    ref = model(src, src_mask, video, video_mask, tgt)
    g = torch.Generator().manual_seed(7)
    noisy_video = torch.where(
        video_mask[:, :, None, None], video, torch.randn(video.shape, generator=g) * 10
    )
    noisy_src = torch.where(src_mask, src, torch.randint(4, SRC_V, src.shape, generator=g))
    out = model(src, src_mask, noisy_video, video_mask, tgt)
    assert torch.allclose(out, ref, atol=1e-5)
    out = model(noisy_src, src_mask, video, video_mask, tgt)
    assert torch.allclose(out, ref, atol=1e-5)
    # target padding at the end: earlier positions are unchanged (causal decoder)
    padded = torch.cat([tgt, torch.zeros(B, 3, dtype=torch.long)], dim=1)
    out = model(src, src_mask, video, video_mask, padded)
    assert torch.allclose(out[:, :T], ref, atol=1e-5)


def test_segment_level_reads_only_the_cues_own_segment():
    model = tiny_model("segment-level")
    src, src_mask, video, video_mask, tgt = make_batch()
    changed = video.clone()
    changed[:, 1:] = torch.randn_like(changed[:, 1:])
    assert torch.allclose(
        model(src, src_mask, video, video_mask, tgt),
        model(src, src_mask, changed, video_mask, tgt),
        atol=1e-6,
    )
    changed[:, 0] = torch.randn_like(changed[:, 0])
    assert not torch.allclose(
        model(src, src_mask, video, video_mask, tgt),
        model(src, src_mask, changed, video_mask, tgt),
        atol=1e-4,
    )


def reference_absorption(video, sel, valid, lam):
    """Eq. 7 written with loops: each selected segment absorbs λ/2 × the unselected (valid)
    segments strictly between its previous and next selected neighbours (retrieval order)."""
    out = video.clone()
    for b in range(video.shape[0]):
        chosen = [p for p in range(video.shape[1]) if sel[b, p]]
        for m, p in enumerate(chosen):
            lo = chosen[m - 1] if m > 0 else -1
            hi = chosen[m + 1] if m + 1 < len(chosen) else video.shape[1]
            for q in range(lo + 1, hi):
                if not sel[b, q] and valid[b, q]:
                    out[b, p] += lam / 2 * video[b, q]
    return out


def test_selector_keeps_the_top_k_and_absorbs_neighbours_as_in_eq7():
    torch.manual_seed(3)
    cfg = tiny_config(segments=8, select_k=3, absorb_lambda=0.4)
    selector = SegmentSelector(cfg)
    text = torch.randn(2, 5, cfg.d_model)
    text_mask = torch.ones(2, 5, dtype=torch.bool)
    video = torch.randn(2, 8, R, cfg.visual_dim)
    valid = torch.ones(2, 8, dtype=torch.bool)
    valid[1, 6:] = False
    selected, selected_mask, alpha, idx = selector(text, text_mask, video, valid)
    assert selected.shape == (2, 3, R, cfg.visual_dim) and idx.shape == (2, 3)
    assert torch.allclose(alpha.sum(-1), torch.ones(2))
    assert (alpha[1, 6:] == 0).all()
    for b in range(2):
        top = set(alpha[b].topk(3).indices.tolist())
        assert set(idx[b].tolist()) == top
        assert idx[b].tolist() == sorted(idx[b].tolist())  # retrieval order
    assert selected_mask.all()
    sel = torch.zeros(2, 8, dtype=torch.bool).scatter(1, idx, True)
    expected = reference_absorption(video, sel, valid, 0.4)
    expected = expected.gather(1, idx[:, :, None, None].expand(-1, -1, R, cfg.visual_dim))
    assert torch.allclose(selected, expected, atol=1e-6)  # straight-through: value unchanged


def test_selector_with_fewer_valid_segments_than_k_masks_the_rest():
    torch.manual_seed(4)
    cfg = tiny_config(segments=6, select_k=4)
    selector = SegmentSelector(cfg)
    valid = torch.tensor([[True, True, False, False, False, False]])
    _, selected_mask, alpha, idx = selector(
        torch.randn(1, 3, cfg.d_model),
        torch.ones(1, 3, dtype=torch.bool),
        torch.randn(1, 6, R, cfg.visual_dim),
        valid,
    )
    assert selected_mask.sum() == 2
    assert set(idx[0][selected_mask[0]].tolist()) == {0, 1}


def test_gradient_reaches_the_selector():
    model = tiny_model("full")
    model.train()
    src, src_mask, video, video_mask, tgt = make_batch()
    tgt_out = torch.roll(tgt, -1, dims=1)
    loss, n = model.loss(src, src_mask, video, video_mask, tgt, tgt_out)
    loss.backward()
    assert n == B * T
    for p in (model.selector.query.weight, model.selector.key.weight):
        assert p.grad is not None and p.grad.abs().sum() > 0
    assert model.region_attn.text_proj.weight.grad.abs().sum() > 0
    assert model.fusion.gate.weight.grad.abs().sum() > 0


def test_loss_ignores_padding_and_smooths_labels():
    model = tiny_model("text-only")
    src, src_mask, video, video_mask, tgt = make_batch()
    tgt_out = torch.roll(tgt, -1, dims=1)
    tgt_out[0, 3:] = 0
    loss, n = model.loss(src, src_mask, None, None, tgt, tgt_out)
    assert n == B * T - 3
    logits = model(src, src_mask, None, None, tgt)
    keep = tgt_out != 0
    lp = logits.log_softmax(-1)[keep]  # (n, V)
    nll = -lp.gather(1, tgt_out[keep].unsqueeze(1)).squeeze(1)
    expected = (0.9 * nll - 0.1 * lp.mean(-1)).mean()
    assert torch.allclose(loss, expected, atol=1e-5)


@pytest.mark.parametrize("variant", VARIANTS)
@torch.inference_mode()
def test_incremental_decoding_equals_full_decoding(variant: str):
    model = tiny_model(variant)
    src, src_mask, video, video_mask, tgt = make_batch()
    full = model(src, src_mask, video, video_mask, tgt)  # (B, T, V)
    memory = model.encode(src, src_mask, video, video_mask)
    cache: dict[str, torch.Tensor] = {}
    steps = [model.decode_step(tgt[:, t : t + 1], memory, cache, t) for t in range(T)]
    assert torch.allclose(torch.stack(steps, dim=1), full, atol=1e-5)
    assert cache["self_k.0"].shape == (B, 4, T, 8)  # (B, H, T, hs)


def test_wrong_inputs_and_configs_are_reported():
    model = tiny_model("full")
    src, src_mask, video, video_mask, tgt = make_batch()
    with pytest.raises(InputError, match="D_v=12"):
        model(src, src_mask, video[..., :5], video_mask, tgt)
    with pytest.raises(InputError, match="needs video"):
        model(src, src_mask, None, None, tgt)
    with pytest.raises(InputError, match="video_mask"):
        model(src, src_mask, video, video_mask[:, :2], tgt)
    with pytest.raises(InputError, match="unknown translator variant"):
        tiny_config("no-video")
    with pytest.raises(InputError, match="multiples"):
        tiny_config(d_model=30)
    with pytest.raises(InputError, match="unknown translator config"):
        TranslatorConfig.from_dict({**tiny_config().to_dict(), "layers": 3})


def test_config_defaults_follow_the_paper_and_round_trip():
    c = TranslatorConfig(src_vocab_size=8000, tgt_vocab_size=8000)
    assert (c.encoder_layers, c.decoder_layers, c.d_model, c.ffn_dim, c.n_heads) == (
        4,
        4,
        128,
        256,
        8,
    )
    assert (c.dropout, c.segments, c.window, c.window_gamma, c.select_k, c.absorb_lambda) == (
        0.35,
        10,
        2,
        0.1,
        5,
        0.1,
    )
    assert TranslatorConfig.from_dict(c.to_dict()) == c
    contexts = {v: TranslatorConfig(10, 10, variant=v).context for v in VARIANTS}
    assert contexts == {
        "full": "global",
        "text-only": "none",
        "segment-level": "own",
        "no-gr": "temporal",
        "no-tvss": "global",
        "no-gr-no-tvss": "temporal",
    }
    assert TranslatorConfig(10, 10, variant="segment-level").input_segments == 1


def test_temporal_context_ids():
    assert temporal_context_ids(5, 3) == [[0, 1, 2], [1, 0, 2], [2, 1, 3], [3, 2, 4], [4, 3, 2]]
    assert temporal_context_ids(2, 10) == [[0, 1], [1, 0]]


def test_save_and_load_give_the_same_model(tmp_path):
    model = tiny_model("full")
    src, src_mask, video, video_mask, tgt = make_batch()
    folder = model.save(tmp_path / "m")
    loaded = Translator.from_folder(folder)
    assert loaded.config == model.config
    assert loaded.decoder.head.weight is loaded.decoder.embed.table.weight  # still tied
    assert torch.equal(
        loaded(src, src_mask, video, video_mask, tgt), model(src, src_mask, video, video_mask, tgt)
    )
    with pytest.raises(WeightsError, match="model.safetensors"):
        Translator.from_folder(tmp_path)
    (folder / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(WeightsError, match="unreadable"):
        Translator.from_folder(folder)


def test_checkpoints_with_the_old_decoder_layer_names_load(tmp_path):
    """Translator checkpoints written before both models shared one decoder layer name its
    norms ln1/ln2/ln3 (the shipped demo's among them): they load under today's names, and only
    the decoder layers' keys are renamed (the encoder layers keep ln1/ln2)."""
    from safetensors.torch import load_file, save_file

    model = tiny_model("full")
    folder = model.save(tmp_path / "m")
    state = load_file(str(folder / "model.safetensors"))
    old_names = {".ln_self.": ".ln1.", ".ln_cross.": ".ln2.", ".ln_ffn.": ".ln3."}
    legacy = {}
    for key, value in state.items():
        for new, old in old_names.items():
            if key.startswith("decoder.layers.") and new in key:
                key = key.replace(new, old)
        legacy[key] = value
    assert "decoder.layers.1.ln3.weight" in legacy and "encoder.layers.0.ln1.weight" in legacy
    save_file(legacy, str(folder / "model.safetensors"))
    loaded = Translator.from_folder(folder)
    src, src_mask, video, video_mask, tgt = make_batch()
    assert torch.equal(
        loaded(src, src_mask, video, video_mask, tgt), model(src, src_mask, video, video_mask, tgt)
    )


PAIRS = [
    ([5, 6, 7], [4, 5, 6, 7]),
    ([8, 9], [8, 9, 10]),
    ([10, 11, 12, 13], [11, 12]),
    ([14, 15], [13, 14, 15, 16, 17]),
    ([16, 17, 18], [18, 19]),
    ([19, 20, 21, 22, 23], [20, 21, 22]),
    ([24, 25], [23, 24, 25, 26]),
    ([26, 27, 28], [27, 28, 29]),
]


def pack(pairs, video_seed=5):
    n = len(pairs)
    Ls = max(len(s) for s, _ in pairs)
    Lt = max(len(t) for _, t in pairs) + 1
    src = torch.zeros(n, Ls, dtype=torch.long)
    tgt_in = torch.zeros(n, Lt, dtype=torch.long)
    tgt_out = torch.zeros(n, Lt, dtype=torch.long)
    for i, (s, t) in enumerate(pairs):
        src[i, : len(s)] = torch.tensor(s)
        tgt_in[i, : len(t) + 1] = torch.tensor([1, *t])
        tgt_out[i, : len(t) + 1] = torch.tensor([*t, 2])
    g = torch.Generator().manual_seed(video_seed)
    video = torch.randn(n, P, R, DV, generator=g)
    video_mask = torch.ones(n, P, dtype=torch.bool)
    return src, src != 0, video, video_mask, tgt_in, tgt_out


def test_tiny_model_overfits_eight_pairs_and_beam_search_reproduces_them():
    model = tiny_model("full", seed=0)
    model.train()
    src, src_mask, video, video_mask, tgt_in, tgt_out = pack(PAIRS)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    t0 = time.perf_counter()
    for _ in range(200):
        opt.zero_grad()
        loss, _ = model.loss(src, src_mask, video, video_mask, tgt_in, tgt_out)
        loss.backward()
        opt.step()
    print(f"200 steps: {time.perf_counter() - t0:.1f} s")  # speed lives in benchmarks/
    model.eval()
    expected = [t for _, t in PAIRS]
    result = model.generate(src, src_mask, video, video_mask, beam_size=4)
    assert result.tokens == expected
    greedy = model.generate(src, src_mask, video, video_mask, beam_size=1)
    assert greedy.tokens == expected
    with torch.inference_mode():
        memory = model.encode(src, src_mask, video, video_mask)
        again = beam_search(model, memory, bos=1, eos=2, beam_size=3, max_len=10)
        assert again.tokens == expected
        assert greedy_search(model, memory, bos=1, eos=2, max_len=10).tokens == expected


def test_dropout_is_active_in_training_only():
    model = tiny_model("full", dropout=0.35)
    src, src_mask, video, video_mask, tgt = make_batch()
    with torch.no_grad():
        a = model(src, src_mask, video, video_mask, tgt)
        assert torch.equal(a, model(src, src_mask, video, video_mask, tgt))
        model.train()
        b = model(src, src_mask, video, video_mask, tgt)
    assert not torch.allclose(a, b)


def test_text_only_generates_without_video():
    model = tiny_model("text-only")
    src, src_mask, *_ = make_batch()
    result = model.generate(src, src_mask, beam_size=2, max_len_a=0.0, max_len_b=4)
    assert len(result.tokens) == B
    assert all(len(t) <= 4 and 0 not in t and 1 not in t for t in result.tokens)  # no pad/BOS
