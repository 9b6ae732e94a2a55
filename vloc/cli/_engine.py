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

# what :func:`flags` may declare: parameter name → (its type, its flag, its help); each is a
# typer option with default None (not given: the config file's value, else the default)
DECLARED: dict[str, tuple[Any, str, str]] = {
    "engine": (
        str | None,
        "--engine",
        "vloc (vloc's own model, default) | openai (any OpenAI-compatible endpoint) | gguf "
        "(a local .gguf with llama-cpp-python) | seq2seq (a pretrained MT model).",
    ),
    "base_url": (str | None, "--base-url", "openai: the endpoint, e.g. http://127.0.0.1:11434/v1."),
    "api_key_env": (
        str | None,
        "--api-key-env",
        "openai: NAME of the environment variable holding the API key (default VLOC_API_KEY); "
        "the key itself is never passed on the command line.",
    ),
    "images": (
        bool | None,
        "--images/--no-images",
        "openai: the model takes images (attach keyframes).",
    ),
    "batch_cues": (int | None, "--batch-cues", "Engines: consecutive cues per request (20)."),
    "context": (
        str | None,
        "--context",
        "Engines: global (related lines from the whole film + previous lines, default) | "
        "window (previous lines) | none.",
    ),
    "related": (int | None, "--related", "Engines: retrieved lines per cue, P (10)."),
    "previous": (int | None, "--previous", "Engines: lines before the batch shown (5)."),
    "lag": (
        int | None,
        "--lag",
        "Engines: a batch sees translations of batches ending at least this many batches "
        "before it (1); --concurrency overlaps at most this many.",
    ),
    "concurrency": (int | None, "--concurrency", "openai: batches in flight (1)."),
    "frames": (int | None, "--frames", "Engines taking images: keyframes per batch, K (0)."),
    "frame_select": (
        str | None,
        "--frame-select",
        "text (relevance to the batch's lines, default) | uniform.",
    ),
    "glossary": (
        Path | None,
        "--glossary",
        "TSV of terms: source<TAB>target[<TAB>note]; reported per term.",
    ),
    "synopsis": (str | None, "--synopsis", "What the film is about (text, or @file)."),
    "punctuation": (
        str | None,
        "--punctuation",
        "Engines: subtitle (the target's subtitle punctuation; Chinese: no 。/，, a space "
        "between clauses; default) | keep (as the engine wrote it).",
    ),
    "source_lang": (
        str | None,
        "--from",
        "Engines: the subtitles' language (default: from film.<lang>.srt).",
    ),
    "timeout": (float | None, "--timeout", "openai: seconds per request (120)."),
    "retries": (int | None, "--retries", "openai: retries on 429/5xx/timeouts (5)."),
    "n_ctx": (int | None, "--n-ctx", "gguf: context window in tokens (4096)."),
    "threads": (int | None, "--threads", "gguf/seq2seq: CPU threads (default: all)."),
}

# a command's ``engine_flags`` parameter: :func:`flags` declares the engine flags in its place
HERE: Any = None
# parameter name → (its type, its typer option)
OPTIONS: dict[str, tuple[Any, Any]] = {
    name: (kind, typer.Option(None, flag, help=help))
    for name, (kind, flag, help) in DECLARED.items()
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
