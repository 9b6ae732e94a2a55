"""The global-context video-guided translator (paper §III), one module per concept.

Inputs of one batch (B cues)::

    src        (B, L)         int64   source token ids, padded with pad_id
    src_mask   (B, L)         bool    True at real tokens
    video      (B, P, R, D_v) float32 per cue, P segments × R regions of backbone features;
                                      position 0 is the cue's own segment, then retrieval order
                                      (what ``vloc.index.global_context`` returns as ``fused``)
    video_mask (B, P)         bool    True at real segments (films with fewer than P cues pad)
    tgt_in     (B, T)         int64   BOS + target ids (teacher forcing), padded with pad_id

Path (``full``): TextEncoder → T (B, L, d); VideoProjection → (B, P, R, E_v);
SegmentSelector (TVSS, eq. 4–8) → K segments (B, K, R, E_v); RegionAttention (eq. 9–11) →
O (B, L, d); GatedBiFusion (eq. 12–14) → F (B, L, d); TextDecoder cross-attends F (eq. 15–16).
``text-only`` builds only TextEncoder and TextDecoder and its memory is T.

Choices the paper leaves open (documented here once):

* pre-norm transformer layers with a final LayerNorm (trains stably at d = 128 with few data);
  sinusoidal positions; embeddings scaled by sqrt(d);
* TVSS score s_j = Attn(T, ṽ_j): one attention logit between the masked mean of the projected
  text queries and the region-mean of segment j's key, scaled by 1/sqrt(E_v); softmax over the
  valid segments;
* top-K is not differentiable, so each kept segment is multiplied by ``1 + α_j − stopgrad(α_j)``:
  the forward value is exactly eq. 7–8, and the loss gradient reaches the selector's
  parameters through α (straight-through);
* eq. 7's neighbours are in retrieval order: an unselected segment lying between two selected
  ones is absorbed by both (λ/2 each); before the first / after the last selected one only by
  that one;
* eq. 10 and 12–13 are multi-head attentions with learned (biased) query/key/value
  projections, as the text says ("we employ multi-head attention", the bi-directional
  attention it cites); the softmax runs over the valid segments (eq. 10) or text positions
  (eq. 12–13: O is aligned with the text, so both directions take the text mask over keys);
  eq. 12–13 add an output projection, eq. 10 leaves it to eq. 11's W_o;
* the gate of eq. 14 is computed from both directions, g = σ(W_g [H_t2v; H_v2t] + b_g)
  (a gated multimodal unit), element-wise (B, L, d) — the paper calls g "a learnable
  parameter that dynamically modulates" the pathways, which only a computed gate can do;
* eq. 14 is kept as printed, F = (1 − g)⊙H_v2t + g⊙H_t2v + (1 − g)⊙T: the text residual is
  gated by (1 − g) like H_v2t rather than added in full, so a gate near 1 passes H_t2v alone
  (T then reaches F only through the text-queried H_t2v) and a gate near 0 passes H_v2t + T.
  A plain residual (+ T) would be the usual transformer choice; the shipped checkpoints were
  trained with the printed form, and tests/test_fusion_equations.py pins it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from vloc import attention
from vloc.attention import MultiHeadAttention, safe_key_mask
from vloc.encoder_decoder import Seq2Seq
from vloc.errors import InputError
from vloc.translator.config import TranslatorConfig

if TYPE_CHECKING:
    from vloc.generation import BeamResult

POSITION_BASE = 10000.0  # sinusoid wavelength base (Vaswani et al.)
FFN_INNER_DROPOUT = False  # no dropout inside the feed-forward blocks (fairseq's default)


def sinusoidal_positions(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """positions (T,) int64 → (T, dim) float32 sin/cos position encodings."""
    half = dim // 2
    freq = torch.exp(
        -math.log(POSITION_BASE) * torch.arange(half, device=positions.device) / max(half - 1, 1)
    )  # (half,)
    angles = positions.float().unsqueeze(1) * freq.unsqueeze(0)  # (T, half)
    enc = torch.cat([angles.sin(), angles.cos()], dim=1)  # (T, 2·half)
    return F.pad(enc, (0, dim - 2 * half))


class TokenEmbedding(nn.Module):
    """Token ids → scaled embeddings + sinusoidal positions (fairseq's transformer input)."""

    def __init__(self, vocab: int, dim: int, pad_id: int, dropout: float) -> None:
        super().__init__()
        self.dim = dim
        self.table = nn.Embedding(vocab, dim, padding_idx=pad_id)
        nn.init.normal_(self.table.weight, mean=0.0, std=dim**-0.5)
        with torch.no_grad():
            self.table.weight[pad_id].zero_()
        self.drop = nn.Dropout(dropout)

    def forward(self, ids: torch.Tensor, start: int = 0) -> torch.Tensor:
        """ids (B, T) int64 at positions start..start+T−1 → (B, T, d)."""
        pos = torch.arange(start, start + ids.shape[1], device=ids.device)
        x = self.table(ids) * math.sqrt(self.dim) + sinusoidal_positions(pos, self.dim)
        return self.drop(x)


class TextEncoder(nn.Module):
    """Source ids → T (B, L, d): a pre-norm transformer encoder."""

    def __init__(self, c: TranslatorConfig) -> None:
        super().__init__()
        self.embed = TokenEmbedding(c.src_vocab_size, c.d_model, c.pad_id, c.dropout)
        self.layers = nn.ModuleList(
            attention.EncoderLayer(c, inner_dropout=FFN_INNER_DROPOUT)
            for _ in range(c.encoder_layers)
        )
        self.ln = nn.LayerNorm(c.d_model)

    def forward(self, src: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
        x = self.embed(src)  # (B, L, d)
        for layer in self.layers:
            x = layer(x, src_mask)
        return self.ln(x)  # (B, L, d)


class VideoProjection(nn.Module):
    """Backbone features (B, P, R, D_v) → (B, P, R, E_v) ("linearly projected to align with
    text embeddings", §IV-C); a LayerNorm first puts backbones of any scale on one footing."""

    def __init__(self, c: TranslatorConfig) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(c.video_dim)
        self.proj = nn.Linear(c.video_dim, c.visual_dim)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return self.drop(self.proj(self.ln(video)))  # (B, P, R, E_v)


class SegmentSelector(nn.Module):
    """TVSS (eq. 4–8): score the P segments against the text, keep the top K in retrieval
    order, let each absorb λ/2 × the unselected segments between its selected neighbours."""

    def __init__(self, c: TranslatorConfig) -> None:
        super().__init__()
        self.k = c.select_k
        self.lam = c.absorb_lambda
        self.query = nn.Linear(c.d_model, c.visual_dim)
        self.key = nn.Linear(c.visual_dim, c.visual_dim)

    def scores(
        self,
        text: torch.Tensor,
        text_mask: torch.Tensor,
        video: torch.Tensor,
        video_mask: torch.Tensor,
    ) -> torch.Tensor:
        """α (B, P) of eq. 4: softmax over the valid segments (0 at padding)."""
        m = text_mask.unsqueeze(-1).to(text.dtype)  # (B, L, 1)
        q = self.query((text * m).sum(1) / m.sum(1).clamp(min=1.0))  # (B, E_v) mean of queries
        keys = self.key(video.mean(dim=2))  # (B, P, E_v): region-mean segment vectors
        s = torch.einsum("be,bpe->bp", q, keys) / math.sqrt(keys.shape[-1])  # (B, P)
        safe, _ = safe_key_mask(video_mask)
        return s.masked_fill(~safe, float("-inf")).softmax(dim=-1) * video_mask  # (B, P)

    def forward(
        self,
        text: torch.Tensor,
        text_mask: torch.Tensor,
        video: torch.Tensor,
        video_mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """text (B, L, d), text_mask (B, L), video (B, P, R, E), video_mask (B, P) →
        selected (B, K, R, E), selected_mask (B, K), α (B, P), indices (B, K) (ascending)."""
        B, P, R, E = video.shape
        K = min(self.k, P)
        alpha = self.scores(text, text_mask, video, video_mask)  # (B, P)
        ranked = alpha.masked_fill(~video_mask, -1.0)  # padding ranks last
        idx = ranked.topk(K, dim=-1).indices.sort(dim=-1).values  # (B, K) retrieval order
        sel = torch.zeros_like(video_mask).scatter(1, idx, True) & video_mask  # (B, P)

        # eq. 7: c[k] = number of selected positions <= k; selected p has rank r[p] = c[p];
        # unselected k lies between the selected ranks c[k] and c[k] + 1, which absorb it
        c = sel.long().cumsum(dim=1)  # (B, P)
        unsel = ~sel & video_mask  # (B, P)
        r = c.unsqueeze(2)  # (B, P, 1) rank of the absorbing (selected) position p
        ck = c.unsqueeze(1)  # (B, 1, P) count at the absorbed position k
        between = (ck == r - 1) | (ck == r)  # (B, P, P)
        absorb = (between & sel.unsqueeze(2) & unsel.unsqueeze(1)).to(video.dtype)  # (B, P, P)
        enriched = video + (self.lam / 2) * torch.einsum("bpk,bkre->bpre", absorb, video)

        gather = idx[:, :, None, None].expand(B, K, R, E)
        selected = enriched.gather(1, gather)  # (B, K, R, E)
        a = alpha.gather(1, idx)  # (B, K)
        straight_through = 1.0 + a - a.detach()  # value 1, gradient d/dα
        selected = selected * straight_through[:, :, None, None]
        return selected, sel.gather(1, idx), alpha, idx


class RegionAttention(nn.Module):
    """Region-aware cross-modal attention (eq. 9–11): text queries attend, region by region,
    over the segments; the R results are averaged and projected out → O (B, L, d)."""

    def __init__(self, c: TranslatorConfig) -> None:
        super().__init__()
        self.text_proj = nn.Linear(c.d_model, c.visual_dim)  # eq. 9: W_t, b_t
        self.attn = MultiHeadAttention(  # eq. 10: W_q, W_k, W_v (no output projection here)
            c.visual_dim, c.visual_dim, c.visual_dim, c.n_heads, None, c.attention_dropout
        )
        self.out = nn.Linear(c.visual_dim, c.d_model)  # eq. 11: W_o, b_o

    def forward(
        self, text: torch.Tensor, video: torch.Tensor, video_mask: torch.Tensor
    ) -> torch.Tensor:
        """text (B, L, d), video (B, K, R, E), video_mask (B, K) → O (B, L, d)."""
        B, K, R, E = video.shape
        L = text.shape[1]
        t = self.text_proj(text)  # (B, L, E)
        q = self.attn.project_q(t)  # (B, H, L, hs)
        H, hs = q.shape[1], q.shape[3]
        q = q.unsqueeze(1).expand(B, R, H, L, hs).reshape(B * R, H, L, hs)  # (B·R, H, L, hs)
        per_region = video.transpose(1, 2).reshape(B * R, K, E)  # (B·R, K, E)
        k, v = self.attn.project_kv(per_region)  # (B·R, H, K, hs)
        mask = video_mask.repeat_interleave(R, dim=0)  # (B·R, K)
        z = self.attn.attend(q, k, v, mask)  # (B·R, L, E)
        z = z.view(B, R, L, E).mean(dim=1)  # (B, L, E): average over regions
        return self.out(z)  # (B, L, d)


class GatedBiFusion(nn.Module):
    """Bi-directional cross-modal attention with gated fusion (eq. 12–14):
    F = (1 − g)⊙H_v2t + g⊙H_t2v + (1 − g)⊙T, the text residual gated as printed in eq. 14
    (see the module docstring)."""

    def __init__(self, c: TranslatorConfig) -> None:
        super().__init__()
        d = c.d_model
        self.t2v = MultiHeadAttention(d, d, d, c.n_heads, d, c.attention_dropout)
        self.v2t = MultiHeadAttention(d, d, d, c.n_heads, d, c.attention_dropout)
        self.gate = nn.Linear(2 * d, d)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, text: torch.Tensor, o: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        """text T (B, L, d), O (B, L, d), text_mask (B, L) → F (B, L, d)."""
        h_t2v = self.drop(self.t2v(text, o, text_mask))  # (B, L, d) eq. 12
        h_v2t = self.drop(self.v2t(o, text, text_mask))  # (B, L, d) eq. 13
        g = torch.sigmoid(self.gate(torch.cat([h_t2v, h_v2t], dim=-1)))  # (B, L, d)
        return (1 - g) * h_v2t + g * h_t2v + (1 - g) * text  # eq. 14


class TextDecoder(attention.DecoderStack):
    """Pre-norm transformer decoder over the memory F; logits over the target vocabulary."""

    def __init__(self, c: TranslatorConfig) -> None:
        super().__init__()
        self.embed = TokenEmbedding(c.tgt_vocab_size, c.d_model, c.pad_id, c.dropout)
        self.layers = nn.ModuleList(
            attention.DecoderLayer(c, index=i, inner_dropout=FFN_INNER_DROPOUT)
            for i in range(c.decoder_layers)
        )
        self.ln = nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, c.tgt_vocab_size, bias=False)  # eq. 16 W_o
        if c.tie_embeddings:
            self.head.weight = self.embed.table.weight


class Translator(Seq2Seq):
    """The translator; ``config.variant`` selects the paper's model or one of its baselines.

    Example::

        model = Translator(TranslatorConfig(src_vocab_size=8000, tgt_vocab_size=8000))
        logits = model(src, src_mask, video, video_mask, tgt_in)   # (B, T, V_tgt)
        result = model.generate(src, src_mask, video, video_mask, beam_size=5)
    """

    config_class = TranslatorConfig
    kind = "translator"

    def __init__(self, config: TranslatorConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = TextEncoder(config)
        if config.uses_video:
            self.video_proj = VideoProjection(config)
            self.selector = SegmentSelector(config) if config.uses_selector else None
            self.region_attn = RegionAttention(config)
            self.fusion = GatedBiFusion(config)
        self.decoder = TextDecoder(config)

    # -- encoding ---------------------------------------------------------------------------

    def _check_video(
        self, src: torch.Tensor, video: torch.Tensor | None, video_mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        c = self.config
        if video is None or video_mask is None:
            raise InputError(f"the {c.variant!r} translator needs video and video_mask inputs")
        if video.dim() != 4 or video.shape[-1] != c.video_dim or video.shape[0] != src.shape[0]:
            raise InputError(
                f"video must be (B={src.shape[0]}, P, R, D_v={c.video_dim}), "
                f"got {tuple(video.shape)}"
            )
        if video_mask.shape != video.shape[:2]:
            raise InputError(
                f"video_mask must be (B, P) = {tuple(video.shape[:2])}, "
                f"got {tuple(video_mask.shape)}"
            )
        if c.context == "own":  # segment-level: only the cue's own segment V_i
            video, video_mask = video[:, :1], video_mask[:, :1]
        return video, video_mask.bool()

    def fuse(
        self,
        src: torch.Tensor,
        src_mask: torch.Tensor,
        video: torch.Tensor | None = None,
        video_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The decoder's memory F (B, L, d): text encoding fused with the video context
        (F = T for ``text-only``, whose video inputs are ignored and may be None)."""
        src_mask = src_mask.bool()
        text = self.encoder(src, src_mask)  # (B, L, d) = T
        if not self.config.uses_video:
            return text
        video, video_mask = self._check_video(src, video, video_mask)
        v = self.video_proj(video)  # (B, P, R, E_v)
        if self.selector is not None:
            v, video_mask, _, _ = self.selector(text, src_mask, v, video_mask)  # (B, K, R, E_v)
        o = self.region_attn(text, v, video_mask)  # (B, L, d)
        return self.fusion(text, o, src_mask)  # (B, L, d)

    def encode(
        self,
        src: torch.Tensor,
        src_mask: torch.Tensor,
        video: torch.Tensor | None = None,
        video_mask: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """→ memory for :meth:`decode_step`, every tensor batch-first: ``memory`` F (B, L, d),
        ``memory_mask`` (B, L) and each decoder layer's cross-attention keys/values
        ``cross_k.{i}``, ``cross_v.{i}`` (B, H, L, hs), projected once here rather than at every
        step (and not reordered with the beam cache)."""
        fused = self.fuse(src, src_mask, video, video_mask)  # (B, L, d)
        return self.decoder.project_memory({"memory": fused, "memory_mask": src_mask.bool()})

    def select(
        self,
        src: torch.Tensor,
        src_mask: torch.Tensor,
        video: torch.Tensor,
        video_mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """For inspection: TVSS's α (B, P) and the kept positions (B, K) (selector variants)."""
        if not self.config.uses_selector:
            raise InputError(f"the {self.config.variant!r} variant has no segment selector")
        src_mask = src_mask.bool()
        text = self.encoder(src, src_mask)
        video, video_mask = self._check_video(src, video, video_mask)
        _, _, alpha, idx = self.selector(text, src_mask, self.video_proj(video), video_mask)
        return alpha, idx

    # -- decoding ---------------------------------------------------------------------------

    @torch.inference_mode()
    def generate(
        self,
        src: torch.Tensor,
        src_mask: torch.Tensor,
        video: torch.Tensor | None = None,
        video_mask: torch.Tensor | None = None,
        *,
        beam_size: int = 5,
        max_len_a: float = 1.5,
        max_len_b: int = 10,
        length_penalty: float = 1.0,
        no_repeat_ngram: int = 0,
    ) -> BeamResult:
        """Translate a batch: beam search (greedy when ``beam_size`` is 1) with at most
        ``min(max_len_a × source length + max_len_b, max_target_len)`` tokens per cue."""
        memory = self.encode(src, src_mask, video, video_mask)
        src_len = src_mask.bool().sum(dim=1).float()  # (B,)
        limit = (src_len * max_len_a + max_len_b).floor().long()  # (B,)
        return self.search(
            memory,
            beam_size=beam_size,
            max_len=limit.clamp(max=self.config.max_target_len),
            length_penalty=length_penalty,
            no_repeat_ngram=no_repeat_ngram,
        )
