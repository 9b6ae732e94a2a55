"""`vloc train translate|summarize|align`: one sub-command per model family.

Each sub-command parses and checks its options, calls one library function and renders the
result (``--json``: one JSON object on stdout). Both take the run's settings as ``--config``
overrides (KEY=VALUE, a JSON object or a .json file); the most common ones are flags.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from vloc.cli._ui import JSON_OPTION, UI, command

app = typer.Typer(
    help="Train a translation, summarization or video–text align model.", no_args_is_help=True
)
CONFIG_OPTION = typer.Option(
    None,
    "--config",
    help="Settings: a JSON object, a .json file or KEY=VALUE (repeatable), e.g. d_model=32.",
)
SEED_OPTION = typer.Option(None, "--seed", help="Seed (data order, init, dropout).")
DEVICE_OR_CONFIG = typer.Option(None, "--device", help="cpu | cuda (default: the config's).")
MAX_STEPS_OPTION = typer.Option(None, "--max-steps", help="Stop after N steps.")


def _loss(rec: dict[str, Any]) -> dict[str, str]:
    """The bar's fields of a training log record: the loss."""
    return {"loss": f"{rec['loss']:.3f}"}


def _loss_lr_rate(rec: dict[str, Any]) -> dict[str, str]:
    """The bar's fields of a translator log record: loss, learning rate, tokens/s."""
    return {**_loss(rec), "lr": f"{rec['lr']:.2e}", "tok_s": f"{rec['tokens_per_s']:.0f}"}


def _scores_and_best(rec: dict[str, Any]) -> str:
    """A validation record as every score and the best so far."""
    shown = ", ".join(f"{k} {x:.4g}" for k, x in rec["validation"].items() if k != "step")
    return f"validation {shown} (best {rec['best']:.4g})"


def _validation_loss(rec: dict[str, Any]) -> str:
    """A validation record as its loss."""
    return f"validation loss {rec['validation'].get('loss', float('nan')):.4f}"


class _TrainDisplay:
    """Training progress, the ``on_log`` of a train function: one bar over optimizer steps with
    the ``fields`` of each log record (and ETA); validation records as info lines."""

    def __init__(
        self,
        ui: UI,
        total: int | None,
        label: str = "training",
        fields: Callable[[dict[str, Any]], dict[str, str]] = _loss_lr_rate,
        validation: Callable[[dict[str, Any]], str] = _scores_and_best,
    ) -> None:
        self.ui = ui
        self.bar = ui.progress(total, label, "steps")
        self.fields = fields  # a log record → the bar's fields (name → shown value)
        self.validation = validation  # a validation record → its line, after "step N: "
        self.step = 0  # last step shown (a resumed run starts the bar at its step)

    def __call__(self, rec: dict[str, Any]) -> None:
        if "validation" in rec:
            self.ui.info(f"step {rec['step']}: {self.validation(rec)}")
            return
        self.bar.advance(rec["step"] - self.step, **self.fields(rec))
        self.step = rec["step"]


