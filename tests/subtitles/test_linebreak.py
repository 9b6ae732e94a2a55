"""Line breaking and reading-speed checks for translated subtitles."""

from __future__ import annotations

import math

import pytest

from vloc.style.readability import (
    CHINESE,
    ENGLISH,
    OTHER,
    break_text,
    check_cue,
    check_readability,
    rules_for,
)


def _joined(broken: str, sep: str) -> str:
    return sep.join(broken.split("\n"))


def test_short_text_stays_on_one_line():
    assert break_text("河流发源于高山。", "zh") == ("河流发源于高山。", True)
    assert break_text("  The river  begins. ", "en") == ("The river begins.", True)
    assert break_text("", "zh") == ("", True)


def test_chinese_breaks_after_punctuation_within_16_chars():
    text = "在夏天，源头干涸了，河流也随之消失。"  # 18 characters
    broken, fits = break_text(text, "zh")
    assert fits
    first, second = broken.split("\n")
    assert first.endswith("，") and len(first) <= 16 and len(second) <= 16
    assert first + second == text  # nothing lost, nothing added


def test_chinese_without_punctuation_splits_evenly_and_never_inside_latin_words():
    text = "候鸟在水流变缓的地方聚集然后一起飞向遥远的南方"  # 23 characters, no punctuation
    broken, fits = break_text(text, "zh")
    a, b = broken.split("\n")
    assert fits and a + b == text and abs(len(a) - len(b)) <= 1
    broken, _ = break_text("科学家用DNAsequencing技术研究冰川里的古老微生物群落", "zh")
    assert "DNAsequencing" in broken.replace("\n", "")
    for line in broken.split("\n"):
        assert not line.startswith("sequencing") and not line.endswith("DNA")


def test_chinese_space_is_a_break_point_and_is_dropped():
    broken, fits = break_text("这是第一部分的内容 这是第二部分的内容哦", "zh")
    assert fits and broken == "这是第一部分的内容\n这是第二部分的内容哦"


def test_english_breaks_at_a_space_near_the_middle_preferring_punctuation():
    text = "Far below, the delta spreads across the plain of the old river."
    broken, fits = break_text(text, "en")
    assert fits
    first, second = broken.split("\n")
    assert len(first) <= 42 and len(second) <= 42
    assert _joined(broken, " ") == text
    text2 = "The lions rest in the shade of the acacia while the herd moves on"
    a, b = break_text(text2, "en")[0].split("\n")
    assert abs(len(a) - len(b)) <= 8 and not a.endswith(" ") and not b.startswith(" ")


def test_too_long_text_is_kept_whole_and_reported():
    text = "这是一个非常非常长的句子没有任何标点符号而且它会一直持续下去直到超过两行的限制为止"
    broken, fits = break_text(text, "zh")
    assert not fits and broken.replace("\n", "") == text and broken.count("\n") == 1
    word = "Pneumonoultramicroscopicsilicovolcanoconiosis" * 2
    assert break_text(word, "en") == (word, False)  # no break point: one long line


def test_rules_per_language():
    assert rules_for("zh") is CHINESE and rules_for("zh-Hans") is CHINESE
    assert rules_for("zh_TW") is CHINESE and rules_for("en-US") is ENGLISH
    assert rules_for("fr") is OTHER
    assert (CHINESE.max_chars, CHINESE.max_cps) == (16, 9.0)
    assert (ENGLISH.max_chars, ENGLISH.max_cps) == (42, 20.0)


def test_reading_speed_and_line_length_summary():
    texts = [
        "河流发源于高山。",  # 8 chars over 2 s = 4 cps: fine
        "河流发源于高山。",  # 8 chars over 0.5 s = 16 cps: too fast
        "",  # empty: not checked
        "这是一个非常非常长的句子没有任何标点\n符号",  # first line 18 > 16
        "零长度",  # zero-length cue with text: too fast
        "一\n二\n三",  # three lines
    ]
    spans = [(0, 2000), (2000, 2500), (3000, 4000), (4000, 9000), (9000, 9000), (9000, 12000)]
    report = check_readability(texts, spans, "zh")
    assert report.cues == 5
    assert report.speed_violations == 2 and report.speed_violation_cues == [1, 4]
    assert report.line_violations == 2 and report.line_violation_cues == [3, 5]
    assert report.worst_cps == pytest.approx(16.0)
    j = report.to_json()
    assert j["max_cps"] == 9.0 and j["max_chars_per_line"] == 16 and j["reading_speed"] == 2


def test_check_cue_ignores_tags():
    c = check_cue("{\\an8}<i>Hello</i>", 0, 1000, ENGLISH)
    assert c.chars == 5 and c.cps == pytest.approx(5.0) and c.line_ok and c.speed_ok
    assert math.isinf(check_cue("Hi", 1000, 1000, ENGLISH).cps)


def test_long_texts_split_where_scoring_every_point_would() -> None:
    """Only the points near the middle of a text too long for two lines are scored (linear
    time); the split is the one scoring every point gives."""
    import random

    from vloc.style.readability import _best_split, _break_points, rules_for

    rng = random.Random(5)
    pieces = ["长", "句", "，", "。", " ", ", ", ". ", "1,000", "10:30"]
    for lang in ("zh", "en", "ja"):
        r = rules_for(lang)
        for _ in range(400):  # words of up to 90 letters: few or no points near the middle
            weights = [rng.random() for _ in pieces]
            words = ["x" * rng.randint(1, 90) for _ in range(5)]
            text = "".join(rng.choices(pieces + words, weights + [0.3] * 5, k=rng.randint(20, 200)))
            one = " ".join(text.split())
            best = _best_split(one, r, _break_points(one, r.cjk))
            want = one if best is None else f"{one[: best[1]].rstrip()}\n{one[best[2] :].lstrip()}"
            assert break_text(text, lang)[0] == want, (lang, text)
