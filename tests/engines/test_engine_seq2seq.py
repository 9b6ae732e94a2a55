"""The seq2seq engine on tiny randomly initialised MarianMT / NLLB / M2M100 models built offline.

The models are real transformers models with real SentencePiece / BPE tokenizers (trained here
on a few sentences); only their weights are random, so translations are noise, but everything
around them — loading, language codes, batching, usage, identity, errors — is exercised.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from tiny_seq2seq import (
    EN,
    build_tiny_m2m100,
    build_tiny_marian,
    build_tiny_nllb,
    save_tiny_marian_weights,
)

from vloc.engines.base import BatchRequest, EngineError, Line
from vloc.engines.seq2seq import Seq2SeqEngine, Seq2SeqSettings, hf_cache_dir
from vloc.errors import InputError, WeightsError
from vloc.glossary.file import GlossaryTerm, mask_terms, unmask_terms

pytest.importorskip("sentencepiece")

SHORT = 8  # max_new_tokens: random weights always run to the budget; keep tests quick
QUICK = Seq2SeqSettings(max_new_tokens=SHORT)
GLOSSARY = (GlossaryTerm("Rommel", "隆美尔"), GlossaryTerm("Montgomery", "蒙哥马利"))


@pytest.fixture(scope="module")
def marian(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_marian(tmp_path_factory.mktemp("marian") / "opus-mt-en-zh-tiny")


def _request(texts: list[str], *, first: int = 1, **kw) -> BatchRequest:
    cues = tuple(Line(first + i, t) for i, t in enumerate(texts))
    return BatchRequest(
        cues=cues, source_lang=kw.pop("source", "en"), target_lang=kw.pop("target", "zh"), **kw
    )


def test_loads_by_folder_one_translation_per_cue_in_order(marian: Path) -> None:
    # a fixed budget: random weights always run to it, and a line alone must get the same one
    engine = Seq2SeqEngine(Seq2SeqSettings(marian, beam_size=2, max_new_tokens=SHORT))
    assert (engine.kind, engine.uses_context, engine.accepts_images) == ("seq2seq", False, False)
    assert engine.family == "marian" and engine.name == str(marian)
    texts = [EN[0], EN[1], "   ", EN[2], ""]
    req = _request(texts, first=11)
    result = engine.translate_batch(req)
    assert list(result.translations) == [11, 12, 13, 14, 15]
    assert result.translations[13] == "" and result.translations[15] == ""
    assert all(result.translations[n] for n in (11, 12, 14))
    # different inputs give different outputs here, so a shuffled batch would show
    assert len({result.translations[n] for n in (11, 12, 14)}) == 3
    # each line on its own gives the same text at its number: nothing is shifted or merged
    for n, text in ((11, EN[0]), (12, EN[1]), (14, EN[2])):
        alone = engine.translate_batch(_request([text], first=n)).translations
        assert alone == {n: result.translations[n]}
    again = engine.translate_batch(req)
    assert again.translations == result.translations  # deterministic
    u = result.usage
    assert u.requests == 1  # one generate call for the batch; empty cues cost nothing
    expected = sum(len(engine.tokenizer(t)["input_ids"]) for t in (EN[0], EN[1], EN[2]))
    assert u.prompt_tokens == expected
    assert u.completion_tokens == 3 * SHORT
    engine.close()
    with pytest.raises(EngineError, match="closed"):
        engine.translate_batch(req)


def test_only_empty_cues_make_no_call(marian: Path) -> None:
    engine = Seq2SeqEngine(Seq2SeqSettings(marian))
    result = engine.translate_batch(_request(["", "  "]))
    assert result.translations == {1: "", 2: ""} and result.usage.requests == 0


def test_large_request_takes_several_calls(marian: Path) -> None:
    engine = Seq2SeqEngine(
        Seq2SeqSettings(marian, beam_size=1, max_batch_lines=2, max_new_tokens=SHORT)
    )
    result = engine.translate_batch(_request(list(EN[:5])))
    assert list(result.translations) == [1, 2, 3, 4, 5] and result.usage.requests == 3


def test_long_line_is_cut_with_a_warning(marian: Path) -> None:
    said: list[str] = []
    settings = Seq2SeqSettings(marian, max_new_tokens=SHORT, max_source_tokens=5)
    engine = Seq2SeqEngine(settings, warn=said.append)
    short = "sun"
    assert (
        len(engine.tokenizer(short)["input_ids"]) <= 5 < len(engine.tokenizer(EN[0])["input_ids"])
    )
    result = engine.translate_batch(_request([EN[0], short], first=7))
    assert result.translations[7] and result.translations[8]
    assert result.usage.prompt_tokens == 5 + len(engine.tokenizer(short)["input_ids"])
    assert len(said) == 1 and "line 7 has" in said[0] and "only its first 5 are" in said[0]


def test_engine_options_pass_their_settings_through(marian: Path) -> None:
    from vloc.engines import EngineOptions, open_engine

    options = EngineOptions(Seq2SeqSettings(model=str(marian), beam_size=3), batch_cues=7)
    engine = open_engine(options)
    assert engine.settings == replace(options.backend, device="cpu")
    assert engine.settings.beam_size == 3 and engine.name == str(marian)
    # the journal identity: the decoding settings and the files, never the model's name or
    # where it lies, the device, the threads or whether it may be downloaded
    same = Seq2SeqSettings(model=shutil.copytree(marian, marian.parent / "elsewhere"),
                           beam_size=3, threads=1, download=True)  # fmt: skip
    assert Seq2SeqEngine(same).identity == engine.identity
    assert Seq2SeqEngine(replace(same, beam_size=2)).identity != engine.identity


def test_beam_1_and_beam_4_both_run_with_different_identities(marian: Path) -> None:
    greedy = Seq2SeqEngine(Seq2SeqSettings(marian, beam_size=1, max_new_tokens=SHORT))
    beam = Seq2SeqEngine(Seq2SeqSettings(marian, beam_size=4, max_new_tokens=SHORT))
    req = _request(list(EN[:3]))
    a, b = greedy.translate_batch(req), beam.translate_batch(req)
    assert list(a.translations) == list(b.translations) == [1, 2, 3]
    assert all(a.translations.values()) and all(b.translations.values())
    assert greedy.identity != beam.identity


def test_identity_follows_content_not_location(marian: Path, tmp_path: Path) -> None:
    base = Seq2SeqEngine(Seq2SeqSettings(marian)).identity
    assert len(base) == 64
    copy = shutil.copytree(marian, tmp_path / "copy")
    assert (
        Seq2SeqEngine(Seq2SeqSettings(copy)).identity == base
    )  # same files elsewhere: same identity
    other = shutil.copytree(marian, tmp_path / "reweighted")
    save_tiny_marian_weights(other, seed=1)  # same config and tokenizer, other weights
    assert Seq2SeqEngine(Seq2SeqSettings(other)).identity != base
    cfg = json.loads((copy / "generation_config.json").read_text())
    cfg["length_penalty"] = 0.5  # a decoding default in the model folder
    (copy / "generation_config.json").write_text(json.dumps(cfg))
    assert Seq2SeqEngine(Seq2SeqSettings(copy)).identity != base


def test_uncached_hub_name_is_one_line_naming_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    # no offline variable: the engine must not go online by itself
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    t0 = time.perf_counter()
    with pytest.raises(WeightsError) as e:
        Seq2SeqEngine(Seq2SeqSettings("Helsinki-NLP/opus-mt-en-zh"))
    assert time.perf_counter() - t0 < 10
    msg = str(e.value)
    assert "\n" not in msg
    assert "'Helsinki-NLP/opus-mt-en-zh'" in msg and str(hf_cache_dir()) in msg
    assert "hf download Helsinki-NLP/opus-mt-en-zh --cache-dir" in msg and "--model PATH" in msg


def test_allowed_download_still_respects_offline_variable() -> None:
    # conftest sets HF_HUB_OFFLINE=1: allow_download must not override it
    with pytest.raises(WeightsError, match="HF_HUB_OFFLINE is set"):
        Seq2SeqEngine(Seq2SeqSettings("Helsinki-NLP/opus-mt-en-zh", download=True))


def test_hub_name_loads_from_the_cache(marian: Path) -> None:
    # the hub's cache layout, as `hf download NAME --cache-dir ~/.cache/vloc/hf` leaves it
    cache = hf_cache_dir()
    repo = cache / "models--Helsinki-NLP--opus-mt-en-zh"
    commit = "0" * 40
    shutil.copytree(marian, repo / "snapshots" / commit)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    engine = Seq2SeqEngine(replace(QUICK, model="Helsinki-NLP/opus-mt-en-zh"))
    assert engine.folder == repo / "snapshots" / commit
    assert (
        engine.identity == Seq2SeqEngine(replace(QUICK, model=marian)).identity
    )  # by name or by folder
    assert engine.translate_batch(_request([EN[0]])).translations[1]
    # a plain folder under the cache works too
    shutil.copytree(marian, cache / "local-org" / "tiny-mt")
    assert (
        Seq2SeqEngine(Seq2SeqSettings("local-org/tiny-mt")).folder
        == cache / "local-org" / "tiny-mt"
    )


def test_not_a_translation_model_is_refused(tmp_path: Path) -> None:
    from tiny_models import build_tiny_sentence_model

    st = build_tiny_sentence_model(tmp_path / "st")
    with pytest.raises(
        InputError, match="sentence-transformers encoder, not a translation model"
    ) as e:
        Seq2SeqEngine(Seq2SeqSettings(st))
    assert str(st) in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(InputError, match="not a sequence-to-sequence model .model_type 'bert'"):
        Seq2SeqEngine(Seq2SeqSettings(tmp_path / "st" / "hf"))  # the bare BERT inside it
    with pytest.raises(InputError, match="no config.json"):
        Seq2SeqEngine(Seq2SeqSettings(tmp_path))
    with pytest.raises(InputError, match="model folder not found"):
        Seq2SeqEngine(Seq2SeqSettings(tmp_path / "missing"))
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    with pytest.raises(InputError, match="--engine gguf"):
        Seq2SeqEngine(Seq2SeqSettings(gguf))


def test_folder_without_weights_is_refused(marian: Path, tmp_path: Path) -> None:
    folder = shutil.copytree(marian, tmp_path / "noweights")
    (folder / "model.safetensors").unlink()
    with pytest.raises(InputError, match="no weights in the model folder"):
        Seq2SeqEngine(Seq2SeqSettings(folder))


def test_devices(marian: Path) -> None:
    import torch

    with pytest.raises(InputError, match="--device 'gpu'; valid: cpu, cuda, cuda:N"):
        Seq2SeqEngine(Seq2SeqSettings(marian, device="gpu"))
    if torch.cuda.is_available():
        engine = Seq2SeqEngine(Seq2SeqSettings(marian, device="cuda"))
        assert engine.translate_batch(_request([EN[0]])).translations[1]
    else:
        with pytest.raises(EngineError, match="sees no CUDA device; use --device cpu"):
            Seq2SeqEngine(Seq2SeqSettings(marian, device="cuda"))


def test_marian_pair_is_checked(marian: Path) -> None:
    engine = Seq2SeqEngine(Seq2SeqSettings(marian))
    with pytest.raises(
        EngineError, match=r"translates eng to zho, but the target language is 'fr'"
    ):
        engine.translate_batch(_request([EN[0]], target="fr"))
    assert engine.languages("en", "zh-Hans") == (None, None)


def test_glossary_masking_round_trip() -> None:
    masked, used = mask_terms("Rommel met Montgomery; Rommel's tanks left.", GLOSSARY)
    assert "Rommel" not in masked and "Montgomery" not in masked
    assert [GLOSSARY[i].source for i in used] == ["Montgomery", "Rommel"]  # longer first
    assert masked == "ZXQ1 met ZXQ0; ZXQ1's tanks left."
    # what a model typically does with the placeholders: keeps them, maybe with a space
    assert unmask_terms("ZXQ1会见了ZXQ 0。", GLOSSARY, used) == "隆美尔会见了蒙哥马利。"


def test_glossary_reaches_the_model_masked(marian: Path) -> None:
    engine = Seq2SeqEngine(replace(QUICK, model=marian))
    texts = [EN[4], EN[5], EN[0]]
    plain = engine.translate_batch(_request(texts))
    masked = engine.translate_batch(_request(texts, glossary=GLOSSARY))
    assert list(masked.translations) == [1, 2, 3]
    assert masked.translations[3] == plain.translations[3]  # no term: unchanged
    sources = [mask_terms(t, GLOSSARY)[0] for t in texts]
    assert sources[0].startswith("ZXQ0 ") and sources[1].startswith("ZXQ0 ")  # numbered per line
    expected = sum(len(engine.tokenizer(s)["input_ids"]) for s in sources)
    assert masked.usage.prompt_tokens == expected != plain.usage.prompt_tokens


def test_nllb_language_codes_and_licence_warning(tmp_path: Path) -> None:
    folder = build_tiny_nllb(tmp_path / "nllb")
    said: list[str] = []
    engine = Seq2SeqEngine(
        Seq2SeqSettings(folder, beam_size=2, max_new_tokens=SHORT), warn=said.append
    )
    assert engine.family == "nllb"
    assert len(said) == 1 and "CC-BY-NC-4.0" in said[0] and "commercial" in said[0]
    pairs = {
        ("en", "zh"): ("eng_Latn", "zho_Hans"),
        ("fr", "de"): ("fra_Latn", "deu_Latn"),
        ("es", "pt"): ("spa_Latn", "por_Latn"),
        ("ja", "ru"): ("jpn_Jpan", "rus_Cyrl"),
        ("en", "zh-TW"): ("eng_Latn", "zho_Hant"),
        ("en", "zho_Hant"): ("eng_Latn", "zho_Hant"),
    }
    for (s, t), codes in pairs.items():
        assert engine.languages(s, t) == codes
    with pytest.raises(EngineError, match="no NLLB language code for 'xx'"):
        engine.languages("en", "xx")
    # the target reaches the model (forced first token): zh and fr give different outputs
    zh = engine.translate_batch(_request([EN[0], EN[4]], target="zh")).translations
    fr = engine.translate_batch(_request([EN[0], EN[4]], target="fr")).translations
    assert list(zh) == [1, 2] and zh != fr
    assert engine.translate_batch(_request([EN[0], EN[4]], target="zh")).translations == zh


def test_non_commercial_licence_in_the_model_card_is_said(marian: Path, tmp_path: Path) -> None:
    folder = shutil.copytree(marian, tmp_path / "nc")
    (folder / "README.md").write_text(
        "---\nlanguage: [en, zh]\nlicense: cc-by-nc-sa-4.0\n---\n# x\n"
    )
    said: list[str] = []
    Seq2SeqEngine(replace(QUICK, model=folder), warn=said.append)
    assert said == [
        f"{folder}: these weights are licensed cc-by-nc-sa-4.0, which forbids commercial use"
    ]
    (folder / "README.md").write_text("---\nlicense: cc-by-4.0\n---\n")
    said.clear()
    Seq2SeqEngine(replace(QUICK, model=folder), warn=said.append)
    assert said == []


def test_m2m100_language_codes(tmp_path: Path) -> None:
    folder = build_tiny_m2m100(tmp_path / "m2m")
    said: list[str] = []
    engine = Seq2SeqEngine(replace(QUICK, model=folder), warn=said.append)
    assert engine.family == "m2m100" and said == []
    assert engine.languages("en", "zh-Hans") == ("en", "zh")
    with pytest.raises(EngineError, match="M2M100 has no language 'xx'"):
        engine.languages("en", "xx")
    zh = engine.translate_batch(_request([EN[0], ""], target="zh")).translations
    de = engine.translate_batch(_request([EN[0], ""], target="de")).translations
    assert zh[2] == de[2] == "" and zh != de


def test_importing_the_engine_stays_light() -> None:
    code = (
        "import sys, vloc.engines.seq2seq; "
        "print(sorted(m for m in ('torch', 'transformers', 'huggingface_hub') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
