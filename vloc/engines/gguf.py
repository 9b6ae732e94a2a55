"""A chat backend running a local GGUF model in-process with llama-cpp-python (``vloc[gguf]``).

Same prompts and reply schema as the ``openai`` engine, no server: the schema becomes a
llama.cpp grammar, so the reply always has exactly the batch's keys. A model with a chat
template in its metadata gets the chat messages. A base model (no template, e.g. Gemma 3 270M)
copies a JSON batch instead of translating it, so it translates line by line after parallel
examples (:func:`vloc.engines.prompts.few_shot_prefix`): the film's context — glossary terms,
related and previous lines with their translations — becomes those examples
(:meth:`LlamaCppBackend.complete_line`). Greedy decoding (temperature 0) with a fixed seed and a
repeat penalty. One model instance serves the whole run; calls are serialised (llama.cpp
contexts are not thread-safe), so ``--concurrency`` gives no speed-up with this engine.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from vloc.engines.base import EngineError, Usage
from vloc.errors import InputError

DEFAULT_CONTEXT = 4096  # tokens: the stable prefix, ~30 related and previous lines and a batch
INSTALL_HINT = (
    'install the optional runtime: pip install "vloc[gguf]" (llama-cpp-python builds from '
    'source; on CPUs that advertise instructions they cannot run, build it with CMAKE_ARGS="-DGGML_NATIVE=OFF")'
)


@dataclass(frozen=True)
class GGUFSettings:
    """How to run the local model (``--engine gguf``; the ``[gguf]`` table of engines.toml)."""

    kind: ClassVar[str] = "gguf"
    temperature: ClassVar[float] = 0.0  # greedy
    repeat_penalty: ClassVar[float] = 1.1

    model: str | None = None  # the .gguf file; required to open the model
    n_ctx: int = DEFAULT_CONTEXT  # context window in tokens
    threads: int | None = None  # CPU threads (None: all cores)
    seed: int = 0

    @property
    def path(self) -> Path:
        """The .gguf file (``~`` expanded)."""
        return Path(self.model or "").expanduser()

    def check(self) -> None:
        """Refuse a value that cannot work (one line naming its flag)."""
        if self.n_ctx < 1:
            raise InputError("--n-ctx must be at least 1")
        if self.threads is not None and self.threads < 1:
            raise InputError("--threads must be at least 1")


def check_model_file(path: str | Path) -> Path:
    """A readable GGUF file, or one clear error naming it."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise InputError("GGUF model not found (pass --model PATH.gguf)", path=p)
    try:
        with open(p, "rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise InputError(f"cannot read the model: {e.strerror or e}", path=p) from None
    if magic != b"GGUF":
        raise InputError("not a GGUF model file (its first bytes are not 'GGUF')", path=p)
    return p


class LlamaCppBackend:
    """llama.cpp in this process (see the module docstring)."""

    accepts_images = False

    def __init__(self, settings: GGUFSettings) -> None:
        path = check_model_file(settings.path)
        try:
            from llama_cpp import Llama
        except ImportError:
            raise EngineError(f"the gguf engine needs llama-cpp-python: {INSTALL_HINT}") from None
        self.settings = settings
        self._lock = threading.Lock()
        try:
            self.llm = Llama(
                model_path=str(path),
                n_ctx=settings.n_ctx,
                n_threads=settings.threads or os.cpu_count() or 1,
                seed=settings.seed,
                verbose=False,
            )
        except (ValueError, RuntimeError) as e:
            raise EngineError(f"{path}: llama.cpp cannot load this model: {e}") from None
        # a base model has no chat template: it translates line by line after examples
        self.chat = bool(self.llm.metadata.get("tokenizer.chat_template"))
        self.base_model = not self.chat

    def close(self) -> None:
        llm = getattr(self, "llm", None)
        if llm is not None and hasattr(llm, "close"):
            llm.close()

    def complete(
        self, messages: list[dict[str, Any]], *, schema: dict[str, Any], max_tokens: int
    ) -> tuple[str, Usage]:
        s = self.settings
        with self._lock:
            try:
                if self.chat:
                    out = self.llm.create_chat_completion(
                        messages=messages,
                        response_format={"type": "json_object", "schema": schema},
                        temperature=s.temperature,
                        seed=s.seed,
                        repeat_penalty=s.repeat_penalty,
                        max_tokens=max_tokens,
                    )
                    text = out["choices"][0]["message"]["content"] or ""
                else:
                    from llama_cpp import LlamaGrammar

                    out = self.llm.create_completion(
                        completion_prompt(messages),
                        grammar=LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False),
                        temperature=s.temperature,
                        seed=s.seed,
                        repeat_penalty=s.repeat_penalty,
                        max_tokens=max_tokens,
                    )
                    text = out["choices"][0]["text"] or ""
            except ValueError as e:  # e.g. the prompt exceeds the context window
                raise EngineError(
                    f"{s.path.name}: {e} (raise --n-ctx or lower --batch-cues)"
                ) from None
        usage = _usage(out)
        return text, usage

    def complete_line(
        self, prompt: str, *, max_tokens: int, forbid_newline: bool = False
    ) -> tuple[str, Usage]:
        """One line continuing ``prompt`` (stops at the end of the line); llama.cpp reuses the
        evaluated prefix that consecutive prompts share, so the examples are read once.
        ``forbid_newline``: the newline token may not be sampled (for a model that answered
        with an empty line: it then writes until ``max_tokens``)."""
        s = self.settings
        bias = None
        if forbid_newline:
            bias = {t: -100.0 for t in self.llm.tokenize(b"\n", add_bos=False, special=False)}
        with self._lock:
            try:
                out = self.llm.create_completion(
                    prompt,
                    temperature=s.temperature,
                    seed=s.seed,
                    repeat_penalty=s.repeat_penalty,
                    max_tokens=max_tokens,
                    stop=["\n"],
                    logit_bias=bias,
                )
            except ValueError as e:
                raise EngineError(
                    f"{s.path.name}: {e} (raise --n-ctx or lower --related/--previous)"
                ) from None
        usage = _usage(out)
        return (out["choices"][0]["text"] or "").strip(), usage


def _usage(out: dict[str, Any]) -> Usage:
    """The token counts llama.cpp reports for one completion."""
    u = out.get("usage") or {}
    return Usage(
        prompt_tokens=int(u.get("prompt_tokens") or 0),
        completion_tokens=int(u.get("completion_tokens") or 0),
        requests=1,
    )


def completion_prompt(messages: list[dict[str, Any]]) -> str:
    """A chat flattened into one few-shot completion prompt, for base models that have no
    chat template: the system text, then each turn, each assistant turn as ``Reply: ...``,
    ending with ``Reply:`` for the model to continue."""
    parts = []
    for m in messages:
        content = m["content"]
        if isinstance(content, list):  # text parts only: no images for a local base model
            content = "\n".join(p.get("text", "") for p in content if p.get("type") == "text")
        parts.append(f"Reply: {content}" if m["role"] == "assistant" else content)
    return "\n\n".join(parts) + "\n\nReply: "
