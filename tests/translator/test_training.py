"""The shared trainer: schedule, batching, early stopping, exact resume after a kill."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
from torch import nn

from vloc.checkpoints import BEST_DIR, LATEST_FILE, MODEL_FILE
from vloc.errors import InputError
from vloc.training import (
    TrainConfig,
    Trainer,
    inverse_sqrt_factor,
    make_batches,
)

N_CLASSES = 5
DIM = 8


class ToyTask:
    """Classify noisy copies of N_CLASSES prototypes; variable 'lengths' exercise token batching."""

    def __init__(self, n_train: int = 96, n_valid: int = 32, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.protos = torch.randn(N_CLASSES, DIM, generator=g)
        self.data = {}
        for split, n in (("train", n_train), ("valid", n_valid)):
            y = torch.randint(0, N_CLASSES, (n,), generator=g)
            x = self.protos[y] + 0.3 * torch.randn(n, DIM, generator=g)
            lengths = torch.randint(1, 9, (n,), generator=g).tolist()
            self.data[split] = (x, y, lengths)
        self.saved: list[Path] = []

    def lengths(self, split):
        return self.data[split][2]

    def collate(self, split, indices, device):
        x, y, _ = self.data[split]
        idx = torch.tensor(list(indices))
        return x[idx].to(device), y[idx].to(device)

    def loss(self, model, batch):
        x, y = batch
        return nn.functional.cross_entropy(model(x), y), len(y)

    def validate(self, model):
        x, y, _ = self.data["valid"]
        logits = model(x)
        return {
            "loss": nn.functional.cross_entropy(logits, y).item(),
            "accuracy": (logits.argmax(-1) == y).float().mean().item(),
        }

    def save_model_files(self, model, folder):
        (folder / "config.json").write_text('{"toy": true}\n')
        self.saved.append(folder)

    def describe(self):
        return "Toy prototypes, 96 training examples."


def toy_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    # dropout makes the result depend on the RNG state, which resume must restore
    return nn.Sequential(nn.Linear(DIM, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, N_CLASSES))


def config(**kw) -> TrainConfig:
    base = dict(lr=3e-3, warmup_steps=5, max_steps=30, max_tokens=40, val_every=10, patience=100)
    return TrainConfig(**{**base, **kw})


def test_inverse_sqrt_schedule():
    assert inverse_sqrt_factor(1, 4000) == pytest.approx(1 / 4000)
    assert inverse_sqrt_factor(2000, 4000) == pytest.approx(0.5)
    assert inverse_sqrt_factor(4000, 4000) == pytest.approx(1.0)
    assert inverse_sqrt_factor(16000, 4000) == pytest.approx(0.5)


def test_token_batches_respect_budget_and_cover_everything():
    lengths = [random.Random(i).randint(1, 30) for i in range(500)]
    batches = make_batches(lengths, max_tokens=100, batch_size=None, rng=random.Random(0))
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(500))
    for b in batches:
        assert len(b) * max(lengths[i] for i in b) <= 100 or len(b) == 1
    again = make_batches(lengths, max_tokens=100, batch_size=None, rng=random.Random(0))
    assert again == batches, "the same seed must give the same batches"
    fixed = make_batches(lengths, max_tokens=0, batch_size=8, rng=None)
    assert [len(b) for b in fixed] == [8] * 62 + [4]


def test_training_learns_and_exports_best(tmp_path):
    task = ToyTask()
    trainer = Trainer(toy_model(), task, config(max_steps=60), tmp_path / "run")
    state = trainer.fit()
    assert state.stopped == "max_steps"
    assert state.step == 60
    assert state.history[-1]["accuracy"] > 0.9
    best = tmp_path / "run" / BEST_DIR
    assert (best / MODEL_FILE).is_file() and (best / "config.json").is_file()
    card = (best / "card.md").read_text()
    assert "Toy prototypes" in card and "best loss" in card


def test_resume_after_interruption_is_exact(tmp_path):
    full = Trainer(toy_model(), ToyTask(), config(max_steps=30), tmp_path / "full")
    full.fit()

    part = Trainer(toy_model(), ToyTask(), config(max_steps=20), tmp_path / "part")
    part.fit()  # "killed" after step 20: the checkpoint at step 20 is what survives
    # a fresh process: new model (different init), new trainer, same data
    resumed = Trainer(toy_model(seed=123), ToyTask(), config(max_steps=30), tmp_path / "part")
    state = resumed.fit(resume=True)
    assert state.step == 30
    for a, b in zip(
        full.model.state_dict().values(), resumed.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), "a resumed run must reproduce the uninterrupted run exactly"


def test_early_stopping(tmp_path):
    task = ToyTask()
    trainer = Trainer(
        toy_model(),
        task,
        config(lr=0.0, warmup_steps=0, max_steps=1000, val_every=2, patience=3),
        tmp_path / "r",
    )
    state = trainer.fit()
    assert state.stopped == "early_stopping"
    assert state.step == 8  # first validation sets the best, three more without improvement


def test_existing_run_needs_resume(tmp_path):
    Trainer(toy_model(), ToyTask(), config(max_steps=10), tmp_path / "r").fit()
    with pytest.raises(InputError, match="--resume"):
        Trainer(toy_model(), ToyTask(), config(max_steps=20), tmp_path / "r").fit()
    with pytest.raises(InputError, match="no checkpoint"):
        Trainer(toy_model(), ToyTask(), config(), tmp_path / "empty").fit(resume=True)


def test_failed_checkpoint_write_keeps_previous(tmp_path):
    task = ToyTask()
    trainer = Trainer(toy_model(), task, config(max_steps=10), tmp_path / "r")
    trainer.fit()
    latest = (tmp_path / "r" / LATEST_FILE).read_text()

    def broken(model, folder):
        raise OSError("disk full")

    task.save_model_files = broken
    trainer.state.step += 1
    with pytest.raises(OSError):
        trainer.save_checkpoint()
    assert (tmp_path / "r" / LATEST_FILE).read_text() == latest
    leftovers = [
        p.name for p in (tmp_path / "r" / "checkpoints").iterdir() if p.name.startswith(".")
    ]
    assert leftovers == []
