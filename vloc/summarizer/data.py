"""Summarization data: encoded examples, the model folder's metadata and the trainer's tasks
(:class:`SummarizationTask`, :class:`DistillationTask`); the How2-MCLS folder they are read
from is in :mod:`vloc.summarizer.how2` (re-exported here).

Limits are applied *visibly*: transcripts longer than the model's source positions (800
tokens in the paper) are truncated and videos longer than its video positions (1024 steps)
are average-pooled, and both are reported through the ``warn`` callback with counts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.errors import InputError
from vloc.fileio import atomic_write_json, read_json
from vloc.summarizer.how2 import (
    ACTION_SUFFIX,
    FEATURES_DIR,
    SPLIT_ORDER,
    SUMMARY_SUFFIX,
    TRANSCRIPT_INFIX,
    How2Row,
    how2_splits,
    import_how2,
    load_video_features,
)

if TYPE_CHECKING:
    from vloc.summarizer.config import SummarizerConfig
    from vloc.tokenization import Tokenizer


WarnFn = Callable[[str], None]

__all__ = [  # the examples and tasks, and the How2 names its callers have always found here
    "ACTION_SUFFIX",
    "FEATURES_DIR",
    "INFO_FILE",
    "SPLIT_ORDER",
    "SRC_TOKENIZER_DIR",
    "SUMMARY_SUFFIX",
    "TEACHER_TOKENIZER_DIR",
    "TGT_TOKENIZER_DIR",
    "TRANSCRIPT_INFIX",
    "DistillationTask",
    "How2Row",
    "ParallelExample",
    "SummarizationTask",
    "SummaryExample",
    "Truncation",
    "collate_video",
    "encode_examples",
    "encode_parallel",
    "encode_source",
    "how2_splits",
    "import_how2",
    "load_video_features",
    "read_model_info",
    "write_model_info",
]

INFO_FILE = "summarizer.json"  # vloc's metadata beside config.json in a model folder
INFO_FORMAT = 1
SRC_TOKENIZER_DIR = "src_tokenizer"
TGT_TOKENIZER_DIR = "tgt_tokenizer"
TEACHER_TOKENIZER_DIR = "teacher_tokenizer"  # stage 2: the teacher's source tokenizer


# ------------------------------------------------------------------------ encoded examples


@dataclass(frozen=True)
class SummaryExample:
    """One encoded (video, transcript, summary) example."""

    name: str  # "<split>/<video id>"
    src: tuple[int, ...]  # source ids + EOS, at most max_source_len
    tgt: tuple[int, ...]  # BOS + summary ids + EOS, at most max_target_len + 1
    features: Path | None  # the video's .npy (None: no video)


@dataclass
class Truncation:
    """Counts of inputs cut or pooled to the model's limits (reported, never silent)."""

    texts: int = 0  # transcripts truncated
    longest_text: int = 0  # tokens of the longest transcript before truncation
    summaries: int = 0  # summaries truncated
    longest_summary: int = 0

    def report(self, what: str, n: int, max_source: int, max_target: int) -> list[str]:
        out = []
        if self.texts:
            out.append(
                f"{what}: {self.texts} of {n} transcripts were longer than {max_source} tokens "
                f"and were truncated (longest {self.longest_text})"
            )
        if self.summaries:
            out.append(
                f"{what}: {self.summaries} of {n} summaries were longer than {max_target} "
                f"tokens and were truncated (longest {self.longest_summary})"
            )
        return out


def encode_source(tok: Tokenizer, text: str, max_len: int) -> tuple[list[int], int]:
    """Source ids + EOS cut to ``max_len`` (EOS kept) → (ids, full length incl. EOS)."""
    ids = tok.encode(text, add_eos=True)
    n = len(ids)
    if n > max_len:
        ids = ids[: max_len - 1] + [tok.eos_id]
    return ids, n


def encode_examples(
    rows: Sequence[How2Row],
    *,
    src_lang: str,
    src_tok: Tokenizer,
    tgt_tok: Tokenizer,
    config: SummarizerConfig,
    what: str,
    warn: WarnFn | None = None,
) -> list[SummaryExample]:
    """Tokenize rows (transcript in ``src_lang`` → summary), truncating visibly."""
    trunc = Truncation()
    out = []
    for r in rows:
        if src_lang not in r.transcripts:
            raise InputError(
                f"{r.split} row {r.row} ({r.video_id}) has no {src_lang!r} transcript; "
                f"languages present: {sorted(r.transcripts)}"
            )
        src, n = encode_source(src_tok, r.transcripts[src_lang], config.max_source_len)
        if n > config.max_source_len:
            trunc.texts += 1
            trunc.longest_text = max(trunc.longest_text, n)
        tgt = tgt_tok.encode(r.summary, add_bos=True, add_eos=True)
        if len(tgt) > config.max_target_len + 1:
            trunc.summaries += 1
            trunc.longest_summary = max(trunc.longest_summary, len(tgt) - 1)
            tgt = tgt[: config.max_target_len] + [tgt_tok.eos_id]
        out.append(SummaryExample(f"{r.split}/{r.video_id}", tuple(src), tuple(tgt), r.features))
    if warn is not None:
        for msg in trunc.report(what, len(rows), config.max_source_len, config.max_target_len):
            warn(msg)
    return out


