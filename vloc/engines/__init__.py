"""Translation engines behind ``vloc translate --engine``: one interface, the film's context.

* ``openai`` — any OpenAI-compatible chat endpoint (:mod:`vloc.engines.openai_api`).
* ``gguf`` — a local GGUF model in-process with llama-cpp-python (:mod:`vloc.engines.gguf`).
* ``seq2seq`` — a pretrained encoder–decoder MT model (:mod:`vloc.engines.seq2seq`).

(vloc's own translator, the default of ``--engine``, is not an engine: :mod:`vloc.translator`;
both decoders sit under the film-level job, :mod:`vloc.pipeline`.)

The LLM engines share prompts (:mod:`~vloc.engines.prompts`), reply validation
(:mod:`~vloc.engines.replies`) and the re-ask/halve loop (:mod:`~vloc.engines.llm`); every
engine runs under the same batch loop with the film-wide context, journal and resume
(:mod:`~vloc.engines.runner`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from vloc.engines.base import (
    BatchRequest,
    BatchResult,
    Engine,
    EngineError,
    Line,
    Usage,
)
from vloc.engines.gguf import GGUFSettings
from vloc.engines.openai_api import OpenAISettings
from vloc.engines.options import CONTEXTS, ENGINES, EngineOptions, resolve
from vloc.engines.seq2seq import Seq2SeqSettings
from vloc.fileio import file_fingerprint, stable_hash

WarnFn = Callable[[str], None]


def open_engine(
    options: EngineOptions, *, device: str = "cpu", warn: WarnFn | None = None
) -> Engine:
    """The engine ``options`` name, ready to translate: its backend's settings are passed to
    it as they are (``device`` is the run's, for the seq2seq engine)."""
    from vloc.engines.prompts import template_hash

    options.check()
    settings = options.backend
    if isinstance(settings, OpenAISettings):
        from vloc.engines.llm import LLMEngine
        from vloc.engines.openai_api import OpenAIBackend

        identity = stable_hash(
            {
                "kind": "openai",
                "url": str(settings.base_url).rstrip("/"),
                "model": settings.model,
                "prompt": template_hash(),
                "decoding": [settings.temperature, settings.seed, settings.repeat_penalty],
                "images": settings.images,
            }
        )
        return LLMEngine(
            "openai",
            str(settings.model),
            identity,
            OpenAIBackend(settings),
            image_urls=_image_urls,
            warn=warn,
        )
    if isinstance(settings, GGUFSettings):
        from vloc.engines.gguf import LlamaCppBackend, check_model_file
        from vloc.engines.llm import LLMEngine

        path = check_model_file(settings.path)
        identity = stable_hash(
            {
                "kind": "gguf",
                "model": file_fingerprint(path),
                "prompt": template_hash(),
                "decoding": [settings.temperature, settings.seed, settings.repeat_penalty],
                "n_ctx": settings.n_ctx,
            }
        )
        return LLMEngine("gguf", path.name, identity, LlamaCppBackend(settings), warn=warn)
    if isinstance(settings, Seq2SeqSettings):
        from vloc.engines.seq2seq import Seq2SeqEngine

        return Seq2SeqEngine(dataclasses.replace(settings, device=device), warn=warn)
    raise EngineError(f"engine {options.kind!r} is not opened through vloc.engines")


def _image_urls(request: BatchRequest) -> list[str]:
    from vloc.engines.frames import data_url

    return [data_url(x) for x in request.images]


__all__ = [
    "CONTEXTS",
    "ENGINES",
    "BatchRequest",
    "BatchResult",
    "Engine",
    "EngineError",
    "EngineOptions",
    "GGUFSettings",
    "Line",
    "OpenAISettings",
    "Seq2SeqSettings",
    "Usage",
    "open_engine",
    "resolve",
]
