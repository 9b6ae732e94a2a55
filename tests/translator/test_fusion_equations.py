"""The fusion equations of both papers, each against a direct re-implementation.

Every reference below is written from the paper's formula with plain tensor operations on
small float64 tensors (loops over items, regions and heads; a hand-written masked softmax and
LayerNorm), reading only the module's parameters; it shares no code with the module it checks:

* the translator (global-context video-guided translation, §III-C/D): region-aware
  cross-modal attention (eq. 9–11) and bi-directional attention with gated fusion (eq. 12–14);
* VDF (multimodal cross-lingual summarization, §2.2): the forget gate fusion of eq. 4 and the
  cascaded fusion decoder layer of eq. 5–7.

Choices the papers leave open are the ones the modules' docstrings document (multi-head
attention with biased projections wherever a formula writes Att or Softmax(QKᵀ/√d)V, "·" of
VDF's Fig. 3 as a LayerNorm, the gate of eq. 14 computed from both directions).
"""

from __future__ import annotations

import math

import pytest
import torch
from tiny_models import tiny_summarizer_config, tiny_translator_config

from vloc.summarizer import SummarizerConfig
from vloc.summarizer.layers import DecoderLayer, ForgetGateFusion
from vloc.translator import TranslatorConfig
from vloc.translator.model import GatedBiFusion, RegionAttention

B, L, K, R = 2, 5, 4, 3  # items, text positions, segments (or video steps), regions


