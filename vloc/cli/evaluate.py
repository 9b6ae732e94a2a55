"""`vloc eval translate|summarize` (not built yet)."""

from __future__ import annotations

import typer

from vloc.cli._ui import JSON_OPTION, UI, command
from vloc.errors import NotBuiltError

app = typer.Typer(help="Score a model on a data manifest.", no_args_is_help=True)


@app.command("translate")
@command
def translate(json_output: bool = JSON_OPTION, *, ui: UI) -> None:
    """Score a translation model (not built yet)."""
    raise NotBuiltError("'vloc eval translate' is not built yet in this version of vloc")


@app.command("summarize")
@command
def summarize(json_output: bool = JSON_OPTION, *, ui: UI) -> None:
    """Score a summarization model (not built yet)."""
    raise NotBuiltError("'vloc eval summarize' is not built yet in this version of vloc")
