"""Subword tokenizers: round trips for English and Chinese, fixed ids, determinism, save/load."""

from __future__ import annotations

import json

import pytest

from vloc.errors import InputError
from vloc.tokenization import (
    BOS_ID,
    EOS_ID,
    N_RESERVED,
    PAD_ID,
    UNK_ID,
    Tokenizer,
    train_tokenizer,
)

EN = [
    "Their tiny puddle, almost dry.",
    "The lions rest in the shade of an acacia tree.",
    "Water is scarce during the dry season.",
    "Elephants can smell water from kilometres away!",
    "In 1990, only 300 of them were left.",
] * 3
ZH = [
    "它们的小水坑几乎干涸。",
    "狮子在金合欢树的树荫下休息。",
    "旱季里水很稀少。",
    "大象能在几公里外闻到水的气味！",
    "1990年，只剩下300只。",
] * 3


@pytest.fixture(scope="module")
def en_tok() -> Tokenizer:
    return train_tokenizer(EN, vocab_size=400, lang="en")


@pytest.fixture(scope="module")
def zh_tok() -> Tokenizer:
    return train_tokenizer(ZH, vocab_size=400, lang="zh")


@pytest.mark.parametrize(
    "text",
    ["Their tiny puddle, almost dry.", "Water is scarce, isn't it?", "In 2024: 42 lions.", ""],
)
def test_english_round_trip_keeps_spaces(en_tok: Tokenizer, text: str):
    assert en_tok.decode(en_tok.encode(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        "它们的小水坑几乎干涸。",
        "小水洼几乎快要干涸",
        "1990年，只剩下300只。",
        "用iPhone拍的 BBC 纪录片",
    ],
)
def test_chinese_round_trip_has_no_spurious_spaces(zh_tok: Tokenizer, text: str):
    ids = zh_tok.encode(text)
    assert zh_tok.decode(ids) == text
    assert UNK_ID not in ids


def test_unseen_characters_fall_back_to_bytes(zh_tok: Tokenizer):
    text = "鳄鱼🐊来了"  # none of these characters is in the training texts
    ids = zh_tok.encode(text)
    assert UNK_ID not in ids
    assert any(4 <= i < N_RESERVED for i in ids)  # byte tokens
    assert zh_tok.decode(ids) == text


def test_subwords_are_learned_and_chinese_is_split_per_character(en_tok, zh_tok):
    assert len(en_tok.encode("Water")) == 1  # a frequent word became one symbol
    pieces = [zh_tok.id_to_token(i) for i in zh_tok.encode("旱季")]
    assert pieces[-2:] == ["旱", "季"]


def test_special_ids_are_fixed(en_tok: Tokenizer, zh_tok: Tokenizer):
    for tok in (en_tok, zh_tok):
        assert [tok.token_to_id(t) for t in ("<pad>", "<s>", "</s>", "<unk>")] == [0, 1, 2, 3]
        assert (tok.pad_id, tok.bos_id, tok.eos_id, tok.unk_id) == (PAD_ID, BOS_ID, EOS_ID, UNK_ID)
        assert tok.token_to_id("<0x00>") == 4 and tok.token_to_id("<0xFF>") == 259
    ids = en_tok.encode("dry", add_bos=True, add_eos=True)
    assert ids[0] == BOS_ID and ids[-1] == EOS_ID
    assert en_tok.decode([PAD_ID, *ids, PAD_ID]) == "dry"


def test_vocab_size_is_an_upper_bound(en_tok: Tokenizer):
    assert N_RESERVED < en_tok.vocab_size <= 400
    small = train_tokenizer(EN, vocab_size=300, lang="en")
    assert small.vocab_size <= 300
    assert small.decode(small.encode(EN[1])) == EN[1]


def test_training_is_deterministic(en_tok: Tokenizer):
    again = train_tokenizer(list(EN), vocab_size=400, lang="en")
    assert again.to_str() == en_tok.to_str()


def test_batch_encoding_matches_single(en_tok: Tokenizer):
    assert en_tok.encode_batch(EN[:3], add_eos=True) == [
        en_tok.encode(t, add_eos=True) for t in EN[:3]
    ]
    assert en_tok.decode_batch(en_tok.encode_batch(EN[:3])) == EN[:3]


def test_save_and_load(tmp_path, zh_tok: Tokenizer):
    folder = zh_tok.save(tmp_path / "tgt")
    loaded = Tokenizer.load(folder)
    assert loaded.lang == "zh"
    assert loaded.to_str() == zh_tok.to_str()
    assert loaded.encode(ZH[0]) == zh_tok.encode(ZH[0])
    meta = json.loads((folder / "vloc_tokenizer.json").read_text(encoding="utf-8"))
    assert meta["vocab_size"] == zh_tok.vocab_size


def test_bad_inputs_are_reported(tmp_path):
    with pytest.raises(InputError, match="vocab_size"):
        train_tokenizer(EN, vocab_size=100, lang="en")
    with pytest.raises(InputError, match="no text"):
        train_tokenizer(["", ""], vocab_size=400, lang="en")
    with pytest.raises(InputError, match="tokenizer.json"):
        Tokenizer.load(tmp_path)
    folder = train_tokenizer(EN, vocab_size=400, lang="en").save(tmp_path / "t")
    (folder / "vloc_tokenizer.json").write_text('{"format": 99}', encoding="utf-8")
    with pytest.raises(InputError, match="format 99"):
        Tokenizer.load(folder)
