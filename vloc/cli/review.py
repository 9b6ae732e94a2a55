"""`vloc review FILM SOURCE_SUBS TARGET_SUBS`: one self-contained HTML page where a reviewer
sees, checks and corrects a film's translation (:func:`vloc.review.write_review`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from vloc.cli import _common as C
from vloc.cli._ui import JSON_OPTION, UI, Bars, command

STAGE_UNITS = {"embedding cues": "cues", "decoding thumbnails": "frames"}
STAGE_LABELS = {"index": "embedding cues", "thumbnails": "decoding thumbnails"}


def default_output(target: Path) -> Path:
    """``film.zh.srt`` → ``film.zh.review.html`` beside it."""
    return target.with_name(f"{target.stem}.review.html")


@command
def review(
    video: Path = typer.Argument(..., help="The film (played by the page when the browser can)."),
    source_subs: Path = typer.Argument(..., help="The source subtitles (SRT/WebVTT)."),
    target_subs: Path = typer.Argument(..., help="Their translation (SRT/WebVTT)."),
    output: Path | None = C.output_option(
        "The page (default: film.<to>.review.html beside TARGET)."
    ),
    glossary: Path | None = typer.Option(
        None, "--glossary", help="TSV of terms (source<TAB>target): honoured/missed per cue."
    ),
    qc: Path | None = typer.Option(
        None,
        "--qc",
        help='A checker\'s flags (JSON: [{"cue": N, "rules": [...]}], or `vloc check --json`) '
        "instead of running vloc check's rules here (default profile).",
    ),
    context: Path | None = typer.Option(
        None,
        "--context",
        help="An engine run's context log (default: the newest in the workspace for SOURCE).",
    ),
    no_context: bool = typer.Option(
        False, "--no-context", help="Do not show what engine prompts carried."
    ),
    related: int = typer.Option(
        5, "--related", help="Similar cues from the film's index shown per cue (0: no index)."
    ),
    encoder: str | None = typer.Option(
        None, "--encoder", help="Sentence encoder of the index (default: the index's default)."
    ),
    thumbnails: str = typer.Option(
        "auto",
        "--thumbnails",
        help="auto (embedded up to 2 MiB, else a folder beside the page) | embed | folder | none.",
    ),
    source_lang: str | None = typer.Option(
        None, "--from", help="Source language (default: from film.<lang>.srt, else the script)."
    ),
    target_lang: str | None = typer.Option(
        None, "--to", help="Target language (default: from the file name, else the script)."
    ),
    encoding: str | None = C.ENCODING_OPTION,
    workdir: Path | None = C.WORKDIR_OPTION,
    json_output: bool = JSON_OPTION,
    *,
    ui: UI,
) -> None:
    """Write a review page: the film with both subtitle tracks, the cue table in sync with it,
    keyframes, QC flags, glossary terms, what informed each line, and in-page editing with an
    export of the corrected subtitles. One HTML file; nothing is fetched or uploaded."""
    from vloc.review import write_review

    if context is not None and no_context:
        from vloc.cli._ui import usage_error

        usage_error(ui, "--context and --no-context exclude each other")
    out = output if output is not None else default_output(target_subs)
    with Bars(ui, "{}", STAGE_UNITS) as bars:
        res = write_review(
            video, source_subs, target_subs, out,
            workdir=workdir, glossary=glossary, qc=qc,
            context=False if no_context else context, encoder=encoder, encoding=encoding,
            source_lang=source_lang, target_lang=target_lang, related=related,
            thumbnails=thumbnails, progress=lambda s, d, t: bars(STAGE_LABELS[s], d, t),
            warn=ui.warn,
        )  # fmt: skip
    payload: dict[str, Any] = res.to_json()
    payload.pop("warnings", None)  # ui.result adds the warnings it printed

    def render(console: Any) -> None:
        console.print(f"wrote {res.output} ({res.page_bytes / 1024:,.0f} KiB)", markup=False)
        thumbs = {
            "embedded": f"{res.thumbnails} thumbnails embedded",
            "folder": f"{res.thumbnails} thumbnails in {res.files}",
            "none": "no thumbnails",
        }[res.thumbnail_mode]
        console.print(
            f"{res.rows} cues ({res.flagged} flagged), {thumbs}, "
            f"{'related cues by ' + res.encoder if res.encoder else 'no related cues'}, "
            f"{'engine context of ' + str(res.context_batches) + ' batches' if res.context_log else 'no engine context'}"
            f"; {res.seconds:.1f} s",
            markup=False,
        )

    ui.result(payload, render)