def _pad(rows: Sequence[Sequence[int]], pad: int) -> Any:
    import torch

    width = max(len(r) for r in rows)
    out = torch.full((len(rows), width), pad, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(list(r), dtype=torch.long)
    return out


def collate_video(
    paths: Sequence[Path | None], *, dim: int, max_steps: int, device: str
) -> tuple[Any, Any]:
    """Feature files → (video (B, S, D) float32, video_mask (B, S) bool), padded; a None
    path gives an item without video steps."""
    import torch

    arrays = [
        None if p is None else load_video_features(p, dim=dim, max_steps=max_steps)[0]
        for p in paths
    ]
    steps = max([a.shape[0] for a in arrays if a is not None], default=1)
    video = torch.zeros(len(paths), steps, dim)
    mask = torch.zeros(len(paths), steps, dtype=torch.bool)
    for i, a in enumerate(arrays):
        if a is not None:
            video[i, : a.shape[0]] = torch.from_numpy(a)
            mask[i, : a.shape[0]] = True
    return video.to(device), mask.to(device)


# ---------------------------------------------------------------------------- model folder


def write_model_info(folder: Path, info: dict[str, Any]) -> None:
    atomic_write_json(folder / INFO_FILE, {"format": INFO_FORMAT, "task": "summarize", **info})


def read_model_info(folder: Path) -> dict[str, Any]:
    path = Path(folder) / INFO_FILE
    if not path.is_file():
        raise InputError(
            f"not a vloc summarizer folder: {INFO_FILE} is missing "
            "(train one with `vloc train summarize`)",
            path=folder,
        )
    info = read_json(path, what="summarizer metadata")
    if not isinstance(info, dict) or info.get("format") != INFO_FORMAT:
        raise InputError(f"unsupported model metadata (expected format {INFO_FORMAT})", path=path)
    return info


# ----------------------------------------------------------------------------- train tasks


class _SummarizerTask:
    """What :class:`SummarizationTask` and :class:`DistillationTask` share: the video half of
    a batch (examples with ``features``, read as the summarizer ``config`` says) and the
    validation loss over ``data["valid"]`` in batches of ``valid_batch``."""

    empty = "no training examples"  # the InputError when ``train`` is empty

    def __init__(
        self,
        train: Sequence[Any],
        valid: Sequence[Any],
        *,
        config: SummarizerConfig,
        info: dict[str, Any],
        description: str,
        valid_batch: int = 8,
    ) -> None:
        if not train:
            raise InputError(self.empty)
        # without validation rows the training rows are scored (the card says which)
        self.data = {"train": list(train), "valid": list(valid) or list(train)}
        self.config = config
        self.info = info  # written to summarizer.json with every export
        self.description = description
        self.valid_batch = valid_batch

    loss_keys: tuple[str, ...] = ()  # the batch entries the model's loss takes, in order

    def token_batch(self, split: str, indices: Sequence[int], device: str) -> dict[str, Any]:
        """The batch's token tensors, on ``device``."""
        raise NotImplementedError

    def collate(self, split: str, indices: Sequence[int], device: str) -> dict[str, Any]:
        """:meth:`token_batch` plus ``video`` (B, S, D_v) and ``video_mask`` (B, S) from the
        examples' feature files when the model reads video (None otherwise)."""
        c = self.config
        batch = {**self.token_batch(split, indices, device), "video": None, "video_mask": None}
        if c.uses_video:
            ex = [self.data[split][i] for i in indices]
            batch["video"], batch["video_mask"] = collate_video(
                [e.features for e in ex], dim=c.video_dim, max_steps=c.max_video_len, device=device
            )
        return batch

    def loss(self, model: Any, batch: dict[str, Any]) -> tuple[Any, int]:
        return model.loss(*(batch[k] for k in self.loss_keys))

    def _padded(self, rows: Sequence[Sequence[int]], device: str) -> tuple[Any, Any]:
        """Token rows → (ids (B, L) padded with pad_id, mask (B, L) True at real tokens)."""
        ids = _pad(rows, self.config.pad_id)
        return ids.to(device), (ids != self.config.pad_id).to(device)

    def validate(self, model: Any) -> dict[str, float]:
        """→ {"loss": the task's loss per token (target token or student state) over the
        validation examples}."""
        valid = self.data["valid"]
        device = next(model.parameters()).device.type
        total, tokens = 0.0, 0
        for i in range(0, len(valid), self.valid_batch):
            idx = list(range(i, min(i + self.valid_batch, len(valid))))
            loss, n = self.loss(model, self.collate("valid", idx, device))
            total += float(loss) * n
            tokens += n
        return {"loss": total / max(tokens, 1)}

    def describe(self) -> str:
        return self.description


class SummarizationTask(_SummarizerTask):
    """The trainer's task for stages plain, 1 and 3: (video, transcript) → summary with the
    model's label-smoothed cross-entropy; validation loss per target token."""

    loss_keys = ("src", "src_mask", "video", "video_mask", "tgt_in", "tgt_out")

    def __init__(
        self,
        train: Sequence[SummaryExample],
        valid: Sequence[SummaryExample],
        *,
        src_tok: Tokenizer,
        tgt_tok: Tokenizer,
        **common: Any,  # config, info, description, valid_batch: see _SummarizerTask
    ) -> None:
        super().__init__(train, valid, **common)
        self.src_tok, self.tgt_tok = src_tok, tgt_tok

    def lengths(self, split: str) -> list[int]:
        return [len(e.src) for e in self.data[split]]

    def token_batch(self, split: str, indices: Sequence[int], device: str) -> dict[str, Any]:
        ex = [self.data[split][i] for i in indices]
        src, src_mask = self._padded([e.src for e in ex], device)
        tgt = _pad([e.tgt for e in ex], self.config.pad_id)
        return {
            "src": src,
            "src_mask": src_mask,
            "tgt_in": tgt[:, :-1].to(device),
            "tgt_out": tgt[:, 1:].to(device),
        }

    def save_model_files(self, model: Any, folder: Path) -> None:
        atomic_write_json(folder / "config.json", model.config.to_dict())
        self.src_tok.save(folder / SRC_TOKENIZER_DIR)
        self.tgt_tok.save(folder / TGT_TOKENIZER_DIR)
        write_model_info(folder, self.info)


@dataclass(frozen=True)
class ParallelExample:
    """One encoded pair of parallel transcripts for distillation (stage 2)."""

    name: str  # "<split>/<video id>"
    teacher: tuple[int, ...]  # teacher-language ids + EOS
    student: tuple[int, ...]  # student-language ids + EOS
    features: Path | None  # needed only when distilling the fused encoder output


def encode_parallel(
    rows: Sequence[How2Row],
    *,
    teacher_lang: str,
    student_lang: str,
    teacher_tok: Tokenizer,
    student_tok: Tokenizer,
    max_len: int,
    what: str,
    warn: WarnFn | None = None,
) -> list[ParallelExample]:
    """Rows holding both transcripts → encoded pairs (rows lacking one are skipped)."""
    out, cut, longest = [], 0, 0
    for r in rows:
        if teacher_lang not in r.transcripts or student_lang not in r.transcripts:
            continue
        t, nt = encode_source(teacher_tok, r.transcripts[teacher_lang], max_len)
        s, ns = encode_source(student_tok, r.transcripts[student_lang], max_len)
        if max(nt, ns) > max_len:
            cut += 1
            longest = max(longest, nt, ns)
        out.append(ParallelExample(f"{r.split}/{r.video_id}", tuple(t), tuple(s), r.features))
    if cut and warn is not None:
        warn(
            f"{what}: {cut} of {len(out)} transcript pairs had a side longer than {max_len} "
            f"tokens and were truncated (longest {longest})"
        )
    return out


class DistillationTask(_SummarizerTask):
    """Stage 2 for the trainer: a :class:`~vloc.summarizer.distill.Distiller` on parallel
    transcripts; the loss is smooth-L1 between pooled student and teacher states."""

    loss_keys = (
        "teacher_src",
        "teacher_mask",
        "student_src",
        "student_mask",
        "video",
        "video_mask",
    )

    empty = "no parallel transcripts to distill on"

    def __init__(
        self,
        train: Sequence[ParallelExample],
        valid: Sequence[ParallelExample],
        *,
        teacher_tok: Tokenizer,
        student_tok: Tokenizer,
        tgt_tok: Tokenizer,
        **common: Any,  # config (the teacher's), info, description, valid_batch: _SummarizerTask
    ) -> None:
        super().__init__(train, valid, **common)
        self.teacher_tok, self.student_tok, self.tgt_tok = teacher_tok, student_tok, tgt_tok

    def lengths(self, split: str) -> list[int]:
        return [len(e.student) for e in self.data[split]]

    def token_batch(self, split: str, indices: Sequence[int], device: str) -> dict[str, Any]:
        ex = [self.data[split][i] for i in indices]
        teacher_src, teacher_mask = self._padded([e.teacher for e in ex], device)
        student_src, student_mask = self._padded([e.student for e in ex], device)
        return {
            "teacher_src": teacher_src,
            "teacher_mask": teacher_mask,
            "student_src": student_src,
            "student_mask": student_mask,
        }

    def save_model_files(self, model: Any, folder: Path) -> None:
        from vloc.summarizer.distill import save_student

        atomic_write_json(folder / "config.json", model.teacher.config.to_dict())
        save_student(model.student, folder)
        self.student_tok.save(folder / SRC_TOKENIZER_DIR)
        self.tgt_tok.save(folder / TGT_TOKENIZER_DIR)
        self.teacher_tok.save(folder / TEACHER_TOKENIZER_DIR)
        write_model_info(folder, self.info)
