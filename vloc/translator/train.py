"""``vloc train translate`` as a library function: manifest → tokenizers → model → Trainer.

Settings come in three groups, all overridable with ``--config JSON`` or ``KEY=VALUE``:

* model sizes and options: the fields of :class:`~vloc.translator.config.TranslatorConfig`
  (``d_model``, ``encoder_layers``, ``dropout``, ...; the vocabulary sizes are the trained
  tokenizers' and cannot be set);
* optimisation: the fields of :class:`~vloc.training.TrainConfig` (``lr``, ``warmup_steps``,
  ``max_tokens``, ``val_every``, ``patience``, ...);
* data: :class:`TrainDataOptions` (``src_vocab``, ``tgt_vocab``, ``test_films``,
  ``valid_films``, ``valid_fraction``).

The run's settings are written to ``OUT/run.json`` when it starts. ``--resume`` reads them
back (with the tokenizers and the model shape from the newest checkpoint, never re-derived
from the data) and accepts new values only for the settings that may change mid-run
(``max_steps``, ``max_epochs``, ``patience``, ``val_every``, ``device``, ``keep_checkpoints``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from vloc.errors import InputError
from vloc.fileio import atomic_write_text, check_folder, read_json
from vloc.training import LATEST_FILE, TrainConfig, Trainer, TrainState
from vloc.translator.config import VARIANTS, TranslatorConfig
from vloc.translator.data import (
    SRC_TOKENIZER_DIR,
    TGT_TOKENIZER_DIR,
    SplitOptions,
    TranslationTask,
    VideoLoader,
    read_manifest,
    split_documentaries,
)

RUN_FILE = "run.json"
RUN_FORMAT = 1
RESUMABLE = (  # settings that --resume may change
    "max_steps", "max_epochs", "max_seconds", "patience", "val_every", "device",
    "keep_checkpoints",
)  # fmt: skip
MODEL_FIXED = ("src_vocab_size", "tgt_vocab_size", "variant")  # set by vloc, not by --config

LogFn = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class TrainDataOptions:
    """Tokenizers and splitting."""

    src_vocab: int = 8000  # source BPE ids at most (4 specials + 256 bytes included)
    tgt_vocab: int = 8000  # target BPE ids at most
    test_films: int = 0  # documentaries without a split: the last N by id are held out as test
    valid_films: int = 0  # ... and the N before them validate
    valid_fraction: float = 0.05  # no valid film: this share of each training film's cues


@dataclass(frozen=True)
class TrainTranslatorResult:
    """What :func:`train_translator` did."""

    out: Path  # the run folder
    best: Path  # its exported model (best/)
    state: TrainState  # final trainer state
    variant: str
    parameters: int  # trainable parameters
    data: str  # split summary

    def to_json(self) -> dict[str, Any]:
        s = self.state
        return {
            "out": str(self.out),
            "best": str(self.best),
            "variant": self.variant,
            "parameters": self.parameters,
            "data": self.data,
            "steps": s.step,
            "epochs": s.epoch,
            "stopped": s.stopped,
            "best_metric": s.best,
            "best_step": s.best_step,
            "train_seconds": round(s.train_seconds, 2),
            "history": s.history,
        }


def _split_overrides(overrides: Mapping[str, Any]) -> tuple[dict, dict, dict]:
    groups: tuple[dict, dict, dict] = ({}, {}, {})
    names = (
        {f.name for f in fields(TranslatorConfig)} - set(MODEL_FIXED),
        {f.name for f in fields(TrainConfig)},
        {f.name for f in fields(TrainDataOptions)},
    )
    for key, value in overrides.items():
        for group, known in zip(groups, names, strict=True):
            if key in known:
                group[key] = tuple(value) if isinstance(value, list) else value
                break
        else:
            valid = sorted(names[0] | names[1] | names[2])
            raise InputError(f"unknown setting {key!r}; valid: {', '.join(valid)}")
    return groups


def _feature_settings(splits: Any) -> dict[str, Any] | None:
    """The feature settings (backbone, weights, fps, ...) recorded beside the first training
    film's feature file, limited to those `vloc translate` re-applies; None when absent."""
    from vloc.translator.loading import FEATURE_FIELDS

    for e in splits.examples["train"]:
        path = splits.docs[e.doc].features
        if path is None:
            continue
        meta = read_json(path.with_suffix(".json"), what="feature metadata", default=None)
        return {k: meta[k] for k in FEATURE_FIELDS if isinstance(meta, dict) and k in meta}
    return None


def _same(value: Any) -> Any:
    """A setting in comparable form (JSON turns tuples into lists)."""
    return list(value) if isinstance(value, tuple) else value


def _dataclass(cls: type, values: dict[str, Any], what: str) -> Any:
    try:
        return cls(**values)
    except TypeError as e:
        raise InputError(f"invalid {what} settings: {e}") from e


