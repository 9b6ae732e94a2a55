"""The engine options shared by ``vloc translate``, ``vloc batch`` and ``vloc eval translate``.

Each command declares the parameters below (``engine: str | None = ENGINE``, ...) and calls
:func:`engine_options` with them; flags left out fall back to ``$VLOC_HOME/engines.toml``,
then to the defaults of :class:`vloc.engines.options.EngineOptions`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

ENGINE = typer.Option(
    None,
    "--engine",
    help="vloc (vloc's own model, default) | openai (any OpenAI-compatible endpoint) | gguf "
    "(a local .gguf with llama-cpp-python) | seq2seq (a pretrained MT model).",
)
BASE_URL = typer.Option(
    None, "--base-url", help="openai: the endpoint, e.g. http://127.0.0.1:11434/v1."
)
API_KEY_ENV = typer.Option(
    None,
    "--api-key-env",
    help="openai: NAME of the environment variable holding the API key (default VLOC_API_KEY); "
    "the key itself is never passed on the command line.",
)
IMAGES = typer.Option(
    None, "--images/--no-images", help="openai: the model takes images (attach keyframes)."
)
BATCH_CUES = typer.Option(None, "--batch-cues", help="Engines: consecutive cues per request (20).")
CONTEXT = typer.Option(
    None,
    "--context",
    help="Engines: global (related lines from the whole film + previous lines, default) | "
    "window (previous lines) | none.",
)
RELATED = typer.Option(None, "--related", help="Engines: retrieved lines per cue, P (10).")
PREVIOUS = typer.Option(None, "--previous", help="Engines: lines before the batch shown (5).")
LAG = typer.Option(
    None,
    "--lag",
    help="Engines: a batch sees translations of batches ending at least this many batches "
    "before it (1); --concurrency overlaps at most this many.",
)
CONCURRENCY = typer.Option(None, "--concurrency", help="openai: batches in flight (1).")
FRAMES = typer.Option(None, "--frames", help="Engines taking images: keyframes per batch, K (0).")
FRAME_SELECT = typer.Option(
    None, "--frame-select", help="text (relevance to the batch's lines, default) | uniform."
)
GLOSSARY = typer.Option(
    None, "--glossary", help="TSV of terms: source<TAB>target[<TAB>note]; reported per term."
)
SYNOPSIS = typer.Option(None, "--synopsis", help="What the film is about (text, or @file).")
PUNCTUATION = typer.Option(
    None,
    "--punctuation",
    help="Engines: subtitle (the target's subtitle punctuation; Chinese: no 。/，, a space "
    "between clauses; default) | keep (as the engine wrote it).",
)
SOURCE_LANG = typer.Option(
    None, "--from", help="Engines: the subtitles' language (default: from film.<lang>.srt)."
)
TIMEOUT = typer.Option(None, "--timeout", help="openai: seconds per request (120).")
RETRIES = typer.Option(None, "--retries", help="openai: retries on 429/5xx/timeouts (5).")
N_CTX = typer.Option(None, "--n-ctx", help="gguf: context window in tokens (4096).")
THREADS = typer.Option(None, "--threads", help="gguf/seq2seq: CPU threads (default: all).")


def engine_options(
    *,
    engine: str | None,
    model: str | None,
    base_url: str | None = None,
    api_key_env: str | None = None,
    images: bool | None = None,
    batch_cues: int | None = None,
    context: str | None = None,
    related: int | None = None,
    previous: int | None = None,
    lag: int | None = None,
    concurrency: int | None = None,
    frames: int | None = None,
    frame_select: str | None = None,
    glossary: Path | None = None,
    synopsis: str | None = None,
    punctuation: str | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    n_ctx: int | None = None,
    threads: int | None = None,
    beam: int | None = None,
) -> Any:
    """:class:`~vloc.engines.options.EngineOptions` from the flags over the config file
    (the registry's ``engine`` kind, :func:`vloc.registry.resolve`)."""
    from vloc.registry import resolve

    flags = {
        "model": model,
        "base_url": base_url,
        "api_key_env": api_key_env,
        "images": images,
        "batch_cues": batch_cues,
        "context": context,
        "related": related,
        "previous": previous,
        "lag": lag,
        "concurrency": concurrency,
        "frames": frames,
        "frame_select": frame_select,
        "glossary": str(glossary) if glossary is not None else None,
        "synopsis": synopsis,
        "punctuation": punctuation,
        "timeout_s": timeout,
        "max_retries": retries,
        "n_ctx": n_ctx,
        "threads": threads,
        "beam_size": beam,
    }
    return resolve("engine", engine, flags=flags)


# the engine parameters a command may declare (``beam`` stays the command's own)
FLAGS = (
    "engine", "model", "base_url", "api_key_env", "images", "batch_cues", "context", "related",
    "previous", "lag", "concurrency", "frames", "frame_select", "glossary", "synopsis",
    "punctuation", "timeout", "retries", "n_ctx", "threads",
)  # fmt: skip


def from_params(params: dict[str, Any], **overrides: Any) -> Any:
    """:func:`engine_options` from a command's parameters (``locals()``): the engine flags it
    declares, the others left to the config file and defaults; ``overrides`` win."""
    values = {name: params.get(name) for name in FLAGS}
    values.update(overrides)
    return engine_options(**values)
