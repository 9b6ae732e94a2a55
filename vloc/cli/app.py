"""The ``vloc`` typer application: registers one command per module of ``vloc.cli``.

Command modules import only typer, rich and the standard library at module level;
torch, faiss and transformers are imported inside the library functions they call,
so ``vloc --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

try:  # recent typer vendors click as typer._click; older typer builds on click itself
    from typer.core import _click  # type: ignore[attr-defined]

    click_exceptions = _click.exceptions
except ImportError:  # pragma: no cover
    import click as _click
    import click.exceptions as click_exceptions

from vloc import __version__
from vloc.cli import (
    batch,
    check,
    evaluate,
    features,
    glossary,
    index,
    memory,
    review,
    search,
    summarize,
    train,
    translate,
)
from vloc.cli._ui import EXIT_USAGE, one_line

HELP_OPTIONS = ["-h", "--help"]


class VlocGroup(TyperGroup):
    """The root command: usage errors become one ``error:`` line (exit 2), and with ``--json``
    also ``{"ok": false, "error": ..., "usage": true}`` on stdout, as every other failure."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        _polish_help(self)
        argv = list(sys.argv[1:] if args is None else args)
        json_mode = "--json" in argv[: argv.index("--")] if "--" in argv else "--json" in argv
        try:
            rv = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except click_exceptions.NoArgsIsHelpError as e:
            e.show()
            rv = EXIT_USAGE
        except click_exceptions.UsageError as e:
            rv = _usage_failure(e, json_mode)
        except click_exceptions.ClickException as e:
            typer.echo(f"error: {one_line(e.format_message())}", err=True)
            rv = e.exit_code
        except typer.Abort:
            typer.echo("error: aborted", err=True)
            rv = 1
        if not standalone_mode:
            return rv
        sys.exit(rv if isinstance(rv, int) else 0)


# two or three invocations per command, shown at the end of its --help
EXAMPLES: dict[str, tuple[str, ...]] = {
    "features": (
        "vloc features film.mp4 --subs film.en.srt",
        "vloc features film.mp4 --mode stride --compile",
        "vloc features talk.mp4 --from-npy talk_action.npy --json",
    ),
    "index": (
        "vloc index film.mp4 film.en.srt",
        "vloc index film.mp4 film.zh.srt --workdir cache/ --json",
        "vloc index film.mp4 film.en.srt --align models/scenes-align",
    ),
    "search": (
        'vloc search "a dry riverbed" --index films/',
        'vloc search "glacier ice" --index a.mp4.vloc b.mp4.vloc --top-k 10 --json',
        'vloc search "夜色中的河流" --index films/ --by seen',
        'vloc search "boats at dusk" --index films/ --by both --json',
    ),
    "translate": (
        "vloc translate film.mp4 film.en.srt --to zh",
        "vloc translate film.mp4 film.en.ass --to zh-TW --bilingual -o film.zh-TW.ass",
        "vloc translate film.mp4 film.en.srt --to zh --model runs/full/best --json",
        "vloc translate ep8.mp4 ep8.en.srt --to zh --memory episodes/ --memory series.tmx",
    ),
    "check": (
        "vloc check film.zh.srt --style streaming",
        "vloc check film.zh.srt --video film.mp4 --source film.en.srt --json --strict",
        "vloc check film.zh.srt --style client.toml --lang zh-TW --all",
    ),
    "review": (
        "vloc review film.mp4 film.en.srt film.zh.srt",
        "vloc review film.mp4 film.en.srt film.zh.srt -o review.html --glossary terms.tsv",
        "vloc review film.mp4 film.en.srt film.zh.srt --qc checks.json --thumbnails folder --json",
    ),
    "summarize": (
        "vloc summarize talk.mp4 talk.zh.srt --to en",
        "vloc summarize talk.mp4 talk.pt.srt --to en --features talk_action.npy -o talk.md",
    ),
    "batch": (
        "vloc batch videos/ --tasks features,index,translate:zh",
        "vloc batch list.csv --tasks translate:zh --out results/ --json",
        "vloc batch videos/ --tasks features --executor ray --workers 4",
    ),
    "train translate": (
        "vloc train translate --data manifest.jsonl --out runs/full --variant full",
        "vloc train translate --data manifest.jsonl --out runs/full --resume",
    ),
    "train align": (
        "vloc train align --data moments.jsonl --out models/scenes-align",
        "vloc train align --data moments.jsonl --out runs/en-only --config languages=en",
    ),
    "train summarize": (
        "vloc train summarize --data how2/ --out runs/vdf",
        "vloc train summarize --data how2/ --out runs/s2 --stage 2 --teacher runs/s1/best",
    ),
    "eval translate": (
        "vloc eval translate --model runs/full --data manifest.jsonl --split test",
        "vloc eval translate --model runs/ --data manifest.jsonl --table scores.md --json",
    ),
    "glossary mine": (
        "vloc glossary mine episodes/ --to zh -o terms.tsv",
        "vloc glossary mine ep1.en.srt ep2.en.srt series.tmx --to zh -o terms.tsv --json",
    ),
    "glossary check": (
        "vloc glossary check ep8.zh.srt --glossary terms.tsv",
        "vloc glossary check out/ep8.zh.srt --glossary terms.tsv --from en --json",
    ),
    "memory export": (
        "vloc memory export ep7.en.srt ep7.zh.srt -o ep7.tmx",
        "vloc memory export episodes/ --to zh -o series.tmx --json",
    ),
    "eval summarize": (
        "vloc eval summarize --model runs/vdf --data how2/",
        "vloc eval summarize --model a --model b --data how2/ --table scores.md",
    ),
}


def _polish_help(command: Any, path: str = "") -> None:
    """Boolean flags take no value: no ``<bool>`` placeholder in ``--help``; every command
    ends its help with its examples."""
    ctx = _click.Context(command, help_option_names=HELP_OPTIONS)
    for param in [*command.params, command.get_help_option(ctx)]:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    if path in EXAMPLES and not command.epilog:
        command.epilog = "Examples:\n\n" + "\n\n".join(EXAMPLES[path])
    for name, sub in getattr(command, "commands", {}).items():
        _polish_help(sub, f"{path} {name}".strip())


def _usage_failure(e: click_exceptions.UsageError, json_mode: bool) -> int:
    message = one_line(e.format_message())
    ctx = e.ctx
    if ctx is not None:
        typer.echo(one_line(ctx.get_usage()), err=True)
        message += f" (see '{ctx.command_path} --help')"
    typer.echo(f"error: {message}", err=True)
    if json_mode:
        obj = {"ok": False, "error": message, "usage": True}
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    return EXIT_USAGE


app = typer.Typer(
    name="vloc",
    cls=VlocGroup,
    help="Localize the subtitles of long videos, using the video itself as context.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": HELP_OPTIONS},
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
app.command("check")(check.check)
app.command("review")(review.review)
app.add_typer(train.app, name="train")
app.add_typer(evaluate.app, name="eval")
app.command("batch")(batch.batch)
app.add_typer(glossary.app, name="glossary")
app.add_typer(memory.app, name="memory")


def main() -> None:
    app()
