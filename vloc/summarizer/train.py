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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vloc.errors import InputError
from vloc.fileio import read_json
from vloc.summarizer.config import (
    CLIP_FRAMES,
    MAX_SOURCE_TOKENS,
    MAX_VIDEO_STEPS,
    SummarizerConfig,
)
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
from vloc.training import BEST_DIR, LATEST_FILE, TrainConfig, Trainer, TrainState

STAGES = ("plain", "1", "2", "3")
DEFAULT_TRAIN_SPLITS = {  # splits trained on when --train-split is not given
    "plain": ("train",),
    "1": ("pretrain", "train"),  # all monolingual rows
    "2": ("pretrain", "train"),  # every row with both transcripts
    "3": ("train",),
}
LAYER_CHOICES = ("vocab", "middle", "final")  # or an encoder layer number 1..L
VIDEO_FEATURE = "resnext101_3d"  # what the stored video features are (How2-MCLS action features)
VIDEO_CLIP_FRAMES = CLIP_FRAMES  # one feature per 16 non-overlapping frames

LogFn = Callable[[dict[str, Any]], None]
WarnFn = Callable[[str], None]


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
    from vloc.registry import model_folder

    p = Path(path)
    if not p.is_dir():
        raise InputError(f"{what} not found (expected a model folder or a training output)", path=p)
    p = model_folder("summarizer", p) or p
    read_model_info(p)  # fails clearly when it is something else
    return p


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


def _latest_checkpoint(out: Path) -> Path:
    pointer = out / LATEST_FILE
    if not pointer.is_file():
        raise InputError("holds no checkpoint to resume from (no 'latest' file)", path=out)
    return out / pointer.read_text().strip()


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
    checkpoint = _latest_checkpoint(out) if resume else None
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
    info = _model_info(
        cfg, root, splits, parent, stage=o.stage, src_lang=src_lang, tgt_lang=o.tgt_lang
    )
    description = _describe(
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
    from vloc.seq2seq import load_weights
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
    layer_name = {0: "vocabulary embeddings", None: "fused encoder output"}.get(
        layer, f"encoder layer {layer}"
    )
    info = _model_info(
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
    description = (
        f"Stage 2 (distillation) on {root}: {len(train)} parallel {o.teacher_lang}/{o.src_lang} "
        f"transcripts from splits {', '.join(splits)}, {len(valid)} for validation. The "
        f"{o.src_lang} student reproduces the teacher's {layer_name} (smooth-L1 after adaptive "
        f"pooling, mode {distiller.mode}). Teacher: {teacher_dir}."
    )
    if warnings:
        description += "\n\nWarnings:\n" + "\n".join(f"- {w}" for w in warnings)
    task = DistillationTask(
        train, valid, teacher_tok=teacher_tok, student_tok=student_tok, tgt_tok=tgt_tok,
        config=cfg, info=info, description=description, valid_batch=config.batch_size or 8,
    )  # fmt: skip
    trainer = Trainer(distiller, task, config, out, on_log=on_log)
    state = trainer.fit(resume=resume)
    return TrainResult(out, out / BEST_DIR, "2", state, len(train), len(valid), warnings)


def _describe(
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


def _model_info(
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
        "features": {"clip_len": VIDEO_CLIP_FRAMES},  # vloc.registry.feature_settings
        "video": {"feature": VIDEO_FEATURE, "dim": cfg.video_dim},
        "data": str(root),
        "train_splits": list(splits),
        "parent": str(parent) if parent else None,
    }
