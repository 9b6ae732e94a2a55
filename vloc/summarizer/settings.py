"""``vloc train summarize --config KEY=VALUE``: settings of a summarizer training run.

The same overrides as ``vloc train translate`` (:func:`vloc.configs.parse_overrides`:
a JSON object, a ``.json`` file or ``KEY=VALUE``), here over the fields of
:class:`~vloc.summarizer.train.StageOptions` (``teacher_lang``, ``train_splits``,
``valid_split``, ``layer``, ``pool_mode``), :class:`~vloc.summarizer.train.ModelSize`
(``d_model``, ``n_heads``, ``encoder_layers``, ``decoder_layers``, ``dropout``,
``vocab_size``, ...; ``layers`` sets both layer counts) and
:class:`~vloc.training.TrainConfig` (``lr``, ``optimizer``, ``warmup_steps``, ``batch_size``,
``val_every``, ``patience``, ``max_epochs``, ...). Defaults: the summarizer paper's recipe
(:data:`PAPER_TRAINING`), not the translator's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, replace
from typing import Any

from vloc.errors import InputError
from vloc.summarizer.config import PAPER_BATCH, PAPER_LR

PAPER_TRAINING: dict[str, Any] = {  # TrainConfig fields of the summarizer paper (§3.2)
    "optimizer": "adam",
    "lr": PAPER_LR,
    "schedule": "inverse_sqrt",
    "warmup_steps": 1000,
    "batch_size": PAPER_BATCH,
}
BOTH_LAYERS = "layers"  # shorthand: encoder_layers = decoder_layers = this
STAGE_FLAGS = ("stage", "teacher", "student", "size")  # StageOptions fields set by flags only


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
    from vloc.summarizer.train import ModelSize, StageOptions
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
