"""Configuration of the video-guided dual fusion summarizer (VDF) and its distilled encoders.

Defaults are the paper's (§3.2): 4-layer, 512-d, 8-head transformer encoder and decoder, one
forget fusion encoder layer and one cascaded fusion decoder layer, text truncated to 800 tokens,
video to 1024 steps of 2048-d 3D-ResNeXt-101 features (one per 16 non-overlapping frames).

Variants (the paper's ablations, Table 4), all from the same code:

=====================  ==========================================================================
variant                what is built
=====================  ==========================================================================
``full``               text encoder → forget fusion encoder (video) → cascaded fusion decoder
``no-forget-fusion``   w/o FF-Enc: text encoder only; the cascaded decoder still attends to video
``no-cascade``         w/o CF-Dec: forget fusion encoder kept; a standard decoder that attends
                       to the encoder output only
``no-video``           w/o video: a text-only transformer, no video module; video is ignored
=====================  ==========================================================================

Layer counts: the forget fusion encoder layer sits *on top of* the ``encoder_layers`` text
layers; the cascaded fusion decoder layers are the *first* ``fusion_decoder_layers`` of the
``decoder_layers`` decoder layers (as in the authors' released code), so ``no-cascade`` has
the same depth as ``full``.

This module imports no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from vloc.configs import DictConfig
from vloc.errors import InputError

VARIANTS = ("full", "no-forget-fusion", "no-cascade", "no-video")
RESNEXT_DIM = 2048  # channels of 3D-ResNeXt-101's pooled output (the paper's video features)
CLIP_FRAMES = 16  # one video feature per 16 non-overlapping frames (§2.2.1)
MAX_SOURCE_TOKENS = 800  # "maximum text sequence length ... truncated to 800" (§3.2)
MAX_VIDEO_STEPS = 1024  # "... and video sequence length ... 1024" (§3.2)
PAPER_BEAM = 6  # beam size at prediction (§3.2)
PAPER_LR = 1.5e-4  # Adam initial learning rate (§3.2)
PAPER_BATCH = 8  # examples per batch (§3.2)


@dataclass(frozen=True)
class SummarizerConfig(DictConfig):
    """Sizes and options of :class:`vloc.summarizer.model.VDFSummarizer`."""

    what = "summarizer"  # names it in from_dict's errors

    src_vocab_size: int  # source-language tokenizer ids (specials included)
    tgt_vocab_size: int  # target-language tokenizer ids (specials included)
    variant: str = "full"  # one of VARIANTS (see the module docstring)
    d_model: int = 512  # width d of text, video and fusion states
    ffn_dim: int = 2048  # feed-forward inner width (4·d, the released code's default)
    n_heads: int = 8  # attention heads everywhere
    encoder_layers: int = 4  # transformer text encoder layers
    decoder_layers: int = 4  # decoder layers, the cascaded ones included
    fusion_encoder_layers: int = 1  # forget fusion encoder layers on top of the text encoder
    fusion_decoder_layers: int = 1  # cascaded fusion layers (the first decoder layers)
    dropout: float = 0.1  # dropout on embeddings, sub-layer outputs and FFN activations
    attention_dropout: float = 0.0  # dropout on attention weights (0 in the released code)
    video_dim: int = RESNEXT_DIM  # D_v: width of the stored video features
    max_source_len: int = MAX_SOURCE_TOKENS  # learned source positions (longer: truncate first)
    max_video_len: int = MAX_VIDEO_STEPS  # learned video positions (longer: pool first)
    max_target_len: int = 256  # learned target positions incl. BOS; longest summary generated
    share_embeddings: bool = False  # one table for source and target (monolingual stage 1)
    tie_embeddings: bool = True  # the output projection shares the target embedding table
    pad_id: int = 0  # padding id in both vocabularies
    bos_id: int = 1  # begin-of-sequence id (decoder start)
    eos_id: int = 2  # end-of-sequence id
    label_smoothing: float = 0.1  # cross-entropy label smoothing (0 = the paper's plain CE)

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise InputError(f"unknown summarizer variant {self.variant!r}; valid: {VARIANTS}")
        if self.d_model % self.n_heads:
            raise InputError(
                f"d_model ({self.d_model}) must be a multiple of n_heads ({self.n_heads})"
            )
        if min(self.src_vocab_size, self.tgt_vocab_size) <= max(
            self.pad_id, self.bos_id, self.eos_id
        ):
            raise InputError("vocabularies must contain the pad/bos/eos ids")
        if self.share_embeddings and self.src_vocab_size != self.tgt_vocab_size:
            raise InputError(
                "share_embeddings needs one vocabulary: src_vocab_size "
                f"{self.src_vocab_size} != tgt_vocab_size {self.tgt_vocab_size}"
            )
        if self.encoder_layers < 0 or self.decoder_layers < 1:
            raise InputError("encoder_layers must be >= 0 and decoder_layers >= 1")
        if not 0 <= self.fusion_decoder_layers <= self.decoder_layers:
            raise InputError(
                f"fusion_decoder_layers ({self.fusion_decoder_layers}) must lie in "
                f"[0, decoder_layers = {self.decoder_layers}]"
            )
        if self.fusion_encoder_layers < 0:
            raise InputError("fusion_encoder_layers must be >= 0")
        if min(self.max_source_len, self.max_video_len, self.max_target_len) < 1:
            raise InputError("max_source_len, max_video_len and max_target_len must be >= 1")

    @property
    def uses_video(self) -> bool:
        """False only for ``no-video``: no video module is built and video inputs are ignored."""
        return self.variant != "no-video"

    @property
    def uses_forget_fusion(self) -> bool:
        """Whether the forget fusion encoder (FGF + self-attention + FFN) is built."""
        return self.variant in ("full", "no-cascade") and self.fusion_encoder_layers > 0

    @property
    def uses_cascade(self) -> bool:
        """Whether the first decoder layers are cascaded fusion layers (eq. 5–7)."""
        return self.variant in ("full", "no-forget-fusion") and self.fusion_decoder_layers > 0
