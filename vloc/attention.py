"""Transformer building blocks shared by the translator and the summarizer.

Both models use the same multi-head attention (separate query / key-value projections so
that decoders can cache projected keys and values, a key mask that never yields NaNs), the
same position-wise feed-forward block, the same pre-norm encoder layer and the same pre-norm
decoder layer and stack. Parameter names (``q``, ``k``, ``v``, ``out``, ``fc1``, ``fc2``,
``ln1``, ``attn``, ``ln2``, ``ffn``; the decoder layer's ``ln_self``, ``self_attn``,
``ln_cross``, ``cross_attn``, ``ln_video``, ``video_attn``, ``fusion``, ``ln_ffn``) are part of
every saved checkpoint: do not rename them (:class:`DecoderLayer` maps the names translator
checkpoints were written with before the two models shared it).

The decoder's memory (what a model's ``encode`` returns, every tensor batch-first) holds the
encoder output and its masks, and each decoder layer's keys/values of it, projected once by
:meth:`DecoderStack.project_memory` rather than at every step: beam search expands the memory
once and reorders only the decoder cache (the self-attention keys/values) after each step.
"""

from __future__ import annotations

from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

Tensors = dict[str, torch.Tensor]  # a decoder's memory or cache: name → batch-first tensor


class LayerSizes(Protocol):
    """What a transformer layer reads from a model's config (both configs have these)."""

    @property
    def d_model(self) -> int: ...  # width d of the states
    @property
    def n_heads(self) -> int: ...  # attention heads
    @property
    def ffn_dim(self) -> int: ...  # feed-forward inner width
    @property
    def dropout(self) -> float: ...  # on sub-layer outputs (and FFN activations, if inner)
    @property
    def attention_dropout(self) -> float: ...  # on attention weights


def safe_key_mask(key_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """key_mask (B, Lk) bool → (mask for attention, has_key (B,) bool).

    Rows without any valid key attend to everything (a finite, ignored result) instead of
    producing NaNs; callers zero their output with ``has_key``.
    """
    has_key = key_mask.any(dim=-1)  # (B,)
    return key_mask | ~has_key.unsqueeze(-1), has_key


class MultiHeadAttention(nn.Module):
    """Scaled dot-product attention with ``n_heads`` heads.

    Queries of width ``q_dim``, keys and values of width ``kv_dim``, internal width ``width``
    (a multiple of ``n_heads``), output width ``out_dim`` — or no output projection when
    ``out_dim`` is None. ``dropout`` applies to the attention weights while training.
    """

    def __init__(
        self,
        q_dim: int,
        kv_dim: int,
        width: int,
        n_heads: int,
        out_dim: int | None,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if width % n_heads:
            raise ValueError(f"attention width {width} must be a multiple of n_heads {n_heads}")
        self.n_heads = n_heads
        self.q = nn.Linear(q_dim, width)
        self.k = nn.Linear(kv_dim, width)
        self.v = nn.Linear(kv_dim, width)
        self.out = nn.Linear(width, out_dim) if out_dim is not None else nn.Identity()
        self.dropout = dropout

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        return x.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2)  # (B, H, T, hs)

    def project_q(self, x: torch.Tensor) -> torch.Tensor:
        return self._heads(self.q(x))  # (B, H, Lq, hs)

    def project_kv(self, kv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self._heads(self.k(kv)), self._heads(self.v(kv))  # 2 × (B, H, Lk, hs)

    def attend(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        key_mask: torch.Tensor | None = None,
        causal: bool = False,
    ) -> torch.Tensor:
        """q (N, H, Lq, hs), k/v (N, H, Lk, hs), key_mask (N, Lk) bool → (N, Lq, out).

        ``causal`` (self-attention over a whole prefix, Lq == Lk) takes no key mask: padded
        target positions only ever attend to earlier ones, and their outputs are ignored.
        """
        if causal and key_mask is not None:
            raise ValueError("causal attention takes no key mask")
        N, H, Lq, hs = q.shape
        mask, has_key = None, None
        if key_mask is not None:
            safe, has_key = safe_key_mask(key_mask)
            mask = safe[:, None, None, :]  # (N, 1, 1, Lk)
        drop = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=drop, is_causal=causal
        )  # (N, H, Lq, hs)
        y = self.out(y.transpose(1, 2).reshape(N, Lq, H * hs))  # (N, Lq, out)
        if has_key is not None:
            y = y * has_key[:, None, None].to(y.dtype)
        return y

    def forward(
        self,
        x: torch.Tensor,
        kv: torch.Tensor,
        key_mask: torch.Tensor | None = None,
        causal: bool = False,
    ) -> torch.Tensor:
        """x (B, Lq, q_dim), kv (B, Lk, kv_dim), key_mask (B, Lk) → (B, Lq, out)."""
        k, v = self.project_kv(kv)
        return self.attend(self.project_q(x), k, v, key_mask, causal)

    def self_attention_step(
        self, x: torch.Tensor, cache: dict[str, torch.Tensor], index: int
    ) -> torch.Tensor:
        """Causal self-attention of decoder layer ``index``, one new position at a time:
        x (B, 1, q_dim) attends to itself and to the earlier positions, whose keys/values
        (B, H, t, hs) ``cache`` holds as ``self_k.{index}``, ``self_v.{index}``; extends them
        in place → (B, 1, out)."""
        k, v = self.project_kv(x)  # (B, H, 1, hs)
        if f"self_k.{index}" in cache:
            k = torch.cat([cache[f"self_k.{index}"], k], dim=2)  # (B, H, t+1, hs)
            v = torch.cat([cache[f"self_v.{index}"], v], dim=2)
        cache[f"self_k.{index}"], cache[f"self_v.{index}"] = k, v
        return self.attend(self.project_q(x), k, v)  # (B, 1, out)


class FeedForward(nn.Module):
    """Position-wise ``fc2(relu(fc1(x)))`` with dropout on the output, and also on the hidden
    activations when ``inner_dropout`` (the translator follows fairseq's default of none; the
    summarizer follows its authors' code)."""

    def __init__(self, dim: int, hidden: int, dropout: float, *, inner_dropout: bool) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(dropout)
        self.inner_dropout = inner_dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.fc1(x))  # (..., hidden)
        if self.inner_dropout:
            h = self.drop(h)
        return self.drop(self.fc2(h))  # (..., dim)


