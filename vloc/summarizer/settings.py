"""Settings of a summarizer training run: :class:`StageOptions` (which stage, on which data),
:class:`ModelSize` (a model trained from scratch) and ``vloc train summarize --config KEY=VALUE``.

The stages are described in :mod:`vloc.summarizer.train`. The same overrides as ``vloc train translate`` (:func:`vloc.configs.parse_overrides`:
a JSON object, a ``.json`` file or ``KEY=VALUE``), here over the fields of
:class:`StageOptions` (``teacher_lang``, ``train_splits``,
``valid_split``, ``layer``, ``pool_mode``), :class:`ModelSize`
(``d_model``, ``n_heads``, ``encoder_layers``, ``decoder_layers``, ``dropout``,
``vocab_size``, ...; ``layers`` sets both layer counts) and
:class:`~vloc.training.TrainConfig` (``lr``, ``optimizer``, ``warmup_steps``, ``batch_size``,
``val_every``, ``patience``, ``max_epochs``, ...). Defaults: the summarizer paper's recipe
(:data:`PAPER_TRAINING`), not the translator's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from vloc.errors import InputError
from vloc.summarizer.config import MAX_SOURCE_TOKENS, MAX_VIDEO_STEPS, PAPER_BATCH, PAPER_LR

STAGES = ("plain", "1", "2", "3")
DEFAULT_TRAIN_SPLITS = {  # splits trained on when --train-split is not given
    "plain": ("train",),
    "1": ("pretrain", "train"),  # all monolingual rows
    "2": ("pretrain", "train"),  # every row with both transcripts
    "3": ("train",),
}
LAYER_CHOICES = ("vocab", "middle", "final")  # or an encoder layer number 1..L

PAPER_TRAINING: dict[str, Any] = {  # TrainConfig fields of the summarizer paper (§3.2)
    "optimizer": "adam",
    "lr": PAPER_LR,
    "schedule": "inverse_sqrt",
    "warmup_steps": 1000,
    "batch_size": PAPER_BATCH,
}
BOTH_LAYERS = "layers"  # shorthand: encoder_layers = decoder_layers = this
STAGE_FLAGS = ("stage", "teacher", "student", "size")  # StageOptions fields set by flags only


@dataclass(frozen=True)
class ModelSize:
    """Sizes of a summarizer trained from scratch (plain, stage 1). Paper: 4 × 512, 8 heads."""

    variant: str = "full"  # VDF or an ablation (vloc.summarizer.config.VARIANTS)
    d_model: int = 512  # width of text, video and fusion states
    ffn_dim: int | None = None  # feed-forward width; None: 4 · d_model
    n_heads: int = 8  # attention heads
    encoder_layers: int = 4  # text encoder layers
    decoder_layers: int = 4  # decoder layers (the first is the cascaded fusion layer)
    dropout: float = 0.1  # dropout on embeddings and sub-layer outputs
    label_smoothing: float = 0.1  # cross-entropy label smoothing
    vocab_size: int = 8000  # per-language BPE ids (specials and byte tokens included)
    max_source_len: int = MAX_SOURCE_TOKENS  # transcript tokens kept (longer: truncated, warned)
    max_video_len: int = MAX_VIDEO_STEPS  # video steps kept (longer: average-pooled)
    max_target_len: int = 256  # summary tokens (longer: truncated, warned)


@dataclass(frozen=True)
class StageOptions:
    """What one ``vloc train summarize`` run trains, and on which data."""

    stage: str = "plain"  # one of STAGES (see the module docstring)
    src_lang: str = "pt"  # language of the cross-lingual source transcripts (<split>_art_<lang>)
    tgt_lang: str = "en"  # language of the summaries (<split>_sum.txt)
    teacher_lang: str = "en"  # language of stage 1's transcripts and the teacher side of stage 2
    train_splits: tuple[str, ...] | None = None  # None: DEFAULT_TRAIN_SPLITS of the stage
    valid_split: str | None = "val"  # validation rows (None or absent: the training rows)
    teacher: str | None = None  # stage 2: the stage-1 model (a folder or a training output)
    student: str | None = None  # stage 3: the stage-2 output (a folder or a training output)
    layer: str = "middle"  # stage 2: "vocab", "final", "middle" (paper's best) or 1..L
    pool_mode: str = "to-student"  # stage 2: how lengths are matched (distill.POOL_MODES)
    size: ModelSize = field(default_factory=ModelSize)  # plain and stage 1 only


def parse_layer(layer: str, encoder_layers: int) -> int | None:
    """``--layer`` → the distilled teacher state: 0 vocab-level, k ≥ 1 after k encoder layers,
    None the fused encoder output (see :mod:`vloc.summarizer.distill`)."""
    if layer == "vocab":
        return 0
    if layer == "final":
        return None
    if layer == "middle":
        return max(1, encoder_layers // 2)
    try:
        k = int(layer)
    except ValueError:
        k = -1
    if not 1 <= k <= encoder_layers:
        raise InputError(
            f"layer {layer!r}: use {', '.join(LAYER_CHOICES)} or a layer 1..{encoder_layers}"
        )
    return k


def stage_settings(
    overrides: Mapping[str, Any], *, flags: Mapping[str, Any], train: Mapping[str, Any]
) -> tuple[Any, Any]:
    """(StageOptions, TrainConfig) from ``--config`` overrides over the paper's defaults.

    Args:
        overrides: ``parse_overrides(--config)``.
        flags: StageOptions fields given as flags (stage, teacher, student, src_lang, ...);
            an override of the same field wins over a flag's default only when the flag is
            None.
        train: TrainConfig fields given as flags (seed, device, max_steps); None: unset.
    Raises:
        InputError: an unknown key, naming the valid ones.
    """
    from vloc.training import TrainConfig

    size_names = {f.name for f in fields(ModelSize)} | {BOTH_LAYERS}
    stage_names = {f.name for f in fields(StageOptions)} - set(STAGE_FLAGS)
    train_names = {f.name for f in fields(TrainConfig)} - {"device"}
    size: dict[str, Any] = {}
    stage: dict[str, Any] = {k: v for k, v in flags.items() if v is not None}
    config: dict[str, Any] = dict(PAPER_TRAINING)
    for key, value in overrides.items():
        value = tuple(value) if isinstance(value, list) else value
        if key == "train_splits" and isinstance(value, str):
            value = (value,)  # train_splits=train
        if key == BOTH_LAYERS:
            size["encoder_layers"] = size["decoder_layers"] = value
        elif key in size_names:
            size[key] = value
        elif key in stage_names:
            stage[key] = value
        elif key in train_names:
            config[key] = value
        else:
            valid = sorted(size_names | stage_names | train_names)
            raise InputError(f"unknown setting {key!r}; valid: {', '.join(valid)}")
    if "warmup_steps" in overrides and "schedule" not in overrides:
        config["schedule"] = "inverse_sqrt" if int(config["warmup_steps"]) > 0 else "constant"
    config.update({k: v for k, v in train.items() if v is not None})
    try:
        options = StageOptions(**stage, size=replace(ModelSize(), **size))
        return options, TrainConfig(**config)
    except (TypeError, ValueError) as e:
        raise InputError(f"--config: {e}") from e
