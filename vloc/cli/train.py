"""`vloc train translate|summarize` (not built yet)."""

from __future__ import annotations

import typer

from vloc.cli._ui import JSON_OPTION, UI, command
from vloc.errors import NotBuiltError

app = typer.Typer(help="Train a translation or summarization model.", no_args_is_help=True)


@app.command("translate")
@command
def translate(json_output: bool = JSON_OPTION, *, ui: UI) -> None:
    """Train the global-context video-guided translator (not built yet)."""
    raise NotBuiltError("'vloc train translate' is not built yet in this version of vloc")


@app.command("summarize")
@command
def summarize(json_output: bool = JSON_OPTION, *, ui: UI) -> None:
    """Train the cross-lingual video summarizer (not built yet)."""
    raise NotBuiltError("'vloc train summarize' is not built yet in this version of vloc")
