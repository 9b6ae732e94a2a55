"""The training loop shared by the translator and the summarizer.

A :class:`Trainer` runs any model that a :class:`TrainTask` knows how to batch, score and
validate. It provides what both papers' recipes need and what unattended runs need:

* RAdam or Adam, linear warm-up then inverse-square-root decay (fairseq's ``inverse_sqrt``);
* token-count batching (``max_tokens``) or fixed-size batches (``batch_size``);
* gradient clipping, fp16 autocast with a gradient scaler on CUDA (fp32 on CPU: bf16 is
  hundreds of times slower there);
* validation every N steps, early stopping after ``patience`` validations without improvement;
* checkpoint folders written atomically, resumed *exactly* after a kill: the data order is a
  pure function of ``(seed, epoch)``, and the step, the position in the epoch, the optimizer,
  schedule, scaler and RNG states are all restored, so a resumed run produces the same weights
  as an uninterrupted one.

The output folder (``checkpoints/``, ``latest``, ``best/``) is :mod:`vloc.checkpoints`.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from vloc.checkpoints import (
    BEST_DIR,
    LATEST_FILE,
    export_model,
    jsonable,
    load_checkpoint,
    save_checkpoint,
    write_card,
)
from vloc.errors import InputError, VlocError

SHUFFLE_CHUNK_BATCHES = (
    64  # length-sorting window: examples are sorted within chunks of ~64 batches
)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings. Defaults follow the translator paper (§IV-C)."""

    optimizer: str = "radam"  # "radam" (translator paper) or "adam" (summarizer paper)
    lr: float = 1e-3  # peak learning rate, reached at the end of warm-up
    betas: tuple[float, float] = (0.9, 0.98)  # Adam(-style) moment decay rates
    weight_decay: float = 0.0  # decoupled weight decay (AdamW-style) when > 0
    schedule: str = (
        "inverse_sqrt"  # "inverse_sqrt" (warm-up then lr·sqrt(warmup/step)) or "constant"
    )
    warmup_steps: int = 4000  # linear warm-up length in optimizer steps
    max_steps: int = 20_000  # stop after this many optimizer steps
    max_epochs: int | None = None  # or after this many passes over the training data
    max_seconds: float | None = None  # or once this much training wall time has been spent
    max_tokens: int = 4096  # token-count batching: padded tokens per batch (src or tgt, the larger)
    batch_size: int | None = None  # fixed examples per batch instead of max_tokens (summarizer: 8)
    clip_norm: float = 1.0  # gradient L2-norm clipping threshold; 0 disables
    val_every: int = 500  # optimizer steps between validations (0: once per epoch)
    val_metric: str = "loss"  # key of TrainTask.validate()'s result that decides the best model
    val_higher_is_better: bool = False  # False for losses, True for BLEU / ROUGE
    patience: int = 10  # validations without improvement before early stopping
    seed: int = 0  # seeds data order, initialisation and dropout
    amp: bool = True  # fp16 autocast + GradScaler when the device is CUDA; ignored on CPU
    device: str = "cpu"  # "cpu" or "cuda"
    keep_checkpoints: int = 2  # older checkpoint folders are deleted


class TrainTask(Protocol):
    """What the trainer needs from a task (translation, summarization, distillation)."""

    def lengths(self, split: str) -> Sequence[int]:
        """Tokens per example of ``split`` ("train" or "valid"), for token-count batching."""

    def collate(self, split: str, indices: Sequence[int], device: str) -> Any:
        """The batch made of these examples, on ``device``."""

    def loss(self, model: Any, batch: Any) -> tuple[Any, int]:
        """(mean loss per target token as a scalar tensor, number of target tokens)."""

    def validate(self, model: Any) -> dict[str, float]:
        """Validation metrics (model in eval mode, no grad); must contain ``val_metric``."""

    def save_model_files(self, model: Any, folder: Path) -> None:
        """Write what loading the model needs besides the weights (config.json, tokenizers)."""

    def describe(self) -> str:
        """A few lines on the data for the model card."""


@dataclass
class TrainState:
    """Everything that changes during training, saved with every checkpoint."""

    step: int = 0  # optimizer steps done
    epoch: int = 0  # current epoch (0-based)
    batch_in_epoch: int = 0  # batches of the current epoch already consumed
    best: float | None = None  # best validation metric so far
    best_step: int = 0
    bad_validations: int = 0  # validations since the last improvement
    history: list[dict[str, float]] = field(default_factory=list)  # one entry per validation
    stopped: str = ""  # why training ended ("max_steps", "early_stopping", ...)
    train_seconds: float = 0.0


def inverse_sqrt_factor(step: int, warmup_steps: int) -> float:
    """Learning-rate multiplier at optimizer ``step`` (1-based): linear warm-up to 1, then
    ``sqrt(warmup / step)`` (fairseq's ``inverse_sqrt`` with ``warmup_init_lr = 0``)."""
    step = max(step, 1)
    if warmup_steps <= 0:
        return 1.0
    if step < warmup_steps:
        return step / warmup_steps
    return math.sqrt(warmup_steps / step)


