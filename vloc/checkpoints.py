"""The output folder of a training run: checkpoints, the ``latest`` pointer, the exported model.

Layout::

    OUT/
      latest                      # text: the newest complete checkpoint folder name
      checkpoints/step-00000500/  # model.safetensors, trainer_state.pt + the task's files
      best/                       # the exported model: config.json, tokenizer files,
                                  # model.safetensors, card.md

Every folder is filled beside its final place and swapped in (:func:`write_folder_atomically`),
and ``latest`` is replaced only after its checkpoint is complete: a run killed at any moment
leaves the previous checkpoint and the previous ``best/`` whole. :class:`vloc.training.Trainer`
writes and resumes through these functions.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vloc.errors import InputError, WeightsError
from vloc.fileio import atomic_write_text

CHECKPOINTS_DIR = "checkpoints"
LATEST_FILE = "latest"
BEST_DIR = "best"
MODEL_FILE = "model.safetensors"
STATE_FILE = "trainer_state.pt"

SaveFiles = Callable[[Any, Path], None]  # a task's save_model_files(model, folder)


SAFE_FORMATS = (
    ".safetensors, or a .pt/.pth/.pyth checkpoint holding only tensors and plain containers"
)


def safe_torch_load(path: str | Path) -> Any:
    """``torch.load(path, weights_only=True)``; a file that needs arbitrary unpickling is a
    one-line :class:`WeightsError` naming it and the accepted formats."""
    import pickle
    import warnings

    import torch

    try:
        with warnings.catch_warnings():  # torch's notes on pickle protocols are not for users
            warnings.simplefilter("ignore")
            return torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        # torch's refusal is many lines long and suggests disabling the check: say it in one
        global_name = re.search(r"(?:unsupported|Unsupported global:) GLOBAL ([\w.]+)", str(e))
        if global_name is None:
            raise WeightsError(
                f"cannot read checkpoint: not a weights file torch can read safely; accepted: "
                f"{SAFE_FORMATS}",
                path=path,
            ) from e
        raise WeightsError(
            f"not a safe weights file: it holds pickled Python objects ({global_name.group(1)}), "
            f"which vloc never loads; accepted: {SAFE_FORMATS}",
            path=path,
        ) from e


def export_model(model: Any, save_files: SaveFiles, folder: Path) -> None:
    """Write a loadable model folder (weights + the task's files), atomically."""
    from safetensors.torch import save_model

    def write(tmp: Path) -> None:
        save_model(model, str(tmp / MODEL_FILE))
        save_files(model, tmp)

    write_folder_atomically(folder, write)


def save_checkpoint(
    out: Path, step: int, model: Any, save_files: SaveFiles, payload: dict[str, Any], *, keep: int
) -> Path:
    """Write ``out/checkpoints/step-N/`` (weights, the task's files, ``payload`` — the trainer's
    state, torch tensors allowed) atomically, point ``latest`` at it, then delete all but the
    ``keep`` newest checkpoint folders (never the new one)."""
    import torch

    name = f"step-{step:08d}"
    folder = out / CHECKPOINTS_DIR / name

    def write(tmp: Path) -> None:
        from safetensors.torch import save_model

        save_model(model, str(tmp / MODEL_FILE))
        save_files(model, tmp)
        torch.save(payload, tmp / STATE_FILE)

    write_folder_atomically(folder, write)
    atomic_write_text(out / LATEST_FILE, f"{CHECKPOINTS_DIR}/{name}\n")
    folders = sorted(p for p in (out / CHECKPOINTS_DIR).glob("step-*") if p.is_dir())
    for old in folders[: max(len(folders) - keep, 0)]:
        if old != folder:
            shutil.rmtree(old, ignore_errors=True)
    return folder


def latest_checkpoint(out: Path) -> Path:
    """The checkpoint folder ``out/latest`` names; InputError naming ``out`` when there is none."""
    pointer = out / LATEST_FILE
    if not pointer.is_file():
        raise InputError("holds no checkpoint to resume from (no 'latest' file)", path=out)
    return out / pointer.read_text(encoding="utf-8").strip()


def load_checkpoint(out: Path, model: Any, device: str) -> dict[str, Any]:
    """Load the weights of ``out``'s ``latest`` checkpoint into ``model`` (on ``device``) and
    return the trainer's payload; InputError naming the folder when there is none or it is
    unreadable."""
    from safetensors.torch import load_model

    folder = latest_checkpoint(out)
    try:
        payload = safe_torch_load(folder / STATE_FILE)
        load_model(model, str(folder / MODEL_FILE), device=device)
    except (OSError, RuntimeError, KeyError) as e:
        raise InputError(f"cannot resume from this checkpoint: {e}", path=folder) from e
    return payload


def write_card(
    folder: Path,
    description: str,
    state: dict[str, Any],
    config: dict[str, Any],
) -> None:
    """``card.md`` of an exported model (when ``folder`` exists): the task's ``description`` of
    the data, then the run (``state``: a TrainState as a dict, ``config``: a TrainConfig as a
    dict) and its validation history as a table."""
    s = state
    lines = [
        f"# {folder.parent.name}",
        "",
        "## Data",
        "",
        description.strip(),
        "",
        "## Training",
        "",
        f"- steps: {s['step']} (epochs started: {s['epoch'] + 1}), "
        f"stopped by: {s['stopped'] or 'running'}",
        f"- best {config['val_metric']}: {s['best']} at step {s['best_step']}",
        f"- training time: {s['train_seconds']:.0f} s on {config['device']}",
        f"- settings: `{json.dumps(jsonable(config), sort_keys=True)}`",
        "",
    ]
    history = s["history"]
    if history:
        keys = [k for k in history[0] if k != "step"]
        lines += ["## Validation history", "", "| step | " + " | ".join(keys) + " |"]
        lines.append("|---" * (len(keys) + 1) + "|")
        for h in history:
            lines.append(
                f"| {h['step']} | "
                + " | ".join(f"{h.get(k, float('nan')):.4g}" for k in keys)
                + " |"
            )
    if folder.is_dir():
        atomic_write_text(folder / "card.md", "\n".join(lines) + "\n")


def write_folder_atomically(folder: Path, write: Callable[[Path], None]) -> None:
    """Fill a temporary sibling folder with ``write``, then swap it in for ``folder``."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        write(tmp)
        for f in tmp.iterdir():
            if f.is_file():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not folder.exists():
            os.replace(old, folder)
        raise
    shutil.rmtree(old, ignore_errors=True)


def jsonable(obj: Any) -> Any:
    """Plain Python containers only (safe for ``torch.load(weights_only=True)`` and JSON)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    return obj
