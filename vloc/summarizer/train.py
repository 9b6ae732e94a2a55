"""Training the summarizer: plain training and the three stages of the triple-stage framework.

=========  =====================================================  ==============================
stage      trains                                                 inputs
=========  =====================================================  ==============================
plain      VDF from scratch on (video, source transcript,         ``--data``
           target summary)
1          VDF on monolingual data: teacher-language transcripts  ``--data``
           (English in How2) → summaries; the teacher
2          a new source-language encoder distilled from the       ``--data`` (parallel
           teacher's encoder (a chosen layer) or its vocabulary   transcripts), ``--teacher``
           embeddings: smooth-L1 after adaptive pooling           (a stage-1 model)
3          the teacher with the distilled encoder swapped in,     ``--data``, ``--student``
           fine-tuned on cross-lingual data                       (a stage-2 output)
=========  =====================================================  ==============================

Every stage runs the shared :class:`vloc.training.Trainer`: the same output layout
(``checkpoints/``, ``latest``, ``best/`` with ``config.json``, tokenizer folders,
``model.safetensors``, ``summarizer.json`` and ``card.md``), exact resume after a kill and
seeded determinism. On resume the tokenizers and model shape are read back from the
checkpoint, never re-derived.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vloc.checkpoints import BEST_DIR, latest_checkpoint
from vloc.errors import InputError
from vloc.fileio import read_json
from vloc.summarizer.config import SummarizerConfig
from vloc.summarizer.data import (
    SRC_TOKENIZER_DIR,
    TEACHER_TOKENIZER_DIR,
    TGT_TOKENIZER_DIR,
    DistillationTask,
    How2Row,
    SummarizationTask,
    encode_examples,
    encode_parallel,
    import_how2,
    read_model_info,
)
from vloc.summarizer.provenance import describe_distillation, describe_stage, model_info
from vloc.summarizer.settings import DEFAULT_TRAIN_SPLITS, STAGES, StageOptions, parse_layer
from vloc.training import TrainConfig, Trainer, TrainState

LogFn = Callable[[dict[str, Any]], None]
WarnFn = Callable[[str], None]


@dataclass
class TrainResult:
    """What a training run produced."""

    out: Path  # the output folder
    best: Path  # the exported best model folder (out/best)
    stage: str
    state: TrainState
    n_train: int  # training examples
    n_valid: int  # validation examples (0: validated on the training examples)
    warnings: list[str]

    def to_json(self) -> dict[str, Any]:
        s = self.state
        return {
            "out": str(self.out),
            "best": str(self.best),
            "stage": self.stage,
            "steps": s.step,
            "stopped": s.stopped,
            "best_loss": s.best,
            "best_step": s.best_step,
            "train_seconds": round(s.train_seconds, 2),
            "n_train": self.n_train,
            "n_valid": self.n_valid,
            "history": s.history,
        }


def resolve_run_folder(path: str | Path, *, what: str) -> Path:
    """A model folder, or a training output (its ``best/``)."""
    from vloc.catalogue import model_folder

    p = Path(path)
    if not p.is_dir():
        raise InputError(f"{what} not found (expected a model folder or a training output)", path=p)
    p = model_folder("summarizer", p) or p
    read_model_info(p)  # fails clearly when it is something else
    return p


def _rows(data: dict[str, list[How2Row]], splits: Sequence[str], root: Path) -> list[How2Row]:
    rows = []
    for s in splits:
        if s not in data:
            raise InputError(f"split {s!r} not found; present: {', '.join(data)}", path=root)
        rows.extend(data[s])
    return rows


def _feature_dim(rows: Sequence[How2Row]) -> int:
    import numpy as np

    for r in rows:
        if r.features is not None:
            try:
                arr = np.load(r.features, mmap_mode="r", allow_pickle=False)
            except (ValueError, OSError) as e:
                raise InputError(f"not a readable .npy array ({e})", path=r.features) from e
            if arr.ndim != 2:
                raise InputError(f"expected (T, D) features, got {arr.shape}", path=r.features)
            return int(arr.shape[1])
    raise InputError("no video features among the training rows")


def _load_tok(folder: Path) -> Any:
    from vloc.tokenization import Tokenizer

    return Tokenizer.load(folder)


def train_summarizer(
    data: str | Path,
    out: str | Path,
    options: StageOptions,
    config: TrainConfig,
    *,
    resume: bool = False,
    on_log: LogFn | None = None,
    warn: WarnFn | None = None,
) -> TrainResult:
    """Run one stage (``options.stage``) on the How2-MCLS folder ``data`` into ``out``.

    Raises :class:`InputError` for bad data, options or input models, naming the file."""
    import torch

    from vloc.summarizer.model import VDFSummarizer
    from vloc.tokenization import train_tokenizer

    o = options
    if o.stage not in STAGES:
        raise InputError(f"unknown stage {o.stage!r}; valid: {', '.join(STAGES)}")
    if o.stage == "2" and not (o.teacher or resume):
        raise InputError("stage 2 distills from a teacher: pass --teacher DIR (a stage-1 model)")
    if o.stage == "3" and not (o.student or resume):
        raise InputError("stage 3 fine-tunes a distilled encoder: pass --student DIR (stage 2)")
    root, out = Path(data), Path(out)
    warnings: list[str] = []

    def _warn(msg: str) -> None:
        warnings.append(msg)
        if warn is not None:
            warn(msg)

    corpus = import_how2(root)
    splits = o.train_splits or tuple(s for s in DEFAULT_TRAIN_SPLITS[o.stage] if s in corpus)
    if not splits:
        raise InputError(
            f"none of the splits {DEFAULT_TRAIN_SPLITS[o.stage]} is present: pass --train-split",
            path=root,
        )
    train_rows = _rows(corpus, splits, root)
    valid_rows = corpus.get(o.valid_split, []) if o.valid_split else []
    if o.valid_split and o.valid_split not in corpus:
        _warn(f"no {o.valid_split!r} split in {root}: validating on the training rows")
    checkpoint = latest_checkpoint(out) if resume else None
    torch.manual_seed(config.seed)  # initialisation (fit() seeds the rest)

    if o.stage == "2":
        return _distill(
            o, config, root, out, corpus, train_rows, valid_rows, splits, checkpoint,
            resume, on_log, _warn, warnings,
        )  # fmt: skip

    src_lang = o.teacher_lang if o.stage == "1" else o.src_lang
    parent = None
    if checkpoint is not None:
        src_tok = _load_tok(checkpoint / SRC_TOKENIZER_DIR)
        tgt_tok = _load_tok(checkpoint / TGT_TOKENIZER_DIR)
        cfg = SummarizerConfig.from_dict(read_json(checkpoint / "config.json", what="config"))
        model = VDFSummarizer(cfg)
        parent = read_model_info(checkpoint).get("parent")
    elif o.stage == "3":
        model, src_tok, tgt_tok, parent = _swapped_from_student(o.student)
        cfg = model.config
        info = read_model_info(parent)
        if info.get("student_lang") != o.src_lang:
            raise InputError(
                f"the student encoder reads {info.get('student_lang')!r}, not --src-lang "
                f"{o.src_lang!r}",
                path=parent,
            )
    else:
        s = o.size
        src_texts = [r.transcripts.get(src_lang, "") for r in train_rows]
        if not any(src_texts):
            raise InputError(f"no {src_lang!r} transcripts in splits {list(splits)}", path=root)
        summaries = [r.summary for r in train_rows]
        share = src_lang == o.tgt_lang
        if share:  # one vocabulary and one embedding table for a monolingual model
            src_tok = tgt_tok = train_tokenizer(
                src_texts + summaries, vocab_size=s.vocab_size, lang=src_lang
            )
        else:
            src_tok = train_tokenizer(src_texts, vocab_size=s.vocab_size, lang=src_lang)
            tgt_tok = train_tokenizer(summaries, vocab_size=s.vocab_size, lang=o.tgt_lang)
        cfg = SummarizerConfig(
            src_vocab_size=src_tok.vocab_size,
            tgt_vocab_size=tgt_tok.vocab_size,
            variant=s.variant,
            d_model=s.d_model,
            ffn_dim=s.ffn_dim or 4 * s.d_model,
            n_heads=s.n_heads,
            encoder_layers=s.encoder_layers,
            decoder_layers=s.decoder_layers,
            dropout=s.dropout,
            video_dim=_feature_dim(train_rows),
            max_source_len=s.max_source_len,
            max_video_len=s.max_video_len,
            max_target_len=s.max_target_len,
            share_embeddings=share,
            label_smoothing=s.label_smoothing,
        )
        model = VDFSummarizer(cfg)
    train = encode_examples(
        train_rows, src_lang=src_lang, src_tok=src_tok, tgt_tok=tgt_tok, config=cfg,
        what="training data", warn=_warn,
    )  # fmt: skip
    valid_rows = [r for r in valid_rows if src_lang in r.transcripts]
    valid = encode_examples(
        valid_rows, src_lang=src_lang, src_tok=src_tok, tgt_tok=tgt_tok, config=cfg,
        what="validation data", warn=_warn,
    )  # fmt: skip
    info = model_info(
        cfg, root, splits, parent, stage=o.stage, src_lang=src_lang, tgt_lang=o.tgt_lang
    )
    description = describe_stage(
        o.stage, root, splits, len(train), o.valid_split if valid else None, len(valid),
        src_lang, o.tgt_lang, cfg, parent, warnings,
    )  # fmt: skip
    task = SummarizationTask(
        train, valid, src_tok=src_tok, tgt_tok=tgt_tok, config=cfg, info=info,
        description=description, valid_batch=config.batch_size or 8,
    )  # fmt: skip
    trainer = Trainer(model, task, config, out, on_log=on_log)
    state = trainer.fit(resume=resume)
    return TrainResult(out, out / BEST_DIR, o.stage, state, len(train), len(valid), warnings)


def _swapped_from_student(student: str | Path | None) -> tuple[Any, Any, Any, Path]:
    """Stage 3's starting point: (teacher with the student's encoder, src tok, tgt tok, folder)."""
    from vloc.encoder_decoder import load_weights
    from vloc.summarizer.distill import Distiller, load_student, swap_encoder
    from vloc.summarizer.model import VDFSummarizer

    folder = resolve_run_folder(student, what="--student")
    info = read_model_info(folder)
    if info.get("stage") != "2":
        raise InputError(
            f"--student must be a stage-2 (distillation) output, this is stage {info.get('stage')}",
            path=folder,
        )
    spec_student = load_student(folder)  # validates student.json / student.safetensors
    teacher = VDFSummarizer(spec_student.teacher_config)
    distiller = Distiller(teacher, spec_student)
    load_weights(
        distiller, folder / "model.safetensors", unreadable="distillation weights",
        mismatch="distillation weights do not match", path=folder,
    )  # fmt: skip
    model = swap_encoder(distiller.teacher, distiller.student).train()
    return (
        model,
        _load_tok(folder / SRC_TOKENIZER_DIR),
        _load_tok(folder / TGT_TOKENIZER_DIR),
        folder,
    )


def _distill(
    o: StageOptions,
    config: TrainConfig,
    root: Path,
    out: Path,
    corpus: dict[str, list[How2Row]],
    train_rows: list[How2Row],
    valid_rows: list[How2Row],
    splits: Sequence[str],
    checkpoint: Path | None,
    resume: bool,
    on_log: LogFn | None,
    warn: WarnFn,
    warnings: list[str],
) -> TrainResult:
    """Stage 2: distil the teacher's encoder into a new ``src_lang`` encoder."""
    from vloc.summarizer.distill import Distiller, StudentEncoder, load_student
    from vloc.summarizer.model import VDFSummarizer
    from vloc.tokenization import train_tokenizer

    if checkpoint is not None:
        info = read_model_info(checkpoint)
        student = load_student(checkpoint).train()
        teacher = VDFSummarizer(student.teacher_config)  # weights come with the checkpoint
        teacher_tok = _load_tok(checkpoint / TEACHER_TOKENIZER_DIR)
        student_tok = _load_tok(checkpoint / SRC_TOKENIZER_DIR)
        tgt_tok = _load_tok(checkpoint / TGT_TOKENIZER_DIR)
        teacher_dir, layer, mode = info.get("parent"), student.layer, info.get("pool_mode")
    else:
        from vloc.summarizer.loading import load_model_folder

        teacher_dir = resolve_run_folder(o.teacher, what="--teacher")
        loaded = load_model_folder(teacher_dir)
        if loaded.info.get("src_lang") != o.teacher_lang:
            raise InputError(
                f"the teacher reads {loaded.info.get('src_lang')!r} transcripts, not "
                f"--teacher-lang {o.teacher_lang!r}",
                path=teacher_dir,
            )
        teacher, teacher_tok, tgt_tok = loaded.model, loaded.src_tok, loaded.tgt_tok
        texts = [r.transcripts[o.src_lang] for r in train_rows if o.src_lang in r.transcripts]
        if not texts:
            raise InputError(
                f"no {o.src_lang!r} transcripts in splits {list(splits)} to distill on", path=root
            )
        student_tok = train_tokenizer(texts, vocab_size=o.size.vocab_size, lang=o.src_lang)
        layer = parse_layer(o.layer, teacher.config.encoder_layers)
        mode = o.pool_mode
        student = StudentEncoder(teacher.config, student_tok.vocab_size, layer)
    distiller = Distiller(teacher, student, mode=mode or "to-student")
    cfg = teacher.config
    kw = dict(
        teacher_lang=o.teacher_lang,
        student_lang=o.src_lang,
        teacher_tok=teacher_tok,
        student_tok=student_tok,
        max_len=cfg.max_source_len,
        warn=warn,
    )
    train = encode_parallel(train_rows, what="training pairs", **kw)
    if not train:
        raise InputError(
            f"no row of splits {list(splits)} has both {o.teacher_lang!r} and {o.src_lang!r} "
            "transcripts",
            path=root,
        )
    valid = encode_parallel(valid_rows, what="validation pairs", **kw)
    info = model_info(
        cfg,
        root,
        splits,
        teacher_dir,
        stage="2",
        src_lang=o.teacher_lang,
        student_lang=o.src_lang,
        tgt_lang=tgt_tok.lang or o.tgt_lang,
        layer=layer,
        pool_mode=distiller.mode,
    )
    description = describe_distillation(
        root, splits, len(train), len(valid), o.teacher_lang, o.src_lang, layer,
        distiller.mode, teacher_dir, warnings,
    )  # fmt: skip
    task = DistillationTask(
        train, valid, teacher_tok=teacher_tok, student_tok=student_tok, tgt_tok=tgt_tok,
        config=cfg, info=info, description=description, valid_batch=config.batch_size or 8,
    )  # fmt: skip
    trainer = Trainer(distiller, task, config, out, on_log=on_log)
    state = trainer.fit(resume=resume)
    return TrainResult(out, out / BEST_DIR, "2", state, len(train), len(valid), warnings)
