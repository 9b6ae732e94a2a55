"""The video-guided dual fusion summarizer, VDF (multimodal cross-lingual summarization, §2.2).

Inputs of one batch (B videos)::

    src        (B, L)       int64    source-transcript token ids, padded with pad_id, L <= 800
    src_mask   (B, L)       bool     True at real tokens
    video      (B, S, D_v)  float32  one 3D-ResNeXt-101 vector per 16 non-overlapping frames,
                                     D_v = 2048, S <= 1024 (pool longer videos: pool_video)
    video_mask (B, S)       bool     True at real steps
    tgt_in     (B, T)       int64    BOS + summary ids (teacher forcing), padded with pad_id

Path (``full``)::

    TextEncoder     src → T_Trm (B, L, d)                          eq. 3, BiTrm
    VideoEncoder    video → V (B, S, d), learned positions          eq. 2 + "learnable position"
    ForgetFusion    T_FGF = FGF(T_Trm, V); self-attention + FFN → T_en (B, L, d)     eq. 4
    Decoder         masked self-attention → C_X; C_Y = Att(C_X, T_en, T_en)          eq. 5
    (cascaded       C_V = Att(C_X + C_Y, V, V)                                       eq. 6
     first layer)   C_M = [C_X + C_Y, C_V]·W_de + b_de + (C_X + C_Y); FFN            eq. 7
                    → logits (B, T, V_tgt)

The building blocks and the choices the paper leaves open are in
:mod:`vloc.summarizer.layers`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from vloc.encoder_decoder import Seq2Seq
from vloc.errors import InputError
from vloc.summarizer.config import SummarizerConfig
from vloc.summarizer.layers import Decoder, ForgetFusionLayer, TextEncoder, VideoEncoder

if TYPE_CHECKING:
    from vloc.generation import BeamResult


class VDFSummarizer(Seq2Seq):
    """VDF; ``config.variant`` selects the paper's model or one of its ablations.

    Example::

        model = VDFSummarizer(SummarizerConfig(src_vocab_size=8000, tgt_vocab_size=8000))
        logits = model(src, src_mask, video, video_mask, tgt_in)     # (B, T, V_tgt)
        result = model.generate(src, src_mask, video, video_mask)    # beam 6, penalty 1
        result.tokens[0]                                             # summary ids of video 0
    """

    config_class = SummarizerConfig
    kind = "summarizer"

    def __init__(self, config: SummarizerConfig) -> None:
        super().__init__()
        c = config
        self.config = c
        self.encoder = TextEncoder(c)
        self.video = VideoEncoder(c) if c.uses_video else None
        n_fusion = c.fusion_encoder_layers if c.uses_forget_fusion else 0
        self.fusion = nn.ModuleList(ForgetFusionLayer(c) for _ in range(n_fusion))
        self.fusion_ln = nn.LayerNorm(c.d_model) if n_fusion else None
        self.decoder = Decoder(c)
        if c.share_embeddings:
            self.encoder.embed.tokens = self.decoder.embed.tokens

    # -- encoding ---------------------------------------------------------------------------

    def _check_text(self, src: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
        if src.dim() != 2 or src_mask.shape != src.shape:
            raise InputError(
                f"src and src_mask must both be (B, L), got {tuple(src.shape)} and "
                f"{tuple(src_mask.shape)}"
            )
        if src.shape[1] > self.config.max_source_len:
            raise InputError(
                f"source of {src.shape[1]} tokens exceeds the model's "
                f"{self.config.max_source_len}; truncate the transcript first"
            )
        return src_mask.bool()

    def check_inputs(
        self,
        src: torch.Tensor,
        src_mask: torch.Tensor,
        video: torch.Tensor | None,
        video_mask: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Validate shapes and lengths → (src_mask, video, video_mask) as bool masks; the
        video pair is None for ``no-video``. Raises :class:`InputError` naming the problem."""
        c = self.config
        src_mask = self._check_text(src, src_mask)
        if not c.uses_video:
            return src_mask, None, None
        if video is None or video_mask is None:
            raise InputError(f"the {c.variant!r} summarizer needs video and video_mask inputs")
        if video.dim() != 3 or video.shape[0] != src.shape[0] or video.shape[2] != c.video_dim:
            raise InputError(
                f"video must be (B={src.shape[0]}, S, D_v={c.video_dim}), got {tuple(video.shape)}"
            )
        if video_mask.shape != video.shape[:2]:
            raise InputError(
                f"video_mask must be (B, S) = {tuple(video.shape[:2])}, "
                f"got {tuple(video_mask.shape)}"
            )
        if video.shape[1] > c.max_video_len:
            raise InputError(
                f"video of {video.shape[1]} steps exceeds the model's {c.max_video_len}; "
                "pool it first (vloc.summarizer.pool_video)"
            )
        return src_mask, video, video_mask.bool()

    def fuse(
        self,
        text: torch.Tensor,
        src_mask: torch.Tensor,
        video: torch.Tensor | None,
        video_mask: torch.Tensor | None,
    ) -> dict[str, torch.Tensor]:
        """T_Trm (B, L, d) (after the text encoder's final LayerNorm) → the memory dict:
        ``memory`` T_en (B, L, d), ``memory_mask`` (B, L) and, for cascaded variants,
        ``video`` V (B, S, d) and ``video_mask`` (B, S). Inputs as checked by :meth:`encode`."""
        memory = {"memory": text, "memory_mask": src_mask}
        if self.video is None:
            return memory
        assert video is not None and video_mask is not None, "video inputs were not checked"
        v = self.video(video)  # (B, S, d)
        if len(self.fusion):
            x = text
            for layer in self.fusion:
                x = layer(x, src_mask, v, video_mask)
            memory["memory"] = self.fusion_ln(x)  # T_en (B, L, d)
        if self.config.uses_cascade:
            memory["video"], memory["video_mask"] = v, video_mask
        return memory

    def encode(
        self,
        src: torch.Tensor,
        src_mask: torch.Tensor,
        video: torch.Tensor | None = None,
        video_mask: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """→ the memory for :meth:`forward` and :meth:`decode_step`, every tensor batch-first:
        :meth:`fuse`'s ``memory`` T_en (B, L, d), ``memory_mask`` (B, L) and, for cascaded
        variants, ``video_mask`` (B, S), plus each decoder layer's keys/values projected once
        here rather than at every step (``cross_k.{i}``, ``cross_v.{i}`` (B, H, L, hs), and
        ``video_k.{i}``, ``video_v.{i}`` (B, H, S, hs) for cascaded layers). V itself is not
        kept: decoding reads only its projections. ``no-video`` ignores the video inputs,
        which may be None."""
        src_mask, video, video_mask = self.check_inputs(src, src_mask, video, video_mask)
        fused = self.fuse(self.encoder(src, src_mask), src_mask, video, video_mask)
        memory = self.decoder.project_memory(fused)
        memory.pop("video", None)
        return memory

    def encoder_states(
        self,
        src: torch.Tensor,
        src_mask: torch.Tensor,
        video: torch.Tensor | None = None,
        video_mask: torch.Tensor | None = None,
        layer: int | None = None,
    ) -> torch.Tensor:
        """States (B, L, d) that a distilled encoder must reproduce.

        ``layer`` 0: vocabulary embeddings H (vocab-level KD, eq. 9); 1..encoder_layers: the
        text encoder after that many layers (encoder-level KD on a sub-layer); None: the final
        encoder output T_en (eq. 8), fused with the video (video inputs are needed then, and
        ignored otherwise)."""
        n = len(self.encoder.layers)
        if layer is None:
            return self.encode(src, src_mask, video, video_mask)["memory"]
        if not 0 <= layer <= n:
            raise InputError(f"encoder layer {layer} does not exist; valid: 0..{n} or None")
        return self.encoder.states(src, self._check_text(src, src_mask), layer)

    # -- decoding ---------------------------------------------------------------------------

    @torch.inference_mode()
    def generate(
        self,
        src: torch.Tensor,
        src_mask: torch.Tensor,
        video: torch.Tensor | None = None,
        video_mask: torch.Tensor | None = None,
        *,
        beam_size: int = 6,
        max_len: int = 100,
        min_len: int = 0,
        length_penalty: float = 1.0,
        no_repeat_ngram: int = 0,
    ) -> BeamResult:
        """Summarize a batch: beam search (greedy when ``beam_size`` is 1) with at most
        ``min(max_len, max_target_len − 1)`` tokens per summary (EOS excluded)."""
        return self.search(
            self.encode(src, src_mask, video, video_mask),
            beam_size=beam_size,
            max_len=min(max_len, self.config.max_target_len - 1),
            min_len=min_len,
            length_penalty=length_penalty,
            no_repeat_ngram=no_repeat_ngram,
        )


def pool_video(features: torch.Tensor, max_steps: int) -> torch.Tensor:
    """features (S, D) of one video → (min(S, max_steps), D): adaptive average pooling over
    time when the video has more steps than the model's positions (a 90-minute film at 25 fps
    has 8,437 16-frame steps); shorter videos are returned unchanged."""
    if features.dim() != 2:
        raise InputError(f"video features must be (S, D), got {tuple(features.shape)}")
    if features.shape[0] <= max_steps:
        return features
    return F.adaptive_avg_pool1d(features.T.unsqueeze(0), max_steps)[0].T  # (max_steps, D)
