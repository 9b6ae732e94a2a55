"""`vloc memory export`: earlier work as one TMX file for the next episode's ``--memory``.

A thin wrapper over :func:`vloc.memory.export_tmx` (``--json``: one JSON object on stdout).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from vloc.cli import _common as C
from vloc.cli._ui import JSON_OPTION, UI, command

app = typer.Typer(help="Translation memory: export earlier work as TMX.", no_args_is_help=True)


@app.command("export")
@command
def export(
    inputs: list[Path] = typer.Argument(
        ...,
        help="A finished film: its source NAME.<src>.srt and approved translation "
        "NAME.<tgt>.srt (either or both; .vtt too), or a folder of such pairs, TMX files, "
        "vloc manifests.",
    ),
    output: Path = C.output_option("The TMX file to write.", required=True),
    source_lang: str | None = typer.Option(
        None, "--from", help="Source language (default: from the files' names, TMX or manifest)."
    ),
    target_lang: str | None = typer.Option(
        None, "--to", help="Target language (default: from the files' names, TMX or manifest)."
    ),
    film: str | None = typer.Option(
        None, "--film", help="Film name recorded on every unit (default: each pair's NAME or id)."
    ),
    encoding: str | None = C.ENCODING_OPTION,
    json_output: bool = JSON_OPTION,
    *,
    ui: UI,
) -> None:
    """Write source lines and their approved translations as TMX 1.4b (subtitle pairs aligned
    by timing); --memory reads it back as the same pairs."""
    from vloc.memory import export_tmx, infer_languages

    src, tgt = infer_languages(inputs, source_lang, target_lang)
    result = export_tmx(
        inputs, output, source_lang=src, target_lang=tgt, film=film, encoding=encoding,
        warn=ui.warn,
    )  # fmt: skip
    mem = result.sources
    obj = {
        "output": str(result.output),
        "pairs": len(mem.pairs),
        "films": len({p.film for p in mem.pairs}),
        "source_lang": src,
        "target_lang": tgt,
        "sources": [s.to_json() for s in mem.sources],
    }

    def render(console: Any) -> None:
        for s in mem.sources:
            extra = []
            if s.unaligned_source or s.unaligned_target:
                extra.append(
                    f"{s.unaligned_source} source / {s.unaligned_target} target cues unaligned"
                )
            if s.joined:
                extra.append(f"{s.joined} joined units")
            if s.skipped:
                extra.append(f"{s.skipped} skipped")
            more = f" ({'; '.join(extra)})" if extra else ""
            console.print(f"{s.path}: {s.pairs} pairs{more}", markup=False)
        console.print(
            f"{obj['pairs']} pairs ({src}→{tgt}) → {result.output}", markup=False, style="dim"
        )

    ui.result(obj, render)
