"""`vloc batch SOURCE --tasks ...`: run tasks over many videos, resumably, with a JSON report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from vloc.cli import _common as C
from vloc.cli import _engine as E
from vloc.cli._ui import DEVICE_OPTION, EXIT_FAILURE, JSON_OPTION, UI, command


@command
@E.flags(*E.ENDPOINT, "images", *E.BATCHING, "frames", "frame_select", "glossary", *E.LIMITS)
def batch(
    source: Path = typer.Argument(
        ..., help="A folder (film.mp4 + film.en.srt pairs) or a manifest (.csv / .jsonl)."
    ),
    tasks: str = typer.Option(
        ..., "--tasks", help="Comma-separated: features,index,translate:zh,summarize:en."
    ),
    out: Path = typer.Option(
        Path("vloc-out"), "--out", help="Output root; each video writes only to OUT/<name>/."
    ),
    executor: str = typer.Option("local", "--executor", help="local | ray."),
    workers: int = typer.Option(1, "--workers", help="Videos processed at the same time."),
    report: Path | None = typer.Option(
        None, "--report", help="JSON report path (default OUT/report.json)."
    ),
    address: str | None = typer.Option(
        None, "--address", help="Ray cluster address to join (default: start a local Ray)."
    ),
    backbone: str | None = typer.Option(None, "--backbone", help="Feature backbone."),
    weights: str | None = typer.Option(
        None, "--weights", help="Backbone checkpoint, registry name, or 'random' (needs --seed)."
    ),
    weights_dir: Path | None = typer.Option(
        None, "--weights-dir", help="Cache of published checkpoints."
    ),
    seed: int | None = C.WEIGHTS_SEED_OPTION,
    fps: float | None = typer.Option(None, "--fps", help="Feature decode rate, frames/s."),
    size: int | None = typer.Option(None, "--size", help="Feature crop side in px."),
    clip_len: int = typer.Option(16, "--clip-len", help="Frames per feature clip."),
    width: float = typer.Option(
        1.0, "--width", hidden=True, help="Backbone width multiplier (testing only)."
    ),
    encoder: str | None = typer.Option(
        None, "--encoder", help="Sentence encoder name or folder for the index."
    ),
    model: str | None = C.model_option("Translation / summarization model name or folder."),
    encoding: str | None = C.ENCODING_OPTION,
    device: str = DEVICE_OPTION,
    compile: bool = typer.Option(
        False,
        "--compile",
        help="torch.compile the features task's backbone (long films; the same as "
        "--backbone-path compile for that task).",
    ),
    backbone_path: str = C.BACKBONE_PATH_OPTION,
    allow_truncated: bool = C.ALLOW_TRUNCATED_OPTION,
    strict: bool = C.strict_option("the subtitles'"),
    style: str | None = C.style_option("translate tasks"),
    memory: list[Path] = C.memory_option("translate tasks"),
    engine_flags: dict[str, Any] = E.HERE,
    json_output: bool = JSON_OPTION,
    *,
    ui: UI,
) -> None:
    """Run tasks on every video of a folder or manifest; re-running skips finished work.

    translate:LANG tasks use --engine (default vloc's own model; engine settings may come from
    $VLOC_HOME/engines.toml); --model then names the engine's model."""
    from vloc.backbones import DEFAULT_BACKBONE
    from vloc.batch import (
        BatchOptions,
        JobResult,
        discover,
        parse_tasks,
        reserved_names,
        run_batch,
    )
    from vloc.errors import InputError
    from vloc.features.options import FeatureOptions
    from vloc.pipeline import TranslateOptions
    from vloc.summarizer.summarize import SummarizeOptions

    if executor not in ("local", "ray"):
        raise InputError(f"unknown --executor {executor!r}: use local or ray")
    if workers < 1:
        raise InputError(f"--workers must be >= 1, got {workers}")
    if weights == "random" and seed is None:
        raise InputError("--weights random needs --seed N (random weights are never implicit)")
    from vloc.features.execution import check_path

    check_path(backbone_path, fast=True, device=device, compile=compile)  # once, not per video
    task_list = parse_tasks(tasks)
    if style is not None:
        from vloc.style.profile_file import load_profile

        load_profile(style)  # a bad profile fails once, before any video
    if executor == "ray":
        from vloc.ray_executor import require_ray

        require_ray()
    decoder = E.decoder(
        engine_flags,
        model=model,
        strict=strict,
        allow_truncated=allow_truncated,
        backbone_path=backbone_path,
    )
    jobs = discover(source, reserved_names(out, report))  # no video named like the report
    _prepare_out(out)
    weights_folder = str(weights_dir) if weights_dir is not None else None
    options = BatchOptions(
        features=FeatureOptions(
            backbone=backbone or DEFAULT_BACKBONE,
            weights=weights,
            seed=seed,
            weights_dir=weights_folder,
            fps=fps,
            clip_len=clip_len,
            size=size,
            device=device,
            encoding=encoding,
            width=width,
            compile=compile,
            backbone_path=backbone_path,
            allow_truncated=allow_truncated,
        ),
        translate=TranslateOptions(
            to="",  # each task's
            decoder=decoder,
            encoding=encoding,
            device=device,
            style=style,
            memory=tuple(str(p) for p in memory),
        ),
        summarize=SummarizeOptions(
            model=model,
            device=device,
            backbone=backbone,  # None: the summarizer's recorded extractor
            weights=weights,
            weights_dir=weights_folder,
            encoding=encoding,
            strict=strict,
            allow_truncated=allow_truncated,
        ),
        encoder=encoder,
    )
    ui.info(f"{len(jobs)} videos, tasks {','.join(map(str, task_list))} → {out}")

    def on_result(r: JobResult, done: int, total: int) -> None:
        secs = sum(r.seconds.values())
        line = f"[{done}/{total}] {r.name}: {r.status} ({secs:.1f} s)"
        if r.error:
            line += f" — {r.error}"
        ui.info(line)
        for w in r.warnings:
            ui.warn(f"{r.name}: {w}")

    result = run_batch(
        jobs,
        task_list,
        out,
        options=options,
        executor=executor,
        workers=workers,
        address=address,
        report_path=report,
        source=str(source),
        on_result=on_result,
    )
    report_path = report or out / "report.json"
    summary = result["summary"]

    def render(con: Any) -> None:
        con.print(
            f"{summary['videos']} videos: {summary['ok']} ok, {summary['skipped']} already "
            f"complete, {summary['failed']} failed; "
            f"report: {report_path}",
            markup=False,
        )

    if json_output:
        import json
        import sys

        from vloc.redact import redact

        payload = {"ok": summary["failed"] == 0, "report": str(report_path), **result}
        sys.stdout.write(redact(json.dumps(payload, ensure_ascii=False)) + "\n")
    else:
        ui.result(result, render)
    if summary["failed"]:
        raise typer.Exit(EXIT_FAILURE)


def _prepare_out(out: Path) -> None:
    """Create the output root, or fail with one line naming it."""
    from vloc.errors import InputError

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create the output folder ({e.strerror or e})", path=out) from None
