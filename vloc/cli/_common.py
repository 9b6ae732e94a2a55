"""Options that several commands declare alike (same flag, same help): each command names them
as parameter defaults, e.g. ``workdir: Path | None = WORKDIR_OPTION``. The engine flags are in
:mod:`vloc.cli._engine`; ``--device`` and ``--json`` in :mod:`vloc.cli._ui`."""

from __future__ import annotations

from typing import Any

import typer

ENCODING_OPTION = typer.Option(None, "--encoding", help="Subtitle encoding (default: detect).")
ALLOW_TRUNCATED_OPTION = typer.Option(
    False,
    "--allow-truncated",
    help="Go on with what decodes from a truncated video (warned) instead of failing.",
)
WORKDIR_OPTION = typer.Option(None, "--workdir", help="Parent folder of the workspace.")
BACKBONE_PATH_OPTION = typer.Option(
    "auto",  # vloc.features.execution.DEFAULT_PATH (not imported: `vloc --help` stays light)
    "--backbone-path",
    help="auto | eager | jit | compile: how the video backbone runs. auto: a saved TorchScript "
    "trace (jit) when the video is long enough to earn the trace back on this machine "
    "(measured once), else eager.",
)
WEIGHTS_DIR_OPTION = typer.Option(
    None, "--weights-dir", help="Cache of published checkpoints (default $VLOC_HOME/weights)."
)
WEIGHTS_SEED_OPTION = typer.Option(None, "--seed", help="Seed for --weights random.")


def strict_option(what: str) -> Any:
    """``--strict`` of a command that runs a model on ``what`` ("the subtitles'", ...)."""
    return typer.Option(
        False,
        "--strict",
        help=f"Fail (exit 1) instead of warning when the model does not know {what} words "
        "(coverage check; for CI).",
    )