@app.command("translate")
@command
def translate(
    data: Path = typer.Option(..., "--data", help="Training manifest (JSON Lines)."),
    out: Path = typer.Option(..., "--out", help="Run folder (checkpoints/, best/, run.json)."),
    config: list[str] | None = CONFIG_OPTION,
    variant: str = typer.Option(
        "full",
        "--variant",
        help="full | text-only | segment-level | no-gr | no-tvss | no-gr-no-tvss.",
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out."),
    seed: int | None = SEED_OPTION,
    device: str | None = DEVICE_OR_CONFIG,
    max_steps: int | None = MAX_STEPS_OPTION,
    json_output: bool = JSON_OPTION,
    *,
    ui: UI,
) -> None:
    """Train the global-context video-guided translator (or one of its baselines)."""
    from vloc.configs import parse_overrides
    from vloc.translator.train import train_translator

    overrides = parse_overrides(config)
    total = max_steps if max_steps is not None else overrides.get("max_steps")
    display = _TrainDisplay(ui, int(total) if isinstance(total, int) else None)
    with display.bar:
        result = train_translator(
            data,
            out,
            variant=variant,
            overrides=overrides,
            resume=resume,
            seed=seed,
            device=device,
            max_steps=max_steps,
            on_log=display,
            log_every=1 if ui.interactive else 10,
        )
    payload = result.to_json()

    def render(console: Any) -> None:
        s = result.state
        console.print(
            f"{result.variant}: {s.step} steps ({s.stopped}), best validation loss "
            f"{s.best:.4f} at step {s.best_step}; model in {result.best}"
        )

    ui.result(payload, render)


@app.command("align")
@command
def align(
    data: Path = typer.Option(
        ...,
        "--data",
        help="Manifest (JSON Lines): features or film, start_ms, end_ms, description_en, "
        "description_zh (optional translations).",
    ),
    out: Path = typer.Option(..., "--out", help="The model folder to write."),
    config: list[str] | None = typer.Option(
        None,
        "--config",
        help="Settings: a JSON object, a .json file or KEY=VALUE (repeatable): dim, hidden, "
        "dropout, temperature, learn_temperature, languages (en or en,zh), soft_weight, "
        "soft_temperature, encoder, steps, batch_size, lr, warmup_steps, weight_decay, threads.",
    ),
    seed: int | None = SEED_OPTION,
    max_steps: int | None = MAX_STEPS_OPTION,
    json_output: bool = JSON_OPTION,
    *,
    ui: UI,
) -> None:
    """Train the video–text align model for 'vloc search --by seen' (MKTVR-style)."""
    from vloc.align.train import AlignTrainOptions, train_align
    from vloc.configs import parse_overrides

    overrides = parse_overrides(config)
    if seed is not None:
        overrides["seed"] = seed
    if max_steps is not None:
        overrides["steps"] = max_steps
    options = AlignTrainOptions.from_overrides(overrides)
    display = _TrainDisplay(ui, options.steps, "train align", _loss)
    with display.bar:
        result = train_align(data, out, options, on_log=display)

    def render(console: Any) -> None:
        console.print(
            f"align: {result.steps} steps on {result.moments} moments, loss {result.loss:.4f}, "
            f"τ {result.temperature:.4f} → {result.folder}",
            markup=False,
        )

    ui.result(result.to_json(), render)


@app.command("summarize")
@command
def summarize(
    data: Path = typer.Option(..., "--data", help="How2-MCLS folder (<split>_art_<lang>.txt ...)."),
    out: Path = typer.Option(..., "--out", help="Output folder (checkpoints/, best/)."),
    config: list[str] | None = typer.Option(
        None,
        "--config",
        help="Settings: a JSON object, a .json file or KEY=VALUE (repeatable): model sizes "
        "(d_model, layers, n_heads, dropout, vocab_size, ...), training (lr, optimizer, "
        "warmup_steps, batch_size, val_every, patience, max_epochs, ...), data and stage 2 "
        "(teacher_lang, train_splits, valid_split, layer, pool_mode).",
    ),
    stage: str = typer.Option(
        "plain", "--stage", help="plain | 1 (monolingual) | 2 (distil) | 3 (fine-tune)."
    ),
    teacher: Path | None = typer.Option(None, "--teacher", help="Stage 2: the stage-1 model."),
    student: Path | None = typer.Option(None, "--student", help="Stage 3: the stage-2 output."),
    src_lang: str = typer.Option("pt", "--src-lang", help="Source transcript language."),
    tgt_lang: str = typer.Option("en", "--tgt-lang", help="Summary language."),
    variant: str = typer.Option(
        "full", "--variant", help="full | no-forget-fusion | no-cascade | no-video."
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out."),
    seed: int | None = SEED_OPTION,
    device: str | None = DEVICE_OR_CONFIG,
    max_steps: int | None = MAX_STEPS_OPTION,
    json_output: bool = JSON_OPTION,
    *,
    ui: UI,
) -> None:
    """Train the VDF summarizer: plain, or one stage of the triple-stage framework."""
    from vloc.configs import parse_overrides
    from vloc.summarizer.settings import stage_settings
    from vloc.summarizer.train import train_summarizer

    overrides = {"variant": variant, **parse_overrides(config)}
    flags = {
        "stage": stage,
        "src_lang": src_lang,
        "tgt_lang": tgt_lang,
        "teacher": str(teacher) if teacher is not None else None,
        "student": str(student) if student is not None else None,
    }
    options, train = stage_settings(
        overrides, flags=flags, train={"seed": seed, "device": device, "max_steps": max_steps}
    )
    label = f"train summarize (stage {stage})"
    display = _TrainDisplay(ui, train.max_steps, label, _loss, _validation_loss)
    with display.bar:
        result = train_summarizer(
            data, out, options, train, resume=resume, on_log=display, warn=ui.warn
        )

    def render(console: Any) -> None:
        s = result.state
        console.print(
            f"stage {result.stage}: {s.step} steps ({s.stopped}), best validation loss "
            f"{s.best:.4f} at step {s.best_step} → {result.best}",
            markup=False,
        )

    ui.result(result.to_json(), render)
