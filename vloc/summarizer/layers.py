"""Building blocks of the VDF summarizer: attention, embeddings, the text and video
encoders, the forget fusion encoder layer and the (cascaded) decoder layers.

Choices the paper leaves open (documented here once):

* FGF follows the module the paper cites (Liu et al., 2020, as in the authors' code): a
  text-to-video attention A = softmax(T W_a Vᵀ / sqrt(d)) V, a video memory M = A W_m + b_m,
  a forget gate F = σ([T; A] W_f), and T_FGF = T + [T; F ⊙ M] W_u + b_u; padded video steps
  are masked and an item without any video step gets F ⊙ M = 0;
* video features are layer-normalised, projected to d, and get learned position embeddings;
* pre-norm transformer layers; "·" of the paper's Fig. 3 is a LayerNorm before each
  sub-layer; in eq. 6–7 the query and the concatenated text context are LayerNorm(C_X + C_Y)
  while the residual is the raw C_X + C_Y (as in the authors' code);
* learned position embeddings for source, target and video; token embeddings are scaled by
  sqrt(d) (fairseq); the output projection is tied to the target embedding table.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from vloc import attention
from vloc.attention import safe_key_mask
from vloc.errors import InputError
from vloc.summarizer.config import SummarizerConfig


class TextEmbedding(nn.Module):
    """Token ids → sqrt(d)-scaled token embeddings (+ learned positions when ``max_len``)."""

    def __init__(self, vocab: int, d: int, pad_id: int, max_len: int, dropout: float) -> None:
        super().__init__()
        self.d = d
        self.max_len = max_len
        self.tokens = nn.Embedding(vocab, d, padding_idx=pad_id)
        nn.init.normal_(self.tokens.weight, mean=0.0, std=d**-0.5)
        self.positions = nn.Embedding(max_len, d) if max_len > 0 else None
        if self.positions is not None:
            nn.init.normal_(self.positions.weight, mean=0.0, std=d**-0.5)
        with torch.no_grad():
            self.tokens.weight[pad_id].zero_()
        self.drop = nn.Dropout(dropout)

    def lookup(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, L) → H (B, L, d): the vocabulary embeddings (vocab-level KD states)."""
        return self.tokens(ids) * math.sqrt(self.d)

    def add_positions(self, h: torch.Tensor, start: int = 0) -> torch.Tensor:
        """h (B, T, d) at positions start..start+T−1 → dropout(h + positions) (B, T, d)."""
        assert self.positions is not None, "this embedding has no position table"
        end = start + h.shape[1]
        if end > self.max_len:
            raise InputError(
                f"sequence of {end} positions is longer than the model's {self.max_len}; "
                "truncate it first"
            )
        pos = torch.arange(start, end, device=h.device)
        return self.drop(h + self.positions(pos))

    def forward(self, ids: torch.Tensor, start: int = 0) -> torch.Tensor:
        return self.add_positions(self.lookup(ids), start)  # (B, T, d)


class EncoderLayer(attention.EncoderLayer):
    """Pre-norm self-attention + FFN, with dropout inside the FFN (the authors' code)."""

    def __init__(self, c: SummarizerConfig) -> None:
        super().__init__(c, inner_dropout=True)


