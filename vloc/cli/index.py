"""`vloc index VIDEO SUBS [--align MODEL|clip:NAME]`: embed every cue and store a FAISS index in
the video's workspace; with an align model, also the projected clip embeddings, with a CLIP
model its image tower's frame embeddings (search --by seen)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from vloc.cli._ui import JSON_OPTION, UI, command


@command
def index(
    video: Path = typer.Argument(..., help="The video (names the workspace; not decoded)."),
    subtitles: Path = typer.Argument(..., help="Its subtitles (SRT or WebVTT)."),
    encoder: str = typer.Option(
        None,
        "--encoder",
        help=(
            "Sentence encoder: use-multilingual-v3 (default, 16 languages), all-MiniLM-L6-v2 "
            "(English), or a sentence-transformers name or folder."
        ),
    ),
    encoding: str = typer.Option(
        None, "--encoding", help="Subtitle text encoding (e.g. gbk) (default: detect it)."
    ),
    workdir: Path = typer.Option(
        None, "--workdir", help="Folder for workspaces (default: beside the video)."
    ),
    force: bool = typer.Option(False, "--force", help="Rebuild even when the index is up to date."),
    align: str = typer.Option(
        None,
        "--align",
        help="Align model (name or folder, from 'vloc train align'), or clip:NAME (a CLIP model "
        "folder or hub name in the offline model cache; English-only queries): also store clip "
        "embeddings so that 'vloc search --by seen|both' finds what is shown.",
    ),
    clips: str = typer.Option(
        "cues",
        "--clips",
        help="With --align: cues (one clip per cue) | stride (fixed clips; not with clip:NAME).",
    ),
    json_output: bool = JSON_OPTION,
    *,
    ui: UI,
) -> None:
    """Index the subtitles of a video for retrieval and search (cached by content hash)."""
    from vloc.index import build_index

    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = ui.progress(total, "embedding cues", "cues").__enter__()
        bar.advance(done - bar.done)

    try:
        res = build_index(
            video,
            subtitles,
            encoder=encoder,
            encoding=encoding,
            workdir=workdir,
            force=force,
            progress=progress,
            warn=ui.warn,
            align=align,
            clips=clips,
        )
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    for w in res.warnings:
        ui.warn(w)
    m = res.index.manifest
    rate = res.index.size / res.embed_seconds if res.embed_seconds > 0 else None
    out = {
        "video": str(video),
        "subtitles": str(subtitles),
        "index": str(res.folder),
        "cached": res.cached,
        "reason": res.reason,
        "cues": res.index.size,
        "encoder": res.index.encoder_name,
        "encoder_sha256": res.index.encoder_sha256,
        "dim": res.index.dim,
        "seconds": round(res.seconds, 3),
        "cues_per_second": None if rate is None else round(rate, 1),
        "subtitle_encoding": m["subtitles"].get("encoding"),
        "clips": None
        if res.index.clips is None
        else {
            "count": res.index.clips.size,
            "kind": res.index.clips.info.get("kind"),
            "align": res.index.clips.align_name,
            "align_sha256": res.index.clips.align_sha256,
        },
    }

    def render(con: Console) -> None:
        what = "up to date" if res.cached else f"built ({res.reason})"
        speed = f", {rate:.0f} cues/s" if rate else ""
        con.print(
            f"{res.index.size} cues indexed with {res.index.encoder_name} "
            f"({res.index.dim}-d): {what} in {res.seconds:.2f} s{speed}\n{res.folder}"
        )
        if res.index.clips is not None:
            what = "CLIP" if res.index.clips.info["align"].get("kind") == "clip" else "align"
            con.print(
                f"{res.index.clips.size} clips embedded with {what} model "
                f"{res.index.clips.align_name}"
            )

    ui.result(out, render)
