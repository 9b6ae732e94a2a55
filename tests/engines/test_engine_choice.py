"""Which decoder ``--engine`` picks (vloc's own translator or a pretrained engine), and the
engine options built from the flags over ``$VLOC_HOME/engines.toml`` over the defaults."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vloc import catalogue
from vloc.cli._engine import decoder, engine_options
from vloc.engines.options import (
    DECODERS,
    ENGINES,
    LLM_ENGINES,
    EngineOptions,
    chosen_engine,
    resolve,
)
from vloc.errors import InputError
from vloc.translator.options import OwnModel


def _config(text: str) -> Path:
    path = Path(os.environ["VLOC_HOME"]) / "engines.toml"  # conftest's isolated home
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_engine_kinds_are_the_catalogues_and_vloc_is_not_one():
    assert ENGINES == tuple(catalogue.ENGINE_KINDS) == ("openai", "gguf", "seq2seq")
    assert LLM_ENGINES == catalogue.engine_kinds(llm_only=True) == ("openai", "gguf")
    assert catalogue.engine_kinds() == ENGINES
    assert DECODERS == ("vloc", *ENGINES)
    with pytest.raises(InputError, match="vloc's own translator, not a pretrained engine"):
        resolve({"kind": "vloc"})


def test_the_default_decoder_is_the_own_model_unless_the_config_file_names_an_engine():
    assert chosen_engine(None) == "vloc"
    own = decoder({"engine": None}, model="synth-en-zh", beam_size=3)
    assert own == OwnModel(model="synth-en-zh", beam_size=3)
    _config('engine = "gguf"\n[gguf]\nmodel = "/models/q.gguf"\n')
    assert chosen_engine(None) == "gguf"
    engine = decoder({"engine": None}, model=None, beam_size=3)
    assert isinstance(engine, EngineOptions) and (engine.kind, engine.model) == (
        "gguf",
        "/models/q.gguf",
    )
    # --engine vloc given: the config file is not even read (a broken one does not matter)
    _config("engine = [\n")
    assert decoder({"engine": "vloc"}, model=None) == OwnModel()


def test_resolve_engine_reads_the_config_file_under_the_flags():
    _config(
        'engine = "seq2seq"\n[seq2seq]\nmodel = "Helsinki-NLP/opus-mt-en-zh"\nbeam_size = 2\n'
        '[gguf]\nmodel = "/models/q.gguf"\n'
    )
    default = resolve({})
    assert isinstance(default, EngineOptions)
    assert (default.kind, default.model, default.beam_size) == (
        "seq2seq",
        "Helsinki-NLP/opus-mt-en-zh",
        2,
    )
    flagged = resolve({"kind": "seq2seq", "beam_size": 6, "model": None})
    assert (flagged.model, flagged.beam_size) == ("Helsinki-NLP/opus-mt-en-zh", 6)
    gguf = resolve({"kind": "gguf"})
    assert (gguf.kind, gguf.model) == ("gguf", "/models/q.gguf")
    # the command line's path: the same options
    assert engine_options(engine=None, model=None) == default
    assert engine_options(engine="gguf", model="/other.gguf").model == "/other.gguf"


def test_refusals_name_the_flag_as_before():
    with pytest.raises(InputError, match=r"^--engine 'bogus'; valid: vloc, openai, gguf, seq2seq$"):
        resolve({"kind": "bogus"})
    with pytest.raises(InputError, match=r"^--engine 'bogus'; valid: vloc, openai, gguf, seq2seq$"):
        chosen_engine("bogus")
    with pytest.raises(InputError) as e:
        resolve({"kind": "gguf"})
    assert str(e.value).startswith(
        "--engine gguf needs --model (the server's model id, a .gguf file or a seq2seq model "
        "name) or model in "
    )
    with pytest.raises(InputError, match="needs --base-url"):
        resolve({"kind": "openai", "model": "tiny"})
    _config('[openai]\napi_key = "sk-1"\n')
    with pytest.raises(InputError, match="api_key_env") as e:
        resolve({"kind": "openai", "model": "tiny", "base_url": "http://x/v1"})
    assert "sk-1" not in str(e.value)
