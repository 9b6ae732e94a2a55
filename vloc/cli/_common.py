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


def model_option(help: str) -> Any:
    """``--model`` (a name or folder; None: the command's default)."""
    return typer.Option(None, "--model", help=help)


def output_option(help: str, *, required: bool = False, aliases: tuple[str, ...] = ()) -> Any:
    """``-o/--output`` (required, or None: the command's default name)."""
    return typer.Option(... if required else None, "-o", "--output", *aliases, help=help)


def style_option(what: str) -> Any:
    """``--style`` of a command that translates: ``what`` says where the budgets go."""
    return typer.Option(
        None,
        "--style",
        help=f"{what}: a style profile (default | streaming | "
        ".toml file); each cue's character budget in LLM prompts, up to two "
        "condense re-asks, and the cues over budget counted.",
    )


def memory_option(what: str) -> Any:
    """``--memory`` (repeatable) of a command that translates."""
    return typer.Option(
        [],
        "--memory",
        help=f"{what}: translation memory (repeatable): earlier episodes as subtitle pairs "
        "NAME.<src>.srt + NAME.<to>.srt (either file, or their folder), TMX files, manifests; "
        "exact and near-exact matches (token similarity >= 0.9, same numbers) reused verbatim, "
        "LLM engines also see the most similar pairs.",
    )


def backbone_option(default: str) -> Any:
    """``--backbone`` of a command that extracts clip features; ``default`` says which."""
    return typer.Option(
        None,
        "--backbone",
        help=f"Feature extractor: i3d_r50, resnext101_3d, csn_r101, slow_r50, x3d_m ({default}).",
    )


def weights_option(random: bool) -> Any:
    """``--weights`` of a command that extracts clip features."""
    extra = ", or 'random' (needs --seed)" if random else ""
    return typer.Option(
        None,
        "--weights",
        help=f"Backbone checkpoint file or registry name{extra}. Default: the backbone's "
        "published weights.",
    )