def linear(layer: torch.nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """x W^T + b with the layer's parameters."""
    y = x @ layer.weight.T
    return y + layer.bias if layer.bias is not None else y


def masked_softmax(scores: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis, restricted to ``valid`` (bool, same last axis)."""
    e = torch.exp(scores - scores.amax(dim=-1, keepdim=True)) * valid
    return e / e.sum(dim=-1, keepdim=True)


def layer_norm(ln: torch.nn.LayerNorm, x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + ln.eps) * ln.weight + ln.bias


def attention(attn, x, kv, key_mask=None, causal=False) -> torch.Tensor:
    """Multi-head Softmax((x W_q)(kv W_k)ᵀ / √d_h)(kv W_v), heads concatenated, then the
    output projection (when the module has one): x (B, Lq, ·), kv (B, Lk, ·) → (B, Lq, ·)."""
    q, k, v = linear(attn.q, x), linear(attn.k, kv), linear(attn.v, kv)
    H = attn.n_heads
    hs = q.shape[-1] // H
    out = torch.zeros_like(q)
    for b in range(x.shape[0]):
        valid = torch.ones(x.shape[1], kv.shape[1], dtype=torch.bool)
        if key_mask is not None:
            valid &= key_mask[b][None, :]
        if causal:
            valid &= torch.ones_like(valid).tril()
        for h in range(H):
            cols = slice(h * hs, (h + 1) * hs)
            scores = q[b, :, cols] @ k[b, :, cols].T / math.sqrt(hs)  # (Lq, Lk)
            out[b, :, cols] = masked_softmax(scores, valid) @ v[b, :, cols]
    return linear(attn.out, out) if isinstance(attn.out, torch.nn.Linear) else out


def translator_config() -> TranslatorConfig:
    return tiny_translator_config(
        src_vocab_size=20, tgt_vocab_size=20, d_model=16, ffn_dim=32, video_regions=R, visual_dim=8
    )


def summarizer_config() -> SummarizerConfig:
    return tiny_summarizer_config(src_vocab_size=20, tgt_vocab_size=20, d_model=16, ffn_dim=32)


def seeded(seed: int, module: type[torch.nn.Module], cfg) -> torch.nn.Module:
    """``module(cfg)`` built after ``torch.manual_seed(seed)``, in float64 and eval mode."""
    torch.manual_seed(seed)
    return module(cfg).double().eval()


def randn(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, dtype=torch.float64)


def text_mask() -> torch.Tensor:
    mask = torch.ones(B, L, dtype=torch.bool)
    mask[1, 3:] = False  # the second item has 3 real tokens
    return mask


# ------------------------------------------------------------- translator, eq. 9–14


def reference_region_attention(m: RegionAttention, text, video, video_mask) -> torch.Tensor:
    """Eq. 9: T' = W_t T + b_t; eq. 10, for every region r on its own: Z_r = Softmax((W_q T')
    (W_k Ṽ_r)ᵀ / √d_k)(W_v Ṽ_r) over the valid segments; eq. 11: O = W_o (1/R Σ_r Z_r) + b_o."""
    t_prime = linear(m.text_proj, text)  # (B, L, E_v)
    per_region = []
    for r in range(video.shape[2]):
        per_region.append(attention(m.attn, t_prime, video[:, :, r], video_mask))  # (B, L, E_v)
    return linear(m.out, sum(per_region) / len(per_region))  # (B, L, d)


def test_region_aware_attention_follows_eq_9_to_11():
    cfg = translator_config()
    m = seeded(11, RegionAttention, cfg)
    text = randn(B, L, cfg.d_model)
    video = randn(B, K, R, cfg.visual_dim)
    video_mask = torch.ones(B, K, dtype=torch.bool)
    video_mask[1, 2:] = False  # two padded segments: never attended to
    got = m(text, video, video_mask)
    assert got.shape == (B, L, cfg.d_model)
    assert torch.allclose(got, reference_region_attention(m, text, video, video_mask))
    # the padded segments' features do not matter; a region's own features do
    other = video.clone()
    other[1, 2:] = 100.0
    assert torch.allclose(m(text, other, video_mask), got)
    other = video.clone()
    other[0, :, 1] += 1.0
    assert not torch.allclose(m(text, other, video_mask)[0], got[0])


def reference_gated_fusion(m: GatedBiFusion, text, o, mask) -> tuple[torch.Tensor, ...]:
    """Eq. 12: H_t2v = Softmax(T Oᵀ/√d_h) O; eq. 13: H_v2t = Softmax(O Tᵀ/√d_h) T (O is
    aligned with the text positions, so both take the text mask over keys); the gate
    g = σ(W_g [H_t2v; H_v2t] + b_g); eq. 14: F = (1 − g)⊙H_v2t + g⊙H_t2v + (1 − g)⊙T."""
    h_t2v = attention(m.t2v, text, o, mask)
    h_v2t = attention(m.v2t, o, text, mask)
    g = torch.sigmoid(linear(m.gate, torch.cat([h_t2v, h_v2t], dim=-1)))
    return (1 - g) * h_v2t + g * h_t2v + (1 - g) * text, h_t2v, h_v2t


def test_gated_bidirectional_fusion_follows_eq_12_to_14():
    cfg = translator_config()
    m = seeded(12, GatedBiFusion, cfg)
    text = randn(B, L, cfg.d_model)
    o = randn(B, L, cfg.d_model)
    mask = text_mask()
    got = m(text, o, mask)
    want, h_t2v, h_v2t = reference_gated_fusion(m, text, o, mask)
    assert torch.allclose(got, want)
    # eq. 14 as printed: the text residual is gated by (1 − g) like H_v2t, not added in full.
    # A gate held open passes H_t2v alone; a gate held shut passes H_v2t + T.
    with torch.no_grad():
        m.gate.weight.zero_()
        m.gate.bias.fill_(60.0)  # σ = 1 in float64 up to 1e-26
    assert torch.allclose(m(text, o, mask), h_t2v)
    with torch.no_grad():
        m.gate.bias.fill_(-60.0)
    assert torch.allclose(m(text, o, mask), h_v2t + text)


# ------------------------------------------------------------------- VDF, eq. 4–7


def reference_forget_gate_fusion(m: ForgetGateFusion, text, video, video_mask) -> torch.Tensor:
    """FGF (Liu et al., 2020), per item: A = softmax(T W_a Vᵀ/√d) V over the valid steps,
    M = A W_m + b_m, G = σ([T; A] W_f), T_FGF = T + [T; G⊙M] W_u + b_u; an item without any
    video step gets G⊙M = 0."""
    out = torch.zeros_like(text)
    d = text.shape[-1]
    for b in range(text.shape[0]):
        t, v, valid = text[b], video[b], video_mask[b]
        if valid.any():
            scores = (t @ m.att.weight.T) @ v.T / math.sqrt(d)  # (L, S)
            a = masked_softmax(scores, valid[None, :]) @ v  # (L, d)
            memory = linear(m.memory, a)
            gate = torch.sigmoid(linear(m.forget, torch.cat([t, a], dim=-1)))
            kept = gate * memory
        else:
            kept = torch.zeros_like(t)
        out[b] = t + linear(m.fuse, torch.cat([t, kept], dim=-1))
    return out


def test_forget_gate_fusion_follows_eq_4():
    cfg = summarizer_config()
    m = seeded(4, ForgetGateFusion, cfg)
    text = randn(B, L, cfg.d_model)
    video = randn(B, K, cfg.d_model)
    video_mask = torch.ones(B, K, dtype=torch.bool)
    video_mask[0, 3:] = False
    video_mask[1] = False  # an item without video
    got = m(text, video, video_mask)
    assert torch.allclose(got, reference_forget_gate_fusion(m, text, video, video_mask))
    video_mask[1, :2] = True  # now it has two steps: its output changes
    assert not torch.allclose(m(text, video, video_mask)[1], got[1])


def reference_decoder_layer(layer: DecoderLayer, x, t_en, t_mask, v, v_mask) -> torch.Tensor:
    """Pre-norm ("·" of Fig. 3 = LayerNorm before each sub-layer):
    C_X = x + SelfAtt(LN(x)) (causal); eq. 5: C_Y = Att(LN(C_X), T_en, T_en);
    eq. 6: C_V = Att(LN(C_X + C_Y), V, V); eq. 7: C_M = [LN(C_X + C_Y); C_V] W_de + b_de
    + (C_X + C_Y); then C_M + FFN(LN(C_M)). A non-cascaded layer skips eq. 6–7."""
    h = layer_norm(layer.ln_self, x)
    c_x = x + attention(layer.self_attn, h, h, causal=True)
    c_y = attention(layer.cross_attn, layer_norm(layer.ln_cross, c_x), t_en, t_mask)  # eq. 5
    s = c_x + c_y
    if layer.cascade:
        h = layer_norm(layer.ln_video, s)
        c_v = attention(layer.video_attn, h, v, v_mask)  # eq. 6
        s = linear(layer.fusion, torch.cat([h, c_v], dim=-1)) + s  # eq. 7: C_M
    hidden = torch.relu(linear(layer.ffn.fc1, layer_norm(layer.ln_ffn, s)))
    return s + linear(layer.ffn.fc2, hidden)


@pytest.mark.parametrize("cascade", [True, False])
def test_cascaded_fusion_decoder_layer_follows_eq_5_to_7(cascade: bool):
    torch.manual_seed(5)
    cfg = summarizer_config()
    layer = DecoderLayer(cfg, index=0, cascade=cascade).double().eval()
    T = 4  # target positions
    x = randn(B, T, cfg.d_model)
    t_en = randn(B, L, cfg.d_model)
    v = randn(B, K, cfg.d_model)
    t_mask, v_mask = text_mask(), torch.ones(B, K, dtype=torch.bool)
    v_mask[0, 1:] = False
    base = {"memory": t_en, "memory_mask": t_mask, "video": v, "video_mask": v_mask}
    memory = {**base, **layer.memory_kv(base)}  # what encode() hands the decoder
    got = layer(x, memory)
    assert torch.allclose(got, reference_decoder_layer(layer, x, t_en, t_mask, v, v_mask))
    # step by step through the cache: the same numbers
    cache: dict[str, torch.Tensor] = {}
    steps = [layer.step(x[:, t : t + 1], memory, cache) for t in range(T)]
    assert torch.allclose(torch.cat(steps, dim=1), got)
    other = v.clone()
    other[1] += 1.0
    changed = not torch.allclose(
        layer(x, {**base, **layer.memory_kv({**base, "video": other})}), got
    )
    assert changed == cascade  # only a cascaded layer reads the video