class EncoderLayer(nn.Module):
    """Pre-norm self-attention + FFN of width d = ``c.d_model``: x (B, L, d), mask (B, L) →
    (B, L, d); ``inner_dropout`` as in :class:`FeedForward`. Parameter names (``ln1``,
    ``attn``, ``ln2``, ``ffn``) are part of both models' checkpoints."""

    def __init__(self, c: LayerSizes, *, inner_dropout: bool) -> None:
        super().__init__()
        d = c.d_model
        self.ln1 = nn.LayerNorm(d)
        self.attn = MultiHeadAttention(d, d, d, c.n_heads, d, c.attention_dropout)
        self.ln2 = nn.LayerNorm(d)
        self.ffn = FeedForward(d, c.ffn_dim, c.dropout, inner_dropout=inner_dropout)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x (B, L, d), mask (B, L) → (B, L, d)."""
        h = self.ln1(x)
        x = x + self.drop(self.attn(h, h, mask))
        return x + self.ffn(self.ln2(x))


# decoder-layer parameter names of checkpoints written before both models shared the layer
# (the translator's) → today's names
LEGACY_DECODER_NAMES = {"ln1.": "ln_self.", "ln2.": "ln_cross.", "ln3.": "ln_ffn."}


def _rename_legacy_decoder_keys(
    module: nn.Module, state_dict: dict[str, torch.Tensor], prefix: str, *_: object
) -> None:
    """load_state_dict pre-hook: rename this layer's legacy keys in ``state_dict`` in place."""
    for old, new in LEGACY_DECODER_NAMES.items():
        for key in [k for k in state_dict if k.startswith(prefix + old)]:
            renamed = prefix + new + key[len(prefix + old) :]
            if renamed not in state_dict:
                state_dict[renamed] = state_dict.pop(key)


