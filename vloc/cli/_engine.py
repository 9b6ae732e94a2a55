"""The engine options shared by ``vloc translate``, ``vloc summarize``, ``vloc batch`` and
``vloc eval translate``.

Each command names the engine flags it takes with :func:`flags` (``--engine`` and the options
below, declared where the command's ``engine_flags: dict[str, Any] = E.HERE`` parameter stands;
the command receives their values as that one dict), then calls :func:`from_params` with them;
flags left out fall back to ``$VLOC_HOME/engines.toml``, then to the defaults of
:class:`vloc.engines.options.EngineOptions` and its backend's settings class.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
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

# a command's ``engine_flags`` parameter: :func:`flags` declares the engine flags in its place
HERE: Any = None
# what :func:`flags` may declare: parameter name → (its type, its option)
OPTIONS: dict[str, tuple[Any, Any]] = {
    "engine": (str | None, ENGINE),
    "base_url": (str | None, BASE_URL),
    "api_key_env": (str | None, API_KEY_ENV),
    "images": (bool | None, IMAGES),
    "batch_cues": (int | None, BATCH_CUES),
    "context": (str | None, CONTEXT),
    "related": (int | None, RELATED),
    "previous": (int | None, PREVIOUS),
    "lag": (int | None, LAG),
    "concurrency": (int | None, CONCURRENCY),
    "frames": (int | None, FRAMES),
    "frame_select": (str | None, FRAME_SELECT),
    "glossary": (Path | None, GLOSSARY),
    "synopsis": (str | None, SYNOPSIS),
    "punctuation": (str | None, PUNCTUATION),
    "source_lang": (str | None, SOURCE_LANG),
    "timeout": (float | None, TIMEOUT),
    "retries": (int | None, RETRIES),
    "n_ctx": (int | None, N_CTX),
    "threads": (int | None, THREADS),
}
# the flags every engine command takes: the endpoint first, the request limits last
ENDPOINT = ("base_url", "api_key_env")
LIMITS = ("timeout", "retries", "n_ctx", "threads")
# how translation engines batch and see the film (translate, batch, eval translate)
BATCHING = ("batch_cues", "context", "related", "previous", "lag", "concurrency")


def flags(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare ``--engine`` and the engine flags ``names`` (keys of :data:`OPTIONS`, in this
    order) on a command, where its ``engine_flags`` parameter stands; the command receives
    their values as that one dict (name → value), e.g. for :func:`from_params`."""
    declared = ("engine", *names)
    unknown = [n for n in declared if n not in OPTIONS]
    if unknown:
        raise ValueError(f"unknown engine flags {unknown}")

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            engine_flags = {name: kwargs.pop(name) for name in declared}
            return fn(*args, engine_flags=engine_flags, **kwargs)

        sig = inspect.signature(fn)
        params = list(sig.parameters.values())
        at = [p.name for p in params].index("engine_flags")
        added = [
            inspect.Parameter(
                name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=OPTIONS[name][1],
                annotation=OPTIONS[name][0],
            )
            for name in declared
        ]  # fmt: skip
        wrapper.__signature__ = sig.replace(  # type: ignore[attr-defined]
            parameters=[*params[:at], *added, *params[at + 1 :]]
        )
        return wrapper

    return decorate


# what :func:`engine_options` sets: flag name → field of EngineOptions or of its backend's
# settings, e.g. OpenAISettings (``source_lang`` is the subtitles' language, not the engine's;
# ``beam`` is the command's own)
FIELDS = {
    "model": "model",
    **{name: name for name in OPTIONS if name not in ("engine", "source_lang")},
    "timeout": "timeout_s",
    "retries": "max_retries",
    "beam": "beam_size",
}


def engine_options(*, engine: str | None, model: str | None, **flags: Any) -> Any:
    """:class:`~vloc.engines.options.EngineOptions` from the flags over the config file
    (:func:`vloc.engines.options.resolve`); ``flags``: any of :data:`FIELDS` (None or left
    out: not given)."""
    from vloc.engines.options import resolve

    unknown = sorted(set(flags) - set(FIELDS))
    if unknown:
        raise TypeError(f"unknown engine flags {unknown}")
    given = {**flags, "model": model}
    if given.get("glossary") is not None:
        given["glossary"] = str(given["glossary"])
    return resolve({"kind": engine, **{f: given.get(name) for name, f in FIELDS.items()}})


def from_params(params: dict[str, Any], **overrides: Any) -> Any:
    """:func:`engine_options` from a command's ``engine_flags`` (see :func:`flags`): the engine
    flags it declares, the others left to the config file and defaults; ``overrides`` win."""
    values = {**params, **overrides}
    return engine_options(**{k: v for k, v in values.items() if k in FIELDS or k == "engine"})


def chosen(params: dict[str, Any]) -> str:
    """What ``--engine`` picks (the flag, else ``engines.toml``'s ``engine``, else ``vloc``)."""
    from vloc.engines.options import chosen_engine

    return chosen_engine(params.get("engine"))


def decoder(params: dict[str, Any], *, model: str | None, **own: Any) -> Any:
    """The translate decoder the flags name: vloc's own model
    (:class:`~vloc.translator.options.OwnModel` with ``model`` and the ``own`` settings) or an
    engine's options (:func:`from_params`)."""
    kind = chosen(params)
    if kind == "vloc":
        from vloc.translator.options import OwnModel

        return OwnModel(model=model, **own)
    return from_params(params, engine=kind, model=model)
