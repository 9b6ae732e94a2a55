"""vloc.text: one home for cue plain text, language codes and CJK characters, and the
differences kept on purpose (spaces in the summarizer's transcripts, two-letter file tags)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vloc import text
from vloc.coverage import language_tag
from vloc.style.cues import split_style

MODELS = Path(__file__).resolve().parents[2] / "models"
CUES = [
    "<i>Every spring\nthe snow melts.</i>",
    "{\\an8}Far below, the <b>delta</b> spreads.",
    "  two   spaces\n\nand a blank line ",
    "<font color=#fff>很少有人</font>\n听说过。",
    "卡罗米\nKaromi 的村庄",
    "",
    "<i></i>",
]


@pytest.mark.parametrize("cue", CUES)
def test_the_translator_reads_the_plain_text_the_index_embeds(cue: str):
    from vloc.index import plain_text as index_plain_text

    assert split_style(cue).plain == text.plain_text(cue) == index_plain_text(cue)
    assert "<" not in text.plain_text(cue) and "{" not in text.plain_text(cue)


def test_transcripts_glue_cjk_pieces_without_a_space_and_nothing_else():
    assert text.plain_text(CUES[3]) == "很少有人 听说过。"
    assert text.transcript_text(CUES[3]) == "很少有人听说过。"
    assert text.transcript_text(CUES[4]) == "卡罗米 Karomi 的村庄"
    assert (
        text.transcript_text(CUES[2]) == text.plain_text(CUES[2]) == "two spaces and a blank line"
    )
    assert text.join_texts(["全角，", "ＡＢ"]) == "全角，ＡＢ"  # full-width forms glue too
    assert text.join_texts(["안녕", "하세요"]) == "안녕 하세요"  # Hangul is written with spaces


@pytest.mark.parametrize("folder", ["synth-en-zh", "synth-zh-en-summary"])
def test_shipped_tokenizers_split_exactly_the_cjk_pattern(folder: str):
    for side in ("src_tokenizer", "tgt_tokenizer"):
        spec = json.loads((MODELS / folder / side / "tokenizer.json").read_text(encoding="utf-8"))
        splits = [p for p in spec["pre_tokenizer"]["pretokenizers"] if p["type"] == "Split"]
        assert [p["pattern"]["Regex"] for p in splits] == [text.CJK_PATTERN]


def test_language_codes():
    for code in ("en", "zho", "zh-Hans", "pt_BR", "en-US"):
        assert text.LANG_CODE.match(code), code
    for code in ("e", "english", "zh-", "zh Hans", ""):
        assert not text.LANG_CODE.match(code), code
    assert [text.language_base(c) for c in ("zh-Hans", "pt_BR", " EN ")] == ["zh", "pt", "en"]
    # subtitle file names: two-letter languages only (a three-letter word is not a language)
    assert language_tag("film.zh-Hans.srt") == "zh-Hans" and language_tag("a.pt_BR.vtt") == "pt_BR"
    assert language_tag("film.eng.srt") is None and language_tag("film.cut.srt") is None
    assert language_tag("film.srt") is None


def test_chinese_subtitle_punctuation():
    from vloc.text import subtitle_punctuation as punct

    assert punct("我们必须击垮敌人，直到最终胜利！", "zh") == "我们必须击垮敌人 直到最终胜利！"
    assert punct("所有人都笑了。这缓解了紧张。", "zh-Hans") == "所有人都笑了 这缓解了紧张"
    assert punct("共1,000人, 时速3.5公里.", "zh") == "共1,000人 时速3.5公里"  # numbers kept
    assert punct("他说：“中士，我们接获命令”", "zh") == "他说：“中士 我们接获命令”"
    assert punct("母亲、爱人与妻子？", "zh") == "母亲、爱人与妻子？"
    assert punct("等等...", "zh") == "等等…"
    assert punct("。", "zh") == "。"  # nothing but punctuation: left as it is
    assert punct("Hello, world.", "en") == "Hello, world."