class DecoderLayer(nn.Module):
    """Pre-norm decoder layer of width ``d``: masked self-attention → C_X; cross-attention
    to the encoder output → C_Y (translator eq. 15, VDF eq. 5); FFN.

    With ``cascade``, VDF's cascaded fusion layer (eq. 6–7) sits between the cross-attention
    and the FFN: C_V = Att(LN(C_X + C_Y), V, V) over the video V, and
    C_M = [LN(C_X + C_Y); C_V] W_de + b_de + (C_X + C_Y).

    ``index`` names this layer's entries in the memory (``cross_k.{index}``,
    ``cross_v.{index}``, and ``video_k.{index}``, ``video_v.{index}`` when cascaded) and in the
    decoder cache (``self_k.{index}``, ``self_v.{index}``); sizes from ``c``; ``inner_dropout``
    as in :class:`FeedForward`.
    """

    def __init__(
        self, c: LayerSizes, *, index: int, inner_dropout: bool, cascade: bool = False
    ) -> None:
        super().__init__()
        d, heads, att_drop = c.d_model, c.n_heads, c.attention_dropout
        self.index = index
        self.ln_self = nn.LayerNorm(d)
        self.self_attn = MultiHeadAttention(d, d, d, heads, d, att_drop)
        self.ln_cross = nn.LayerNorm(d)
        self.cross_attn = MultiHeadAttention(d, d, d, heads, d, att_drop)
        self.cascade = cascade
        if cascade:
            self.ln_video = nn.LayerNorm(d)
            self.video_attn = MultiHeadAttention(d, d, d, heads, d, att_drop)
            self.fusion = nn.Linear(2 * d, d)  # W_de, b_de of VDF eq. 7
        self.ln_ffn = nn.LayerNorm(d)
        self.ffn = FeedForward(d, c.ffn_dim, c.dropout, inner_dropout=inner_dropout)
        self.drop = nn.Dropout(c.dropout)
        self.register_load_state_dict_pre_hook(_rename_legacy_decoder_keys)

    def memory_kv(self, memory: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """This layer's keys/values (B, H, Lk, hs) of the encoder output ``memory["memory"]``
        (B, L, d) and, when cascaded, of the video ``memory["video"]`` (B, S, d)."""
        i, out = self.index, {}
        out[f"cross_k.{i}"], out[f"cross_v.{i}"] = self.cross_attn.project_kv(memory["memory"])
        if self.cascade:
            out[f"video_k.{i}"], out[f"video_v.{i}"] = self.video_attn.project_kv(memory["video"])
        return out

    def _after_self_attn(self, c_x: torch.Tensor, memory: dict[str, torch.Tensor]) -> torch.Tensor:
        """C_X (B, T, d) → the layer's output (B, T, d), reading the projected memory."""
        i = self.index
        q = self.cross_attn.project_q(self.ln_cross(c_x))
        c_y = self.cross_attn.attend(
            q, memory[f"cross_k.{i}"], memory[f"cross_v.{i}"], memory["memory_mask"]
        )  # (B, T, d)
        x = c_x + self.drop(c_y)  # C_X + C_Y
        if self.cascade:
            h = self.ln_video(x)
            q = self.video_attn.project_q(h)
            c_v = self.video_attn.attend(
                q, memory[f"video_k.{i}"], memory[f"video_v.{i}"], memory["video_mask"]
            )  # (B, T, d) VDF eq. 6
            x = x + self.drop(self.fusion(torch.cat([h, c_v], dim=-1)))  # VDF eq. 7: C_M
        return x + self.ffn(self.ln_ffn(x))

    def forward(self, x: torch.Tensor, memory: dict[str, torch.Tensor]) -> torch.Tensor:
        """x (B, T, d), the whole target prefix (causal) → (B, T, d)."""
        h = self.ln_self(x)
        return self._after_self_attn(x + self.drop(self.self_attn(h, h, causal=True)), memory)

    def step(
        self, x: torch.Tensor, memory: dict[str, torch.Tensor], cache: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        """x (B, 1, d), the newest position only; extends ``cache`` in place → (B, 1, d)."""
        y = self.self_attn.self_attention_step(self.ln_self(x), cache, self.index)
        return self._after_self_attn(x + self.drop(y), memory)


class DecoderStack(nn.Module):
    """Both models' decoders. Subclasses set ``embed`` (ids (B, T), start position →
    (B, T, d)), ``layers`` (:class:`DecoderLayer`), the final LayerNorm ``ln`` and the output
    projection ``head``."""

    embed: nn.Module
    layers: nn.ModuleList
    ln: nn.LayerNorm
    head: nn.Linear

    def project_memory(self, memory: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The encoder's ``memory`` (``memory`` (B, L, d), ``memory_mask`` (B, L), for cascaded
        layers ``video`` (B, S, d), ``video_mask`` (B, S)) plus every layer's keys/values of it
        (:meth:`DecoderLayer.memory_kv`) → what :meth:`forward` and :meth:`step` read."""
        out = dict(memory)
        for layer in self.layers:
            out.update(layer.memory_kv(memory))
        return out

    def forward(self, tgt_in: torch.Tensor, memory: dict[str, torch.Tensor]) -> torch.Tensor:
        """Teacher forcing: tgt_in (B, T) over the projected ``memory`` → logits (B, T, V)."""
        x = self.embed(tgt_in)  # (B, T, d)
        for layer in self.layers:
            x = layer(x, memory)
        return self.head(self.ln(x))  # (B, T, V)

    def step(
        self, tokens: torch.Tensor, memory: Tensors, cache: Tensors, step: int
    ) -> torch.Tensor:
        """tokens (B, 1) at position ``step`` → logits (B, V); extends ``cache`` in place."""
        x = self.embed(tokens, start=step)  # (B, 1, d)
        for layer in self.layers:
            x = layer.step(x, memory, cache)
        return self.head(self.ln(x))[:, 0]  # (B, V)
