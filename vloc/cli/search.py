"""`vloc search QUERY --index PATH [PATH ...] [--by said|seen|both]`: moments across indexed
videos, best first, by what is said (subtitles), seen (clip embeddings of an align model) or
both (fused by evidence, vloc.search)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from vloc.cli._ui import JSON_OPTION, UI, command, usage_error


def timestamp(ms: int) -> str:
    """Milliseconds → ``hh:mm:ss.mmm``."""
    h, rest = divmod(int(ms), 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


@command
def search(
    query: str = typer.Argument(..., help="What to look for (any language the encoder knows)."),
    more: list[Path] = typer.Argument(
        None, help="More index paths (as in --index A B C).", show_default=False
    ),
    index: list[Path] = typer.Option(
        None,
        "--index",
        help="Index folder, video workspace, or folder of workspaces (repeatable).",
    ),
    top_k: int = typer.Option(10, "--top-k", "-k", min=1, help="Number of moments to show."),
    encoder: str = typer.Option(
        None, "--encoder", help="Query encoder (default: the one recorded in the indexes)."
    ),
    by: str = typer.Option(
        "said",
        "--by",
        help="said: the subtitles | seen: what is shown (indexes built with --align) | both: "
        "the two fused, each moment by its stronger evidence (cosine above the query's mean).",
    ),
    align: str = typer.Option(
        None,
        "--align",
        help="Align model or clip:NAME for --by seen|both (default: the indexes' own; CLIP "
        "queries are English only).",
    ),
    json_output: bool = JSON_OPTION,
    *,
    ui: UI,
) -> None:
    """Search moments across indexed videos by what is said, seen, or both."""
    from vloc.search import BY
    from vloc.search import search as run_search

    paths = [*(index or []), *(more or [])]
    if not paths:
        usage_error(ui, "give at least one index path: --index PATH [PATH ...]")
    if by not in BY:
        usage_error(ui, f"--by must be one of {', '.join(BY)}, got {by!r}")
    res = run_search(query, paths, top_k=top_k, encoder=encoder, by=by, align=align)
    out = {
        "query": res.query,
        "by": res.by,
        "align": res.align,
        "encoder": res.encoder,
        "indexes": res.indexes,
        "videos": res.videos,
        "cues": res.cues,
        "load_seconds": round(res.load_seconds, 3),
        "query_seconds": round(res.query_seconds, 4),
        "hits": [
            {
                "video": h.video,
                "subtitles": h.subtitles,
                "cue": h.cue,
                "start": timestamp(h.start_ms),
                "end": timestamp(h.end_ms),
                "start_ms": h.start_ms,
                "end_ms": h.end_ms,
                "text": h.text,
                "score": round(h.score, 4 if h.source != "both" else 6),
                "index": h.index_folder,
                "source": h.source,
                **(
                    {"said_rank": h.said_rank, "seen_rank": h.seen_rank}
                    if h.source == "both"
                    else {}
                ),
            }
            for h in res.hits
        ],
    }

    def render(con: Console) -> None:
        from rich.table import Table

        where = f"{res.videos} video{'s' * (res.videos != 1)}"
        if res.indexes != res.videos:
            where += f" ({res.indexes} indexes)"
        table = Table(title=f"{len(res.hits)} moments in {where} for {query!r} (by {res.by})")
        table.add_column("score", no_wrap=True, justify="right")
        table.add_column("video", overflow="fold")
        table.add_column("start – end", no_wrap=True)
        table.add_column("#", no_wrap=True, justify="right")
        table.add_column("text", overflow="fold", ratio=1)
        for h in res.hits:
            table.add_row(
                f"{h.score:.3f}" if h.source != "both" else f"{h.score:.4f}",
                h.video,
                f"{timestamp(h.start_ms)} – {timestamp(h.end_ms)}",
                str(h.cue),
                h.text,
            )
        con.print(table)

    ui.result(out, render)
