"""The seq2seq engine on tiny randomly initialised MarianMT / NLLB / M2M100 models built offline.

The models are real transformers models with real SentencePiece / BPE tokenizers (trained here
on a few sentences); only their weights are random, so translations are noise, but everything
around them — loading, language codes, batching, usage, identity, errors — is exercised.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import pytest

from vloc.engines.base import BatchRequest, EngineError, Line
from vloc.engines.seq2seq import Seq2SeqEngine, Seq2SeqSettings, hf_cache_dir
from vloc.errors import InputError, WeightsError
from vloc.glossary.file import GlossaryTerm, mask_terms, unmask_terms

pytest.importorskip("sentencepiece")

EN = (
    "The lions rest in the shade of the acacia.",
    "A dry waterhole cracks under the sun.",
    "Elephants walk for days to find water.",
    "The river floods the plain every spring.",
    "Rommel attacked at dawn with his tanks.",
    "Montgomery waited for the supplies.",
)
ZH = (
    "狮子在金合欢树的树荫下休息。",
    "干涸的水坑在阳光下龟裂。",
    "大象走了好几天去找水。",
    "每年春天河水都会淹没平原。",
    "隆美尔在黎明时率坦克进攻。",
    "蒙哥马利在等待补给。",
)
TINY_D = 16  # d_model
TINY_SPM_VOCAB = 120  # SentencePiece target size (it stops earlier on so little text)
TINY_POSITIONS = 64
TINY_INIT_STD = 1.0  # large random weights: outputs depend on the input (0.02 gives one output)
M2M_MADEUP_WORDS = 8  # M2M100Tokenizer's num_madeup_words
SHORT = 8  # max_new_tokens: random weights always run to the budget; keep tests quick
QUICK = Seq2SeqSettings(max_new_tokens=SHORT)
GLOSSARY = (GlossaryTerm("Rommel", "隆美尔"), GlossaryTerm("Montgomery", "蒙哥马利"))


def _train_spm(sentences: tuple[str, ...], size: int = TINY_SPM_VOCAB) -> bytes:
    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=buf,
        vocab_size=size,
        hard_vocab_limit=False,
        character_coverage=1.0,
        model_type="unigram",
        bos_id=-1,
        eos_id=1,
        unk_id=0,
        pad_id=-1,
        minloglevel=2,
    )
    return buf.getvalue()


def _tiny_layers() -> dict[str, int | float]:
    return dict(
        d_model=TINY_D,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=2 * TINY_D,
        decoder_ffn_dim=2 * TINY_D,
        max_position_embeddings=TINY_POSITIONS,
        init_std=TINY_INIT_STD,
    )


def save_tiny_marian_weights(folder: Path, seed: int) -> None:
    """(Re)write random Marian weights for the tokenizer already in ``folder``."""
    import torch
    from transformers import MarianConfig, MarianMTModel

    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    pad = vocab["<pad>"]
    config = MarianConfig(
        vocab_size=len(vocab),
        pad_token_id=pad,
        eos_token_id=vocab["</s>"],
        decoder_start_token_id=pad,
        forced_eos_token_id=vocab["</s>"],
        **_tiny_layers(),
    )
    torch.manual_seed(seed)
    MarianMTModel(config).save_pretrained(str(folder))


def build_tiny_marian(
    folder: Path, *, seed: int = 0, pair: tuple[str, str] = ("eng", "zho")
) -> Path:
    """A random-init MarianMT en→zh model: source.spm / target.spm / vocab.json + 1+1 layers."""
    import sentencepiece as spm
    from transformers import MarianTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    src, tgt = _train_spm(EN), _train_spm(ZH)
    (folder / "source.spm").write_bytes(src)
    (folder / "target.spm").write_bytes(tgt)
    vocab = {"</s>": 0, "<unk>": 1}
    for blob in (src, tgt):  # one shared vocabulary, as opus-mt models have
        sp = spm.SentencePieceProcessor(model_proto=blob)
        for i in range(sp.get_piece_size()):
            vocab.setdefault(sp.id_to_piece(i), len(vocab))
    vocab["<pad>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    with warnings.catch_warnings():  # its advice to install sacremoses (punctuation normaliser)
        warnings.simplefilter("ignore", UserWarning)
        tok = MarianTokenizer(
            str(folder / "source.spm"),
            str(folder / "target.spm"),
            str(folder / "vocab.json"),
            source_lang=pair[0],
            target_lang=pair[1],
        )
    tok.save_pretrained(str(folder))
    save_tiny_marian_weights(folder, seed)
    return folder


def _m2m_config(vocab_size: int):
    from transformers import M2M100Config

    return M2M100Config(
        vocab_size=vocab_size,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
        **_tiny_layers(),
    )


def build_tiny_nllb(folder: Path, *, seed: int = 0) -> Path:
    """A random-init NLLB-style model: NllbTokenizer over a character vocabulary + M2M100."""
    import torch
    from transformers import M2M100ForConditionalGeneration, NllbTokenizer

    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "▁": 4}
    for ch in sorted(set("".join(EN + ZH).replace(" ", ""))):
        vocab.setdefault(ch, len(vocab))
        vocab.setdefault("▁" + ch, len(vocab))
    tok = NllbTokenizer(vocab=vocab, merges=[], src_lang="eng_Latn")
    tok.save_pretrained(str(folder))
    torch.manual_seed(seed)
    M2M100ForConditionalGeneration(_m2m_config(len(tok))).save_pretrained(str(folder))
    return folder


def build_tiny_m2m100(folder: Path, *, seed: int = 0) -> Path:
    """A random-init M2M100 model: its SentencePiece tokenizer with the __xx__ language tokens."""
    import sentencepiece as spm
    import torch
    from transformers import M2M100ForConditionalGeneration, M2M100Tokenizer

    folder.mkdir(parents=True, exist_ok=True)
    blob = _train_spm(EN + ZH, 2 * TINY_SPM_VOCAB)
    (folder / "sentencepiece.bpe.model").write_bytes(blob)
    sp = spm.SentencePieceProcessor(model_proto=blob)
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for i in range(sp.get_piece_size()):
        vocab.setdefault(sp.id_to_piece(i), len(vocab))
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tok = M2M100Tokenizer(
        str(folder / "vocab.json"), str(folder / "sentencepiece.bpe.model"), src_lang="en"
    )
    tok.save_pretrained(str(folder))
    # the language ids (__en__ ...) and 8 made-up words come after the pieces
    size = max(tok.lang_code_to_id.values()) + 1 + M2M_MADEUP_WORDS
    torch.manual_seed(seed)
    M2M100ForConditionalGeneration(_m2m_config(size)).save_pretrained(str(folder))
    return folder


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
    from tests.tiny_models import build_tiny_sentence_model

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
