"""What a summarizer training run records about its model: the ``summarizer.json`` fields
(:func:`model_info`: stage, languages, the video features it reads, its data and parent) and the
data section of its card (:func:`describe_stage`, :func:`describe_distillation`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vloc.summarizer.config import CLIP_FRAMES, SummarizerConfig

VIDEO_FEATURE = "resnext101_3d"  # what the stored video features are (How2-MCLS action features)
VIDEO_CLIP_FRAMES = CLIP_FRAMES  # one feature per 16 non-overlapping frames


def describe_stage(
    stage: str,
    root: Path,
    splits: Sequence[str],
    n_train: int,
    valid_split: str | None,
    n_valid: int,
    src_lang: str,
    tgt_lang: str,
    cfg: SummarizerConfig,
    parent: Path | str | None,
    warnings: Sequence[str],
) -> str:
    """The data section of the model card of a plain, stage-1 or stage-3 run."""
    kind = {
        "plain": "Plain training",
        "1": "Stage 1 (monolingual teacher)",
        "3": "Stage 3 (fine-tuning the distilled encoder)",
    }[stage]
    lines = [
        f"{kind} of the VDF summarizer (variant {cfg.variant}, d {cfg.d_model}, "
        f"{cfg.encoder_layers}+{cfg.decoder_layers} layers) on {root}: {n_train} "
        f"{src_lang} → {tgt_lang} examples from splits {', '.join(splits)}; "
        + (
            f"{n_valid} validation examples ({valid_split})."
            if n_valid
            else "validated on the training examples."
        ),
        f"Video: {VIDEO_FEATURE} features, one {cfg.video_dim}-d vector per {VIDEO_CLIP_FRAMES} "
        f"frames, at most {cfg.max_video_len} steps; transcripts cut at {cfg.max_source_len} tokens.",
    ]
    if parent:
        lines.append(f"Started from: {parent}.")
    if warnings:
        lines += ["", "Warnings:", *[f"- {w}" for w in warnings]]
    return "\n".join(lines)


def model_info(
    cfg: SummarizerConfig,
    root: Path,
    splits: Sequence[str],
    parent: Path | None,
    **fields: Any,
) -> dict[str, Any]:
    """``summarizer.json`` of a training run: the stage's ``fields`` (stage, languages, ...),
    the video features the model reads, the data and the model it started from."""
    return {
        **fields,
        "features": {"clip_len": VIDEO_CLIP_FRAMES},  # vloc.catalogue.feature_settings
        "video": {"feature": VIDEO_FEATURE, "dim": cfg.video_dim},
        "data": str(root),
        "train_splits": list(splits),
        "parent": str(parent) if parent else None,
    }


def describe_distillation(
    root: Path,
    splits: Sequence[str],
    n_train: int,
    n_valid: int,
    teacher_lang: str,
    student_lang: str,
    layer: int | None,
    pool_mode: str,
    teacher: Path | str | None,
    warnings: Sequence[str],
) -> str:
    """The data section of the model card of a stage-2 (distillation) run; ``layer`` as
    :func:`vloc.summarizer.settings.parse_layer` returns it."""
    layer_name = {0: "vocabulary embeddings", None: "fused encoder output"}.get(
        layer, f"encoder layer {layer}"
    )
    description = (
        f"Stage 2 (distillation) on {root}: {n_train} parallel {teacher_lang}/{student_lang} "
        f"transcripts from splits {', '.join(splits)}, {n_valid} for validation. The "
        f"{student_lang} student reproduces the teacher's {layer_name} (smooth-L1 after adaptive "
        f"pooling, mode {pool_mode}). Teacher: {teacher}."
    )
    if warnings:
        description += "\n\nWarnings:\n" + "\n".join(f"- {w}" for w in warnings)
    return description
