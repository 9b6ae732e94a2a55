"""The ``vloc`` typer application: registers one command per module of ``vloc.cli``.

Command modules import only typer, rich and the standard library at module level;
torch, faiss and transformers are imported inside the library functions they call,
so ``vloc --help`` stays fast.
"""

from __future__ import annotations

import typer

from vloc import __version__
from vloc.cli import batch, evaluate, features, index, search, summarize, train, translate

app = typer.Typer(
    name="vloc",
    help="Localize the subtitles of long videos, using the video itself as context.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vloc {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Localize the subtitles of long videos, using the video itself as context."""


app.command("features")(features.features)
app.command("index")(index.index)
app.command("search")(search.search)
app.command("translate")(translate.translate)
app.command("summarize")(summarize.summarize)
app.add_typer(train.app, name="train")
app.add_typer(evaluate.app, name="eval")
app.command("batch")(batch.batch)


def main() -> None:
    app()
