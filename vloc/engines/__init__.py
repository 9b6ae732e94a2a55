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

from collections.abc import Callable

from vloc.engines.base import (
    BatchRequest,
    BatchResult,
    Engine,
    EngineError,
    Line,
    Usage,
)
from vloc.engines.options import CONTEXTS, ENGINES, EngineOptions, resolve
from vloc.fileio import file_fingerprint, stable_hash

WarnFn = Callable[[str], None]


def open_engine(
    options: EngineOptions, *, device: str = "cpu", warn: WarnFn | None = None
) -> Engine:
    """The engine ``options`` name, ready to translate."""
    from vloc.engines.prompts import template_hash

    options.check()
    if options.kind == "openai":
        from vloc.engines.llm import LLMEngine
        from vloc.engines.openai_api import EndpointSettings, OpenAIBackend

        settings = EndpointSettings(
            base_url=str(options.base_url),
            model=str(options.model),
            api_key_env=options.api_key_env,
            timeout_s=options.timeout_s,
            max_retries=options.max_retries,
            seed=options.seed,
            images=options.images,
        )
        identity = stable_hash(
            {
                "kind": "openai",
                "url": settings.base_url.rstrip("/"),
                "model": settings.model,
                "prompt": template_hash(),
                "decoding": [settings.temperature, settings.seed, settings.repeat_penalty],
                "images": settings.images,
            }
        )
        return LLMEngine(
            "openai",
            settings.model,
            identity,
            OpenAIBackend(settings),
            image_urls=_image_urls,
            warn=warn,
        )
    if options.kind == "gguf":
        from pathlib import Path

        from vloc.engines.gguf import GGUFSettings, LlamaCppBackend, check_model_file
        from vloc.engines.llm import LLMEngine

        path = check_model_file(str(options.model))
        settings = GGUFSettings(
            path=path, n_ctx=options.n_ctx, threads=options.threads, seed=options.seed
        )
        identity = stable_hash(
            {
                "kind": "gguf",
                "model": file_fingerprint(path),
                "prompt": template_hash(),
                "decoding": [settings.temperature, settings.seed, settings.repeat_penalty],
                "n_ctx": settings.n_ctx,
            }
        )
        return LLMEngine("gguf", Path(path).name, identity, LlamaCppBackend(settings), warn=warn)
    if options.kind == "seq2seq":
        from vloc.engines.seq2seq import Seq2SeqEngine

        return Seq2SeqEngine.from_options(
            options, device=device, allow_download=options.download, warn=warn
        )
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
    "Line",
    "Usage",
    "open_engine",
    "resolve",
]
