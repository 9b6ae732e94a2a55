"""Configuration of the global-context video-guided translator (sizes, variant, inputs).

Defaults are the paper's (§IV-C): 4 + 4 layers, d = 128, FFN 256, 8 heads, dropout 0.35,
P = 10 retrieved segments, window w = 2 with γ = 0.1, top K = 5 with λ = 0.1.

Variants (the paper's baselines and ablations, Tables I and IV), all from the same code:

=================  =================================  =============================================
variant            visual context the model is fed    inside the model
=================  =================================  =============================================
``full``           top-P retrieved segments (GR)      TVSS top-K + absorption, region attn, fusion
``text-only``      none                               plain transformer NMT, no video modules
``segment-level``  the cue's own segment V_i only     region attn + fusion over 1 segment, no TVSS
``no-gr``          the P segments nearest in time     same as ``full``
``no-tvss``        top-P retrieved segments (GR)      region attn + fusion over all P, no TVSS
``no-gr-no-tvss``  the P segments nearest in time     same as ``no-tvss``
=================  =================================  =============================================

"w/o GR" keeps everything but the retrieval: the paper says removing GR loses the *globally
distributed* segments, so vloc replaces them with the cue's local temporal context: the cue's
own segment first, then its neighbours by increasing distance in time (i, i−1, i+1, i−2, ...),
with the same window fusion (w, γ) applied. :attr:`TranslatorConfig.context` tells the data
pipeline which segments to feed; :func:`vloc.index.film_context` builds them (the ``no-gr``
ids: :func:`vloc.index.temporal_context_ids`, re-exported here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vloc.configs import DictConfig
from vloc.errors import InputError
from vloc.index.context import temporal_context_ids as temporal_context_ids  # re-exported

VARIANTS = ("full", "text-only", "segment-level", "no-gr", "no-tvss", "no-gr-no-tvss")
I3D_DIM = 2048  # channels of I3D-R50's last stage (the paper's video features)
GRID_3X3 = 9  # regions when the 7×7 feature map is pooled to a 3×3 grid


@dataclass(frozen=True)
class TranslatorConfig(DictConfig):
    """Sizes and options of :class:`vloc.translator.model.Translator`."""

    what = "translator"  # names it in from_dict's errors

    src_vocab_size: int  # source tokenizer ids (specials included)
    tgt_vocab_size: int  # target tokenizer ids (specials included)
    variant: str = "full"  # one of VARIANTS (see the module docstring)
    d_model: int = 128  # text width d (= E_t = E_o)
    ffn_dim: int = 256  # feed-forward inner width
    n_heads: int = 8  # attention heads everywhere
    encoder_layers: int = 4  # transformer encoder layers
    decoder_layers: int = 4  # transformer decoder layers
    dropout: float = 0.35  # dropout on embeddings, attention outputs and FFNs (fairseq --dropout)
    attention_dropout: float = 0.0  # dropout on attention weights (fairseq's default 0)
    video_dim: int = I3D_DIM  # D_v: width of the stored region features
    video_regions: int = GRID_3X3  # R: spatial regions per segment
    visual_dim: int = 128  # E_v: width video features are projected to ("aligned with text")
    segments: int = 10  # P: retrieved segments per cue (global retrieval, eq. 1)
    window: int = 2  # w: neighbours on each side fused into a retrieved segment (eq. 2)
    window_gamma: float = 0.1  # γ: weight of the fused neighbours (eq. 2)
    select_k: int = 5  # K: segments kept by the selector (eq. 5)
    absorb_lambda: float = 0.1  # λ: weight of unselected segments absorbed (eq. 7)
    max_source_len: int = 128  # source tokens kept (longer inputs are truncated by the caller)
    max_target_len: int = 128  # target tokens generated at most (EOS excluded)
    tie_embeddings: bool = True  # decoder output projection shares the target embedding
    pad_id: int = 0  # padding id in both vocabularies
    bos_id: int = 1  # begin-of-sentence id (decoder start)
    eos_id: int = 2  # end-of-sentence id
    label_smoothing: float = 0.1  # cross-entropy label smoothing (§IV-C)

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise InputError(f"unknown translator variant {self.variant!r}; valid: {VARIANTS}")
        if self.d_model % self.n_heads or self.visual_dim % self.n_heads:
            raise InputError(
                f"d_model ({self.d_model}) and visual_dim ({self.visual_dim}) must be "
                f"multiples of n_heads ({self.n_heads})"
            )
        if min(self.src_vocab_size, self.tgt_vocab_size) <= max(
            self.pad_id, self.bos_id, self.eos_id
        ):
            raise InputError("vocabularies must contain the pad/bos/eos ids")
        if self.segments < 1 or self.select_k < 1 or self.video_regions < 1:
            raise InputError("segments (P), select_k (K) and video_regions (R) must be >= 1")

    @property
    def uses_video(self) -> bool:
        """False only for ``text-only``: no video modules are built and video inputs are
        ignored."""
        return self.variant != "text-only"

    @property
    def uses_selector(self) -> bool:
        """Whether TVSS (top-K selection with absorption) runs."""
        return self.variant in ("full", "no-gr")

    @property
    def context(self) -> str:
        """Which segments the data pipeline must feed as ``video`` (B, P, R, D_v):
        ``"global"`` (retrieved, eq. 1–3), ``"temporal"`` (nearest in time, see
        :func:`vloc.index.temporal_context_ids`), ``"own"`` (only the cue's segment, P = 1) or
        ``"none"``; the kinds of :func:`vloc.index.film_context`."""
        return {
            "full": "global",
            "no-tvss": "global",
            "no-gr": "temporal",
            "no-gr-no-tvss": "temporal",
            "segment-level": "own",
            "text-only": "none",
        }[self.variant]

    @property
    def context_options(self) -> dict[str, Any]:
        """P, w and γ as :func:`vloc.index.film_context` takes them (``p``, ``w``, ``gamma``)."""
        return {"p": self.segments, "w": self.window, "gamma": self.window_gamma}

    @property
    def input_segments(self) -> int:
        """P the model reads: ``segments``, or 1 for ``segment-level``, 0 for ``text-only``."""
        return {"own": 1, "none": 0}.get(self.context, self.segments)
