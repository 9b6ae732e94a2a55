"""Which decoder ``--engine`` picks (vloc's own translator or a pretrained engine), and the
engine options built from the flags over ``$VLOC_HOME/engines.toml`` over the defaults."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vloc import catalogue
from vloc.cli._engine import decoder, engine_options
from vloc.engines import GGUFSettings, OpenAISettings, Seq2SeqSettings
from vloc.engines.options import (
    BACKENDS,
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
    assert (default.kind, default.model, default.backend.beam_size) == (
        "seq2seq",
        "Helsinki-NLP/opus-mt-en-zh",
        2,
    )
    flagged = resolve({"kind": "seq2seq", "beam_size": 6, "model": None})
    assert (flagged.model, flagged.backend.beam_size) == ("Helsinki-NLP/opus-mt-en-zh", 6)
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


def test_each_engine_gets_its_own_settings_from_its_table_and_the_flags():
    _config(
        '[openai]\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "qwen"\ntimeout_s = 30\n'
        "n_ctx = 2048\nbatch_cues = 8\n"  # n_ctx: gguf's, accepted in any table as before
        '[gguf]\nmodel = "~/q.gguf"\nn_ctx = 1024\n[seq2seq]\nmodel = "org/mt"\nseed = 3\n'
    )
    openai = resolve({"kind": "openai", "max_retries": 0, "images": True, "beam_size": 9})
    assert openai.backend == OpenAISettings(
        base_url="http://127.0.0.1:9/v1", model="qwen", timeout_s=30, max_retries=0, images=True
    )
    assert (openai.kind, openai.model, openai.batch_cues) == ("openai", "qwen", 8)
    gguf = resolve({"kind": "gguf", "threads": 2, "base_url": "http://elsewhere/v1"})
    assert gguf.backend == GGUFSettings(model="~/q.gguf", n_ctx=1024, threads=2)
    assert gguf.backend.path == Path("~/q.gguf").expanduser() and gguf.batch_cues == 20
    # the command line downloads a hub model by default; the class alone never goes online
    seq2seq = resolve({"kind": "seq2seq"})
    assert seq2seq.backend == Seq2SeqSettings(model="org/mt", download=True)
    assert Seq2SeqSettings().download is False
    assert seq2seq.with_model("org/other").backend == Seq2SeqSettings("org/other", download=True)
    assert seq2seq.with_model(None) is seq2seq
    assert set(BACKENDS) == set(ENGINES)


def test_engines_toml_knows_the_same_settings_as_before():
    path = _config('[gguf]\nmodel = "q.gguf"\nmax_new_tokens = 9\n')
    with pytest.raises(InputError) as e:
        resolve({})
    assert str(e.value) == (
        f"{path}: unknown setting 'max_new_tokens' in [gguf]; known: api_key_env, base_url, "
        "batch_cues, beam_size, concurrency, context, download, frame_select, frames, "
        "glossary, images, lag, max_related, max_retries, model, n_ctx, previous, "
        "punctuation, related, seed, synopsis, threads, timeout_s"
    )
    _config('[seq2seq]\ndownload = "no"\n')
    with pytest.raises(InputError, match=r"\[seq2seq\] download must be bool, not str"):
        resolve({"kind": "seq2seq", "model": "org/mt"})


def test_backend_values_are_checked_with_their_flag():
    for flags, needle in (
        ({"kind": "gguf", "model": "q.gguf", "n_ctx": 0}, "--n-ctx must be at least 1"),
        ({"kind": "gguf", "model": "q.gguf", "threads": 0}, "--threads must be at least 1"),
        ({"kind": "seq2seq", "model": "org/mt", "beam_size": 0}, "--beam-size must be at least 1"),
        ({"kind": "openai", "model": "m", "base_url": "http://x/v1", "api_key_env": "a b"},
         "--api-key-env takes the name"),
        ({"kind": "openai", "model": "m", "base_url": "http://x/v1", "related": 0},
         "--related must be at least 1"),
    ):  # fmt: skip
        with pytest.raises(InputError, match=needle):
            resolve(flags, config={})


def test_the_journal_identity_keeps_its_inputs():
    """A resumed run finds its journal: the openai identity is still made of these."""
    from vloc.engines import open_engine
    from vloc.engines.prompts import template_hash
    from vloc.fileio import stable_hash

    options = EngineOptions(
        OpenAISettings(base_url="http://127.0.0.1:9/v1/", model="qwen", images=True, seed=2),
        batch_cues=7,  # the shared settings shape each batch's request (its key), not the identity
    )
    expected = {
        "kind": "openai",
        "url": "http://127.0.0.1:9/v1",
        "model": "qwen",
        "prompt": template_hash(),
        "decoding": [0.0, 2, 1.1],
        "images": True,
    }
    assert open_engine(options).identity == stable_hash(expected)
