"""`vloc glossary mine|check`: a glossary drafted from earlier human translations, and the
terms of a glossary checked in a finished translation.

Each sub-command parses its options, calls one library function of :mod:`vloc.glossary` and
renders the result (``--json``: one JSON object on stdout).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from vloc.cli import _common as C
from vloc.cli._ui import JSON_OPTION, UI, command

app = typer.Typer(
    help="Mine a glossary from earlier translations; check one in a translation.",
    no_args_is_help=True,
)

FROM_OPTION = typer.Option(
    None, "--from", help="Source language (default: from the files' names, TMX or manifest)."
)
TO_OPTION = typer.Option(
    None, "--to", help="Target language (default: from the files' names, TMX or manifest)."
)


@app.command("mine")
@command
def mine(
    pairs: list[Path] = typer.Argument(
        ...,
        help="Earlier work: subtitle pairs NAME.<src>.srt + NAME.<tgt>.srt (either file, or "
        "their folder), TMX files, vloc manifests.",
    ),
    output: Path = C.output_option("The glossary file to write (.tsv).", required=True),
    source_lang: str | None = FROM_OPTION,
    target_lang: str | None = TO_OPTION,
    min_lines: int = typer.Option(
        3, "--min-lines", min=1, help="Lines a term must occur in to be kept."
    ),
    encoding: str | None = C.ENCODING_OPTION,
    json_output: bool = JSON_OPTION,
    *,
    ui: UI,
) -> None:
    """Draft a glossary: recurring names with one dominant rendering in the translations.

    Each term is written under a '#' line with its evidence (lines, films, share rendered
    so, one example pair) for a reviewer to keep or strike; the file is what --glossary reads.
    """
    from vloc.glossary.mine import MiningOptions, mine_glossary
    from vloc.memory import infer_languages

    src, tgt = infer_languages(pairs, source_lang, target_lang)
    result = mine_glossary(
        pairs, output, source_lang=src, target_lang=tgt, encoding=encoding, warn=ui.warn,
        options=MiningOptions(min_lines=min_lines),
    )  # fmt: skip
    obj = {
        "output": str(result.output),
        "pairs": result.pairs,
        "films": result.films,
        "source_lang": src,
        "target_lang": tgt,
        "terms": [t.to_json() for t in result.terms],
        "sources": [s.to_json() for s in result.sources],  # type: ignore[attr-defined]
    }

    def render(console: Any) -> None:
        for t in result.terms:
            console.print(
                f"{t.source} → {t.target}  ({t.rendered}/{t.lines} lines, {t.films} "
                f"film{'s' if t.films > 1 else ''})",
                markup=False,
            )
        console.print(
            f"{len(result.terms)} terms from {result.pairs} line pairs of {result.films} "
            f"film{'s' if result.films != 1 else ''} → {result.output}",
            markup=False,
            style="dim",
        )

    ui.result(obj, render)


@app.command("check")
@command
def check(
    subs: list[Path] = typer.Argument(
        ...,
        help="The translation: NAME.<tgt>.srt with its source NAME.<src>.srt beside it, a TMX "
        "file or a manifest.",
    ),
    glossary: Path = typer.Option(..., "--glossary", help="Glossary (source<TAB>target)."),
    source_lang: str | None = FROM_OPTION,
    target_lang: str | None = TO_OPTION,
    encoding: str | None = C.ENCODING_OPTION,
    json_output: bool = JSON_OPTION,
    *,
    ui: UI,
) -> None:
    """Per glossary term: the lines whose source holds it, and how many translate it as the
    glossary says (hits) or not (misses, by cue)."""
    from vloc.glossary.check import check_glossary

    result = check_glossary(
        subs, glossary, source_lang=source_lang, target_lang=target_lang, encoding=encoding,
        warn=ui.warn,
    )  # fmt: skip

    def render(console: Any) -> None:
        from rich.table import Table

        table = Table(box=None, pad_edge=False)
        for col in ("term", "rendering", "lines", "hits", "misses"):
            table.add_column(col, justify="right" if col in ("lines", "hits") else "left")
        for t in result.found:
            more = t.lines - t.hits - len(t.misses)
            where = ", ".join(t.misses) + (f" (+{more})" if more > 0 else "")
            table.add_row(t.source, t.target, str(t.lines), str(t.hits), where)
        if result.found:
            console.print(table)
        console.print(result.summary(), markup=False, style="dim")

    ui.result(result.to_json(), render)
