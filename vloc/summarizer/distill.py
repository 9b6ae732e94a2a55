"""The triple-stage training framework's own pieces (§2.3–2.5).

1. Train :class:`~vloc.summarizer.model.VDFSummarizer` on plentiful monolingual data
   (video, transcript X, summary), e.g. English → English: nothing special.
2. Knowledge distillation on parallel transcripts (X, Y): a :class:`StudentEncoder` with its own
   source-language vocabulary learns to reproduce the frozen teacher's states,
   ``distillation_loss`` = smooth-L1 after adaptive average pooling over the length (eq. 8–9).
   :class:`Distiller` packages this as one module for the trainer.
3. :func:`swap_encoder` puts the student in the teacher's place; fine-tune on the cross-lingual
   data (video, Y, summary) with the ordinary summarization loss (eq. 10–11).

Where the student is distilled (``layer``, as :meth:`VDFSummarizer.encoder_states`) and what
it then replaces (Table 5: layer 0 *is* vocab-level KD; the best was the middle layer 2):

=========  ================================================  ==================================
layer      the student reproduces                            swap replaces (the rest is kept)
=========  ================================================  ==================================
0          H: the vocabulary embeddings (vocab-level, eq. 9)  the token embedding table
k ≥ 1      the text encoder after k layers                    token table, positions, layers 1..k
None       T_en, the encoder output (encoder-level, eq. 8):   token table, positions, all text
           the student's top state goes through the           layers (final LayerNorm and
           teacher's frozen final LayerNorm and fusion        fusion encoder kept)
=========  ================================================  ==================================

Lengths: parallel transcripts differ in length. ``mode="to-student"`` (the paper's text: "transform
the English word feature sequence to the same length as the Portuguese one") pools the teacher's
sequence to the student's length; ``"to-teacher"`` pools the student's to the teacher's (what
the authors' released code does); ``"fixed"`` pools both to ``length``. Pooling is per item
over its real positions only (padding never enters an average).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vloc.encoder_decoder import load_module_folder, save_module_folder
from vloc.errors import InputError
from vloc.summarizer.config import SummarizerConfig
from vloc.summarizer.layers import EncoderLayer, TextEmbedding
from vloc.summarizer.model import VDFSummarizer

POOL_MODES = ("to-student", "to-teacher", "fixed")
SMOOTH_L1_BETA = 1.0  # torch's default: quadratic below 1, linear above
STUDENT_CONFIG_FILE = "student.json"
STUDENT_MODEL_FILE = "student.safetensors"
# teacher sizes a student must share to take the teacher's place
_SHAPE_FIELDS = ("d_model", "ffn_dim", "n_heads", "encoder_layers", "max_source_len", "pad_id")


def adaptive_pool_weights(
    in_lengths: torch.Tensor, out_lengths: torch.Tensor, in_max: int, out_max: int
) -> torch.Tensor:
    """Per-item averaging matrices (B, out_max, in_max) float32 of ``F.adaptive_avg_pool1d``:
    output i of an item with n inputs and m outputs averages inputs floor(i·n/m) ..
    ceil((i+1)·n/m) − 1; rows i ≥ m and columns j ≥ n are 0."""
    n = in_lengths.long()[:, None, None]  # (B, 1, 1)
    m = out_lengths.long()[:, None, None].clamp(min=1)
    i = torch.arange(out_max, device=n.device)[None, :, None]  # (1, O, 1)
    j = torch.arange(in_max, device=n.device)[None, None, :]  # (1, 1, I)
    start = (i * n) // m  # (B, O, 1)
    end = ((i + 1) * n + m - 1) // m  # ceil
    inside = (j >= start) & (j < end) & (i < out_lengths.long()[:, None, None])  # (B, O, I)
    return inside.float() / (end - start).clamp(min=1).float()


def _pool(x: torch.Tensor, mask: torch.Tensor, out_lengths: torch.Tensor) -> torch.Tensor:
    """x (B, L, d) with real positions ``mask`` (B, L) (a prefix) → (B, max(out), d)."""
    w = adaptive_pool_weights(mask.sum(1), out_lengths, x.shape[1], int(out_lengths.max()))
    return torch.bmm(w.to(x.dtype), x)


def distillation_loss(
    student_states: torch.Tensor,
    student_mask: torch.Tensor,
    teacher_states: torch.Tensor,
    teacher_mask: torch.Tensor,
    *,
    mode: str = "to-student",
    length: int | None = None,
) -> torch.Tensor:
    """Smooth-L1 between student (B, Ls, d) and teacher (B, Lt, d) states after adaptive
    average pooling over the length (see the module docstring for ``mode``; ``length`` is the
    pooled length of ``"fixed"``). Masks (B, L) bool are True at real positions, which must
    form a prefix. Returns the mean over real pooled positions and channels (a scalar);
    items where either side is empty are skipped."""
    if student_states.shape[0] != teacher_states.shape[0] or (
        student_states.shape[2] != teacher_states.shape[2]
    ):
        raise InputError(
            f"student states {tuple(student_states.shape)} and teacher states "
            f"{tuple(teacher_states.shape)} must share batch size and width"
        )
    s_mask, t_mask = student_mask.bool(), teacher_mask.bool()
    s_len, t_len = s_mask.sum(1), t_mask.sum(1)  # (B,)
    teacher_states = teacher_states.to(student_states.dtype)
    if mode == "to-student":
        s, t, out_len = student_states, _pool(teacher_states, t_mask, s_len), s_len
    elif mode == "to-teacher":
        s, t, out_len = _pool(student_states, s_mask, t_len), teacher_states, t_len
    elif mode == "fixed":
        if length is None or length < 1:
            raise InputError(f"distillation mode 'fixed' needs a length >= 1, got {length}")
        out_len = torch.full_like(s_len, length)
        s, t = _pool(student_states, s_mask, out_len), _pool(teacher_states, t_mask, out_len)
    else:
        raise InputError(f"unknown distillation mode {mode!r}; valid: {POOL_MODES}")
    L = min(s.shape[1], t.shape[1])
    valid = (s_len > 0) & (t_len > 0)  # (B,)
    keep = (torch.arange(L, device=s.device)[None, :] < out_len[:, None]) & valid[:, None]
    per_elem = F.smooth_l1_loss(s[:, :L], t[:, :L], reduction="none", beta=SMOOTH_L1_BETA)
    total = (per_elem * keep[:, :, None].to(per_elem.dtype)).sum()
    count = keep.sum() * s.shape[2]
    return total / count.clamp(min=1)


class StudentEncoder(nn.Module):
    """A new source-language text encoder shaped like the bottom of the teacher's: its own
    token table, and (for ``layer`` ≠ 0) positions and ``layer`` encoder layers (all of them
    for None). ``forward`` gives the states that match the teacher's at ``layer``."""

    def __init__(
        self, teacher_config: SummarizerConfig, vocab_size: int, layer: int | None = None
    ) -> None:
        super().__init__()
        n_teacher = teacher_config.encoder_layers
        if layer is not None and not 0 <= layer <= n_teacher:
            raise InputError(f"student layer {layer} does not exist; valid: 0..{n_teacher} or None")
        c = replace(teacher_config, src_vocab_size=vocab_size, share_embeddings=False)
        self.teacher_config = teacher_config
        self.vocab_size = vocab_size  # the student's source vocabulary
        self.layer = layer  # the teacher state it reproduces (see the module docstring)
        n = n_teacher if layer is None else layer
        positions = c.max_source_len if n > 0 else 0  # vocab-level: the teacher's positions
        self.embed = TextEmbedding(vocab_size, c.d_model, c.pad_id, positions, c.dropout)
        self.layers = nn.ModuleList(EncoderLayer(c) for _ in range(n))

    def forward(self, src: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
        """src (B, L) ids of the student's vocabulary, src_mask (B, L) → (B, L, d), before
        any final LayerNorm (see :func:`student_states` for ``layer`` None)."""
        x = self.embed.lookup(src)  # (B, L, d)
        if not self.layers:
            return x
        x = self.embed.add_positions(x)
        for block in self.layers:
            x = block(x, src_mask.bool())
        return x

    def spec(self) -> dict[str, Any]:
        """What :func:`load_student` needs to rebuild this module."""
        return {
            "teacher_config": self.teacher_config.to_dict(),
            "vocab_size": self.vocab_size,
            "layer": self.layer,
        }


def student_states(
    teacher: VDFSummarizer,
    student: StudentEncoder,
    src: torch.Tensor,
    src_mask: torch.Tensor,
    video: torch.Tensor | None = None,
    video_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """The student's states (B, L, d) comparable to ``teacher.encoder_states(..., layer =
    student.layer)``: for None they go through the teacher's final LayerNorm and fusion
    encoder (gradients flow through the frozen teacher modules into the student)."""
    if student.layer is not None:
        return student(src, src_mask)
    mask, video, video_mask = teacher.check_inputs(src, src_mask, video, video_mask)
    text = teacher.encoder.ln(student(src, mask))  # T_Trm (B, L, d)
    return teacher.fuse(text, mask, video, video_mask)["memory"]


def _check_fits(teacher: VDFSummarizer, student: StudentEncoder) -> None:
    diff = [
        f"{name} {getattr(student.teacher_config, name)} != {getattr(teacher.config, name)}"
        for name in _SHAPE_FIELDS
        if getattr(student.teacher_config, name) != getattr(teacher.config, name)
    ]
    if diff:
        raise InputError(f"the student was built for another teacher: {', '.join(diff)}")


def swap_encoder(model: VDFSummarizer, student: StudentEncoder) -> VDFSummarizer:
    """Stage 3: a new summarizer whose source side is the student's (vocabulary, and the
    embeddings/layers listed in the module docstring) and whose other weights — upper text
    layers, video encoder, fusion encoder, decoder — are copies of ``model``'s. Neither input
    is modified; the result is on ``model``'s device and in its train/eval mode."""
    _check_fits(model, student)
    n = model.config.encoder_layers if student.layer is None else student.layer
    config = replace(model.config, src_vocab_size=student.vocab_size, share_embeddings=False)
    replaced = {"encoder.embed.tokens.weight": student.embed.tokens.weight}
    if n > 0:
        replaced["encoder.embed.positions.weight"] = student.embed.positions.weight
        for key, value in student.layers.state_dict().items():
            replaced[f"encoder.layers.{key}"] = value
    new = VDFSummarizer(config)
    state = new.state_dict()
    old = model.state_dict()
    for key in state:
        state[key] = replaced[key] if key in replaced else old[key]
    new.load_state_dict(state)
    device = next(model.parameters()).device
    return new.to(device).train(model.training)


class Distiller(nn.Module):
    """Stage 2 as one module for the trainer: a frozen teacher (kept in eval mode, parameters
    set to ``requires_grad = False``) and the trainable student.

    Example::

        student = StudentEncoder(teacher.config, vocab_size=pt_tokenizer.vocab_size, layer=2)
        distiller = Distiller(teacher, student)
        loss, n = distiller.loss(en_ids, en_mask, pt_ids, pt_mask, video, video_mask)
        ...
        model = swap_encoder(teacher, distiller.student)   # stage 3, then fine-tune
    """

    def __init__(
        self,
        teacher: VDFSummarizer,
        student: StudentEncoder,
        *,
        mode: str = "to-student",
        length: int | None = None,
    ) -> None:
        super().__init__()
        _check_fits(teacher, student)
        if mode not in POOL_MODES:
            raise InputError(f"unknown distillation mode {mode!r}; valid: {POOL_MODES}")
        self.teacher = teacher.eval().requires_grad_(False)
        self.student = student
        self.mode = mode  # how lengths are matched (see distillation_loss)
        self.length = length  # pooled length of mode "fixed"

    def train(self, mode: bool = True) -> Distiller:
        super().train(mode)
        self.teacher.eval()
        return self

    def loss(
        self,
        teacher_src: torch.Tensor,
        teacher_mask: torch.Tensor,
        student_src: torch.Tensor,
        student_mask: torch.Tensor,
        video: torch.Tensor | None = None,
        video_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, int]:
        """(distillation loss, number of student tokens) on parallel transcripts: teacher ids
        (B, Lt) in the teacher's vocabulary, student ids (B, Ls) in the student's; video is
        only needed when distilling T_en (``layer`` None)."""
        layer = self.student.layer
        with torch.no_grad():
            target = self.teacher.encoder_states(
                teacher_src, teacher_mask, video, video_mask, layer=layer
            )
        states = student_states(
            self.teacher, self.student, student_src, student_mask, video, video_mask
        )
        loss = distillation_loss(
            states, student_mask, target, teacher_mask, mode=self.mode, length=self.length
        )
        return loss, int(student_mask.sum())


def save_student(student: StudentEncoder, folder: str | Path) -> Path:
    """Write ``student.json`` and ``student.safetensors`` into ``folder`` (each atomically)."""
    return save_module_folder(
        student,
        folder,
        student.spec(),
        config_file=STUDENT_CONFIG_FILE,
        model_file=STUDENT_MODEL_FILE,
    )


def load_student(folder: str | Path, *, device: str = "cpu") -> StudentEncoder:
    """Rebuild a :class:`StudentEncoder` written by :func:`save_student`."""

    def build(spec: dict[str, Any]) -> StudentEncoder:
        config = SummarizerConfig.from_dict(spec["teacher_config"])
        return StudentEncoder(config, int(spec["vocab_size"]), spec["layer"])

    return load_module_folder(
        folder,
        build,
        kind="student encoder",
        config_file=STUDENT_CONFIG_FILE,
        model_file=STUDENT_MODEL_FILE,
        noun="spec",
        hint="",
        device=device,
    )
