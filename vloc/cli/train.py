"""`vloc train translate|summarize`: one sub-command per model family.

Each sub-command parses and checks its options, calls one library function and renders the
result (``--json``: one JSON object on stdout).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from vloc.cli._ui import JSON_OPTION, UI, command
from vloc.cli.summarize import train_summarize
from vloc.errors import InputError

app = typer.Typer(help="Train a translation or summarization model.", no_args_is_help=True)


class _TrainDisplay:
    """Training progress: one bar over optimizer steps with loss, lr, tokens/s (and ETA);
    validations as info lines."""

    def __init__(self, ui: UI, total: int | None) -> None:
        self.ui = ui
        self.bar = ui.progress(total, "training", "steps")
        self.step = 0  # last step shown (a resumed run starts the bar at its step)

    def __call__(self, rec: dict[str, Any]) -> None:
        if "validation" in rec:
            v = rec["validation"]
            shown = ", ".join(f"{k} {x:.4g}" for k, x in v.items() if k != "step")
            self.ui.info(f"step {rec['step']}: validation {shown} (best {rec['best']:.4g})")
            return
        self.bar.advance(
            rec["step"] - self.step,
            loss=f"{rec['loss']:.3f}",
            lr=f"{rec['lr']:.2e}",
            tok_s=f"{rec['tokens_per_s']:.0f}",
        )
        self.step = rec["step"]


@app.command("translate")
@command
def translate(
    data: Path = typer.Option(..., "--data", help="Training manifest (JSON Lines)."),
    out: Path = typer.Option(..., "--out", help="Run folder (checkpoints/, best/, run.json)."),
    config: list[str] | None = typer.Option(
        None,
        "--config",
        help="Settings: a JSON object, a .json file or KEY=VALUE (repeatable), e.g. d_model=32.",
    ),
    variant: str = typer.Option(
        "full",
        "--variant",
        help="full | text-only | segment-level | no-gr | no-tvss | no-gr-no-tvss.",
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out."),
    seed: int | None = typer.Option(None, "--seed", help="Seed (data order, init, dropout)."),
    device: str | None = typer.Option(None, "--device", help="cpu | cuda."),
    max_steps: int | None = typer.Option(None, "--max-steps", help="Stop after N steps."),
    json_output: bool = JSON_OPTION,
    *,
    ui: UI,
) -> None:
    """Train the global-context video-guided translator (or one of its baselines)."""
    from vloc.translator.train import parse_overrides, train_translator

    if device is not None and device not in ("cpu", "cuda"):
        raise InputError(f"--device must be cpu or cuda, got {device!r}")
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


# defined beside `vloc summarize`, which shares its model and data options
app.command("summarize")(train_summarize)
