"""`vloc check SUBS [--video FILM] [--style P] [--json] [--strict]`: a QC report of a subtitle
file against a style profile, cue by cue (:mod:`vloc.style.check`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from vloc.cli import _common as C
from vloc.cli._ui import JSON_OPTION, UI, command

STYLE_HELP = (
    "Style profile: default (permissive) | streaming (the streaming platforms' public "
    "timed-text guides) | a .toml file of your own."
)
SHOWN_CUES = 20  # flagged cues listed in the human report unless --all


@command
def check(
    subs: Path = typer.Argument(..., help="The subtitles to check (SRT/WebVTT), any origin."),
    video: Path | None = typer.Option(
        None, "--video", help="The film: also flag cues that cross a shot change (ffmpeg)."
    ),
    style: str = typer.Option("default", "--style", help=STYLE_HELP),
    lang: str | None = typer.Option(
        None,
        "--lang",
        help="Language of SUBS (default: from its name, film.zh.srt, or its letters).",
    ),
    source: Path | None = typer.Option(
        None, "--source", help="The subtitles SUBS translates: also flag untranslated cues."
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Exit 1 when any cue breaks an error-level rule (for CI)."
    ),
    show_all: bool = typer.Option(False, "--all", help="List every flagged cue, not the first 20."),
    encoding: str | None = C.ENCODING_OPTION,
    workdir: Path | None = C.WORKDIR_OPTION,
    json_output: bool = JSON_OPTION,
    *,
    ui: UI,
) -> None:
    """Check subtitles against a style profile, cue by cue (QC report; --strict for CI).

    Rules: reading speed, line length, line count, duration, gaps, overlaps, empty,
    untranslated (with --source) and wrong-script cues, and shot changes (with --video).

    Works on any subtitle file, a human reference as well as vloc's output. --json lists every
    flagged cue with its number (cue) and the rules it breaks (rules).
    """
    from vloc.style.check import check_file

    report = check_file(
        subs, lang=lang, profile=style, source=source, video=video, encoding=encoding,
        workdir=workdir, notify=ui.info,
    )  # fmt: skip
    for w in report.warnings:
        ui.warn(w)
    failed = strict and report.errors > 0
    message = f"{subs}: {report.errors} cue(s) break error-level rules of {report.profile.name}"
    payload: dict[str, Any] = report.to_json()
    if failed:  # --json: the report still comes, marked as a failure
        payload.update(ok=False, error=message)

    def render(console: Any) -> None:
        from rich.table import Table

        p = report.profile
        console.print(
            f"{subs}: {report.cues} cues, checked as {report.lang} under {p.name}: {p.description}",
            markup=False,
        )
        table = Table("rule", "level", "cues", "share")
        for rule, s in report.summary().items():
            table.add_row(rule, s["level"], str(s["cues"]), f"{100 * s['share']:.1f} %")
        console.print(table)
        console.print(
            f"{len(report.flagged)} cue(s) flagged, {report.errors} with errors; "
            f"{report.over_limits} ({100 * report.share(report.over_limits):.1f} %) over the "
            "limits (characters per line, lines, reading speed)",
            markup=False,
        )
        shown = report.flagged if show_all else report.flagged[:SHOWN_CUES]
        for f in shown:
            details = "; ".join(f"{x.rule} ({x.level}): {x.detail}" for x in f.findings)
            text = f.text.replace("\n", " / ")
            console.print(f"  cue {f.cue} [{f.start_ms} ms] {text!r}: {details}", markup=False)
        if len(shown) < len(report.flagged):
            console.print(f"  … {len(report.flagged) - len(shown)} more (--all)", markup=False)

    ui.result(payload, render)
    if failed:
        ui.error(message)
        raise typer.Exit(1)