def train_translator(
    data: str | Path,
    out: str | Path,
    *,
    variant: str = "full",
    overrides: Mapping[str, Any] | None = None,
    resume: bool = False,
    seed: int | None = None,
    device: str | None = None,
    max_steps: int | None = None,
    on_log: LogFn | None = None,
    log_every: int = 10,
    video_loader: VideoLoader | None = None,
) -> TrainTranslatorResult:
    """Train a translator on the manifest ``data`` into the run folder ``out``."""
    import torch

    from vloc.tokenization import Tokenizer, train_tokenizer
    from vloc.translator.model import Translator

    out = Path(out)
    check_folder(out, "--out (the training run's folder)")
    cli = dict(overrides or {})
    for key, value in (("seed", seed), ("device", device), ("max_steps", max_steps)):
        if value is not None:
            cli[key] = value
    model_o, train_o, data_o = _split_overrides(cli)
    run_path = out / RUN_FILE
    if resume:
        if not (out / LATEST_FILE).is_file() or not run_path.is_file():
            raise InputError("holds no training run to resume (no 'latest' or run.json)", path=out)
        run = read_json(run_path, what="training run", require_object=True)
        saved_run = {**run["model"], **run["train"], **run["data"]}
        changed = sorted(
            k
            for k, v in {**model_o, **train_o, **data_o}.items()
            if k not in RESUMABLE and _same(saved_run.get(k)) != _same(v)
        )
        if changed or (variant != run["variant"] and variant != "full"):
            raise InputError(
                f"--resume continues a run with its own settings; only {', '.join(RESUMABLE)} "
                f"may change (got {changed or ['variant']})"
            )
        variant = run["variant"]
        data_opts = _dataclass(TrainDataOptions, run["data"], "data")
        saved = {k: tuple(v) if isinstance(v, list) else v for k, v in run["train"].items()}
        train_cfg = _dataclass(TrainConfig, {**saved, **train_o}, "training")
        latest = out / (out / LATEST_FILE).read_text(encoding="utf-8").strip()
        src_tok = Tokenizer.load(latest / SRC_TOKENIZER_DIR)
        tgt_tok = Tokenizer.load(latest / TGT_TOKENIZER_DIR)
        cfg_data = read_json(latest / "config.json", what="config", require_object=True)
        model_cfg = TranslatorConfig.from_dict(cfg_data)
        data = run["manifest"]
    else:
        if variant not in VARIANTS:
            raise InputError(f"unknown variant {variant!r}; valid: {', '.join(VARIANTS)}")
        if (out / LATEST_FILE).exists():
            raise InputError(
                "already holds a training run: pass --resume to continue it, or choose another "
                "--out",
                path=out,
            )
        data_opts = _dataclass(TrainDataOptions, data_o, "data")
        train_cfg = _dataclass(TrainConfig, train_o, "training")
        model_cfg = None
    docs = read_manifest(data)
    splits = split_documentaries(
        docs,
        SplitOptions(data_opts.test_films, data_opts.valid_films, data_opts.valid_fraction),
    )
    if not splits.examples["train"]:
        raise InputError("the manifest gives no training cues (split 'train')", path=data)
    if model_cfg is None:
        texts = [(splits.docs[e.doc].cues[e.cue]) for e in splits.examples["train"]]
        src_tok = train_tokenizer(
            [c.plain for c in texts], vocab_size=data_opts.src_vocab, lang=docs[0].source_lang
        )
        tgt_tok = train_tokenizer(
            [c.target for c in texts], vocab_size=data_opts.tgt_vocab, lang=docs[0].target_lang
        )
        model_cfg = _dataclass(
            TranslatorConfig,
            {
                **model_o,
                "src_vocab_size": src_tok.vocab_size,
                "tgt_vocab_size": tgt_tok.vocab_size,
                "variant": variant,
            },
            "model",
        )
        out.mkdir(parents=True, exist_ok=True)
        run = {
            "format": RUN_FORMAT,
            "manifest": str(Path(data).resolve()),
            "variant": variant,
            "model": model_cfg.to_dict(),
            "train": asdict(train_cfg),
            "data": asdict(data_opts),
        }
        atomic_write_text(run_path, json.dumps(run, indent=2) + "\n")
    info = {
        "variant": variant,
        "manifest": str(Path(data).resolve()),
        "splits": {s: splits.films[s] for s in splits.films},
        "data": asdict(data_opts),
    }
    features = _feature_settings(splits) if model_cfg.uses_video else None
    if features:
        info["features"] = features  # what `vloc translate` must extract for this model
    if model_cfg.context == "global" and video_loader is None:
        from vloc.encoders import DEFAULT_ENCODER

        # FilmContextLoader retrieves with the default encoder: `vloc translate` must use the
        # same one (a model that records none is taken to use all-MiniLM-L6-v2)
        info["index"] = {"encoder": DEFAULT_ENCODER}
    task = TranslationTask(
        splits, model_cfg, src_tok, tgt_tok, video_loader=video_loader, info=info
    )
    torch.manual_seed(train_cfg.seed)  # initialisation (resume overwrites the weights)
    model = Translator(model_cfg)
    trainer = Trainer(model, task, train_cfg, out, on_log=on_log, log_every=log_every)
    state = trainer.fit(resume=resume)
    return TrainTranslatorResult(
        out=out,
        best=out / "best",
        state=state,
        variant=variant,
        parameters=sum(p.numel() for p in model.parameters() if p.requires_grad),
        data=splits.describe(),
    )