class TextEncoder(nn.Module):
    """BiTrm (eq. 3): source ids → T_Trm (B, L, d). ``states`` exposes the residual stream
    after any layer for distillation (layer 0: the vocabulary embeddings H, no positions)."""

    def __init__(self, c: SummarizerConfig) -> None:
        super().__init__()
        self.embed = TextEmbedding(
            c.src_vocab_size, c.d_model, c.pad_id, c.max_source_len, c.dropout
        )
        self.layers = nn.ModuleList(EncoderLayer(c) for _ in range(c.encoder_layers))
        self.ln = nn.LayerNorm(c.d_model)

    def states(self, src: torch.Tensor, src_mask: torch.Tensor, layer: int) -> torch.Tensor:
        """(B, L, d) after ``layer`` text layers (0 ≤ layer ≤ encoder_layers), before the
        final LayerNorm."""
        x = self.embed.lookup(src)  # (B, L, d)
        if layer == 0:
            return x
        x = self.embed.add_positions(x)
        for block in self.layers[:layer]:
            x = block(x, src_mask)
        return x

    def forward(self, src: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
        x = self.embed(src)  # (B, L, d)
        for block in self.layers:
            x = block(x, src_mask)
        return self.ln(x)  # T_Trm (B, L, d)


class VideoEncoder(nn.Module):
    """Video features (B, S, D_v) → V (B, S, d): LayerNorm, linear projection, learned
    position embeddings (one per 16-frame step), dropout."""

    def __init__(self, c: SummarizerConfig) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(c.video_dim)
        self.proj = nn.Linear(c.video_dim, c.d_model)
        self.positions = nn.Embedding(c.max_video_len, c.d_model)
        nn.init.normal_(self.positions.weight, mean=0.0, std=c.d_model**-0.5)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(video.shape[1], device=video.device)
        return self.drop(self.proj(self.ln(video)) + self.positions(pos))  # (B, S, d)


class ForgetGateFusion(nn.Module):
    """FGF (eq. 4, the module of Liu et al., 2020): fuse video into text while a forget gate
    suppresses cross-modal noise.

        A     = softmax(T W_a Vᵀ / sqrt(d)) V     text-to-video attention      (B, L, d)
        M     = A W_m + b_m                        video memory                 (B, L, d)
        G     = σ([T; A] W_f)                      forget gate                  (B, L, d)
        T_FGF = T + [T; G ⊙ M] W_u + b_u           fused text                   (B, L, d)
    """

    def __init__(self, c: SummarizerConfig) -> None:
        super().__init__()
        d = c.d_model
        self.scale = d**-0.5
        self.att = nn.Linear(d, d, bias=False)  # W_a
        self.memory = nn.Linear(d, d)  # W_m, b_m
        self.forget = nn.Linear(2 * d, d, bias=False)  # W_f
        self.fuse = nn.Linear(2 * d, d)  # W_u, b_u
        self.drop = nn.Dropout(c.dropout)

    def forward(
        self, text: torch.Tensor, video: torch.Tensor, video_mask: torch.Tensor
    ) -> torch.Tensor:
        """text T (B, L, d), video V (B, S, d), video_mask (B, S) → T_FGF (B, L, d)."""
        safe, has_video = safe_key_mask(video_mask)
        scores = torch.einsum("bld,bsd->bls", self.att(text), video) * self.scale  # (B, L, S)
        weights = scores.masked_fill(~safe[:, None, :], float("-inf")).softmax(dim=-1)
        a = torch.einsum("bls,bsd->bld", weights, video)  # (B, L, d)
        gate = torch.sigmoid(self.forget(torch.cat([text, a], dim=-1)))  # (B, L, d)
        kept = gate * self.memory(a) * has_video[:, None, None].to(a.dtype)  # (B, L, d)
        return text + self.drop(self.fuse(torch.cat([text, kept], dim=-1)))


class ForgetFusionLayer(nn.Module):
    """The forget fusion encoder layer: FGF, then self-attention + FFN (§2.2.2)."""

    def __init__(self, c: SummarizerConfig) -> None:
        super().__init__()
        self.fgf = ForgetGateFusion(c)
        self.block = EncoderLayer(c)

    def forward(
        self,
        text: torch.Tensor,
        text_mask: torch.Tensor,
        video: torch.Tensor,
        video_mask: torch.Tensor,
    ) -> torch.Tensor:
        return self.block(self.fgf(text, video, video_mask), text_mask)  # (B, L, d)


class DecoderLayer(attention.DecoderLayer):
    """Pre-norm masked self-attention → cross-attention to the encoder output → FFN, with
    dropout inside the FFN (the authors' code). With ``cascade``: the cascaded fusion layer of
    eq. 5–7 (text-to-video attention and the fusion linear layer between the cross-attention
    and the FFN; see :class:`vloc.attention.DecoderLayer`)."""

    def __init__(self, c: SummarizerConfig, index: int, cascade: bool) -> None:
        super().__init__(c, index=index, inner_dropout=True, cascade=cascade)


class Decoder(attention.DecoderStack):
    """Target prefix → logits (B, T, V_tgt); the first ``fusion_decoder_layers`` layers are
    cascaded fusion layers when the variant has them."""

    def __init__(self, c: SummarizerConfig) -> None:
        super().__init__()
        self.embed = TextEmbedding(
            c.tgt_vocab_size, c.d_model, c.pad_id, c.max_target_len, c.dropout
        )
        n_cascade = c.fusion_decoder_layers if c.uses_cascade else 0
        self.layers = nn.ModuleList(
            DecoderLayer(c, i, cascade=i < n_cascade) for i in range(c.decoder_layers)
        )
        self.ln = nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, c.tgt_vocab_size, bias=False)
        if c.tie_embeddings:
            self.head.weight = self.embed.tokens.weight