def make_batches(
    lengths: Sequence[int],
    *,
    max_tokens: int,
    batch_size: int | None,
    rng: random.Random | None,
) -> list[list[int]]:
    """Group example indices into batches.

    With ``batch_size``: consecutive fixed-size batches. Otherwise token-count batching: each
    batch holds as many examples as fit ``n_examples × longest_length <= max_tokens`` (an
    example longer than ``max_tokens`` gets a batch of its own). With an ``rng`` the order is
    shuffled, examples are sorted by length within chunks (less padding), and the batches are
    shuffled again; without one the order is deterministic and length-sorted (validation).
    """
    order = list(range(len(lengths)))
    if rng is not None:
        rng.shuffle(order)
    if batch_size is not None:
        if batch_size < 1:
            raise InputError(f"batch size must be >= 1, got {batch_size}")
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    else:
        if max_tokens < 1:
            raise InputError(f"max_tokens must be >= 1, got {max_tokens}")
        avg = max(1, sum(lengths) // max(len(lengths), 1))
        chunk = max(1, SHUFFLE_CHUNK_BATCHES * max_tokens // avg)
        batches = []
        for c in range(0, len(order), chunk):
            part = sorted(order[c : c + chunk], key=lambda i: lengths[i])
            current: list[int] = []
            longest = 0
            for i in part:
                n = max(int(lengths[i]), 1)
                if current and max(longest, n) * (len(current) + 1) > max_tokens:
                    batches.append(current)
                    current, longest = [], 0
                current.append(i)
                longest = max(longest, n)
            if current:
                batches.append(current)
    if rng is not None:
        rng.shuffle(batches)
    return batches


class Trainer:
    """Train ``model`` on ``task`` into ``out``; see the module docstring."""

    def __init__(
        self,
        model: Any,
        task: TrainTask,
        config: TrainConfig,
        out: str | Path,
        *,
        on_log: Callable[[dict[str, Any]], None] | None = None,
        log_every: int = 10,
    ) -> None:
        import torch

        if config.device.startswith("cuda") and not torch.cuda.is_available():
            raise InputError(
                "--device cuda was asked for but CUDA is not available on this machine"
            )
        self.model = model.to(config.device)
        self.task = task
        self.config = config
        self.out = Path(out)
        self.on_log = on_log
        self.log_every = log_every
        self.state = TrainState()
        self.use_amp = config.amp and config.device.startswith("cuda")
        self.optimizer = self._make_optimizer()
        # a plain function (not a bound method) keeps the scheduler's state_dict free of objects
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: self._lr_factor(step)
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)

    # ----------------------------------------------------------------- set-up
    def _make_optimizer(self) -> Any:
        import torch

        c = self.config
        params = [p for p in self.model.parameters() if p.requires_grad]
        if c.optimizer == "radam":
            return torch.optim.RAdam(
                params, lr=c.lr, betas=c.betas, weight_decay=c.weight_decay,
                decoupled_weight_decay=c.weight_decay > 0,
            )  # fmt: skip
        if c.optimizer == "adam":
            cls = torch.optim.AdamW if c.weight_decay > 0 else torch.optim.Adam
            return cls(params, lr=c.lr, betas=c.betas, weight_decay=c.weight_decay)
        raise InputError(f"unknown optimizer {c.optimizer!r}: use 'radam' or 'adam'")

    def _lr_factor(self, step: int) -> float:
        # LambdaLR calls this with the number of scheduler steps taken; the lr used for
        # optimizer step s (1-based) is factor(s).
        if self.config.schedule == "constant":
            return 1.0
        if self.config.schedule == "inverse_sqrt":
            return inverse_sqrt_factor(step + 1, self.config.warmup_steps)
        raise InputError(
            f"unknown schedule {self.config.schedule!r}: use 'inverse_sqrt' or 'constant'"
        )

    def _epoch_batches(self, epoch: int) -> list[list[int]]:
        rng = random.Random(self.config.seed * 1_000_003 + epoch)
        return make_batches(
            self.task.lengths("train"),
            max_tokens=self.config.max_tokens,
            batch_size=self.config.batch_size,
            rng=rng,
        )

    # ------------------------------------------------------------- training
    def fit(self, resume: bool = False) -> TrainState:
        """Train until ``max_steps``, ``max_epochs`` or early stopping; returns the final state."""
        import torch

        if resume:
            self.load_latest()
        elif (self.out / LATEST_FILE).exists():
            raise InputError(
                "already holds a training run: pass --resume to continue it, or choose another --out",
                path=self.out,
            )
        else:
            torch.manual_seed(self.config.seed)
        c = self.config
        if self.state.stopped == "early_stopping":
            return self.state
        self.state.stopped = ""  # a step or epoch limit may have been raised since
        t0 = time.perf_counter() - self.state.train_seconds
        window_loss, window_tokens, window_t = 0.0, 0, time.perf_counter()
        while True:
            if c.max_epochs is not None and self.state.epoch >= c.max_epochs:
                return self._finish("max_epochs", t0)
            batches = self._epoch_batches(self.state.epoch)
            if not batches:
                raise InputError("the training data holds no examples")
            for b in range(self.state.batch_in_epoch, len(batches)):
                if self.state.step >= c.max_steps:
                    return self._finish("max_steps", t0)
                if c.max_seconds is not None and time.perf_counter() - t0 >= c.max_seconds:
                    return self._finish("max_seconds", t0)
                loss_value, n_tokens = self._train_step(batches[b])
                self.state.step += 1
                self.state.batch_in_epoch = b + 1
                window_loss += loss_value * n_tokens
                window_tokens += n_tokens
                if self.on_log and self.state.step % self.log_every == 0:
                    now = time.perf_counter()
                    self.on_log(
                        {
                            "step": self.state.step,
                            "epoch": self.state.epoch,
                            "loss": window_loss / max(window_tokens, 1),
                            "lr": self.optimizer.param_groups[0]["lr"],
                            "tokens_per_s": window_tokens / max(now - window_t, 1e-9),
                        }
                    )
                    window_loss, window_tokens, window_t = 0.0, 0, now
                if c.val_every and self.state.step % c.val_every == 0:
                    self.state.train_seconds = time.perf_counter() - t0
                    if self._validate_and_checkpoint():
                        return self._finish("early_stopping", t0)
            self.state.epoch += 1
            self.state.batch_in_epoch = 0
            if not c.val_every:
                self.state.train_seconds = time.perf_counter() - t0
                if self._validate_and_checkpoint():
                    return self._finish("early_stopping", t0)

    def _train_step(self, indices: list[int]) -> tuple[float, int]:
        import torch

        self.model.train()
        batch = self.task.collate("train", indices, self.config.device)
        with torch.autocast("cuda", dtype=torch.float16, enabled=self.use_amp):
            loss, n_tokens = self.task.loss(self.model, batch)
        if not torch.isfinite(loss):
            raise VlocError(
                f"training diverged at step {self.state.step + 1} (loss {loss.item()}): "
                "lower the learning rate or raise the warm-up"
            )
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.config.clip_norm > 0:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.clip_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        return float(loss.item()), int(n_tokens)

    def _validate_and_checkpoint(self) -> bool:
        """Validate, update the best model, checkpoint; True when early stopping triggers."""
        import torch

        self.model.eval()
        with torch.no_grad():
            metrics = dict(self.task.validate(self.model))
        if self.config.val_metric not in metrics:
            raise VlocError(
                f"validation returned {sorted(metrics)}, not the metric {self.config.val_metric!r}"
            )
        value = float(metrics[self.config.val_metric])
        metrics["step"] = self.state.step
        self.state.history.append(metrics)
        best = self.state.best
        better = best is None or (
            value > best if self.config.val_higher_is_better else value < best
        )
        if better:
            self.state.best, self.state.best_step, self.state.bad_validations = (
                value,
                self.state.step,
                0,
            )
            self.export(self.out / BEST_DIR)
        else:
            self.state.bad_validations += 1
        if self.on_log:
            self.on_log({"step": self.state.step, "validation": metrics, "best": self.state.best})
        self.save_checkpoint()
        return self.state.bad_validations >= self.config.patience

    def _finish(self, reason: str, t0: float) -> TrainState:
        self.state.stopped = reason
        self.state.train_seconds = time.perf_counter() - t0
        if not self.state.history or self.state.history[-1]["step"] != self.state.step:
            # Validate the final weights too, so `best/` exists and reflects the end of training.
            self._validate_and_checkpoint()
        self.state.stopped = reason
        self.save_checkpoint()
        self.write_card(self.out / BEST_DIR)
        return self.state

    # ---------------------------------------------------------- checkpoints
    def export(self, folder: Path) -> None:
        """Write a loadable model folder (weights + the task's files), atomically."""
        export_model(self.model, self.task.save_model_files, folder)

    def write_card(self, folder: Path) -> None:
        state, config = asdict(self.state), asdict(self.config)
        write_card(folder, self.task.describe(), state, config)

    def save_checkpoint(self) -> Path:
        """Write ``checkpoints/step-N/`` atomically, then point ``latest`` at it."""
        import torch

        rng = {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        }
        payload = {
            "state": jsonable(asdict(self.state)),
            "config": jsonable(asdict(self.config)),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": rng,
        }
        return save_checkpoint(
            self.out, self.state.step, self.model, self.task.save_model_files, payload,
            keep=self.config.keep_checkpoints,
        )  # fmt: skip

    def load_latest(self) -> None:
        """Restore model, optimizer, schedule, scaler, RNG and progress from ``latest``."""
        import torch

        payload = load_checkpoint(self.out, self.model, self.config.device)
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        self.scaler.load_state_dict(payload["scaler"])
        torch.set_rng_state(payload["rng"]["torch"])
        if payload["rng"]["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(payload["rng"]["cuda"])
        state = payload["state"]
        self.state = TrainState(**{**state, "history": list(state["history"])})
