"""The registry's ``engine`` kind: which engines ``--engine`` takes, and the options that build
one from the flags over ``$VLOC_HOME/engines.toml`` over the defaults."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vloc import registry
from vloc.cli._engine import engine_options
from vloc.engines.options import ENGINES, LLM_ENGINES, EngineOptions
from vloc.errors import InputError


def _config(text: str) -> Path:
    path = Path(os.environ["VLOC_HOME"]) / "engines.toml"  # conftest's isolated home
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_engine_kinds_are_the_registrys():
    assert ENGINES == tuple(registry.ENGINE_KINDS) == ("vloc", "openai", "gguf", "seq2seq")
    assert LLM_ENGINES == registry.engine_kinds(llm_only=True) == ("openai", "gguf")
    assert registry.engine_kinds() == ("openai", "gguf", "seq2seq")


def test_resolve_engine_reads_the_config_file_under_the_flags():
    _config(
        'engine = "seq2seq"\n[seq2seq]\nmodel = "Helsinki-NLP/opus-mt-en-zh"\nbeam_size = 2\n'
        '[gguf]\nmodel = "/models/q.gguf"\n'
    )
    default = registry.resolve("engine", None)
    assert isinstance(default, EngineOptions)
    assert (default.kind, default.model, default.beam_size) == (
        "seq2seq",
        "Helsinki-NLP/opus-mt-en-zh",
        2,
    )
    flagged = registry.resolve("engine", "seq2seq", flags={"beam_size": 6, "model": None})
    assert (flagged.model, flagged.beam_size) == ("Helsinki-NLP/opus-mt-en-zh", 6)
    gguf = registry.resolve("engine", "gguf")
    assert (gguf.kind, gguf.model) == ("gguf", "/models/q.gguf")
    # the command line's path: the same options
    assert engine_options(engine=None, model=None) == default
    assert engine_options(engine="gguf", model="/other.gguf").model == "/other.gguf"


def test_refusals_name_the_flag_as_before():
    with pytest.raises(InputError, match=r"^--engine 'bogus'; valid: vloc, openai, gguf, seq2seq$"):
        registry.resolve("engine", "bogus")
    with pytest.raises(InputError) as e:
        registry.resolve("engine", "gguf")
    assert str(e.value).startswith(
        "--engine gguf needs --model (the server's model id, a .gguf file or a seq2seq model "
        "name) or model in "
    )
    with pytest.raises(InputError, match="needs --base-url"):
        registry.resolve("engine", "openai", flags={"model": "tiny"})
    _config('[openai]\napi_key = "sk-1"\n')
    with pytest.raises(InputError, match="api_key_env") as e:
        registry.resolve("engine", "openai", flags={"model": "tiny", "base_url": "http://x/v1"})
    assert "sk-1" not in str(e.value)
