"""Line breaking a subtitler would sign off (vloc.style.linebreak): at most two balanced lines at
natural points, never inside a Chinese word, the usual Latin rules, linear in the length."""

from __future__ import annotations

import time

import pytest

from vloc.style.linebreak import break_lines, break_text, fits
from vloc.style.profile_file import load_profile
from vloc.style.segment import word_boundaries
from vloc.text import strip_tags

STREAMING = load_profile("streaming")
ZH, EN = STREAMING.for_language("zh"), STREAMING.for_language("en")


def test_short_text_stays_on_one_line() -> None:
    assert break_lines("河流干涸了", "zh", ZH) == ["河流干涸了"]
    assert break_lines("The river dries up.", "en", EN) == ["The river dries up."]


def test_own_lines_that_fit_are_kept() -> None:
    assert break_lines("河流\n干涸了", "zh", ZH) == ["河流", "干涸了"]


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("在夏天，源头干涸了，河流也随之消失。", ["在夏天，源头干涸了，", "河流也随之消失。"]),
        # before a conjunction, not inside 寒冷 or 1942年
        ("他说1942年的冬天非常寒冷但是人们依然坚持工作", ["他说1942年的冬天非常寒冷", "但是人们依然坚持工作"]),
    ],
)  # fmt: skip
def test_chinese_breaks_at_natural_points(text: str, lines: list[str]) -> None:
    assert break_lines(text, "zh", ZH) == lines


def test_chinese_never_breaks_inside_a_word() -> None:
    texts = [
        "这部纪录片讲述了一个关于敏感期儿童成长的故事",
        "科学家们发现这些候鸟每年都会沿着同一条路线迁徙",
        "北极熊的栖息地正在因为气候变化而迅速消失",
    ]
    for text in texts:
        lines = break_lines(text, "zh", ZH)
        assert len(lines) == 2 and "".join(lines) == text
        assert fits(lines, ZH), lines
        cut = len(lines[0])
        assert cut in word_boundaries(text, "zh"), (text, lines)  # a jieba word boundary
        assert abs(len(lines[0]) - len(lines[1])) <= 6, lines  # balanced


def test_chinese_keeps_latin_runs_and_punctuation_whole() -> None:
    for text in (
        "研究人员在DNA样本中发现了一种全新的病毒，它们来自非洲",
        "这是一个关于COVID病毒的故事和人类的未来",
    ):
        lines = break_lines(text, "zh", ZH)
        assert len(lines) == 2 and "".join(lines) == text
        assert any(w in lines[0] or w in lines[1] for w in ("DNA", "COVID"))
        assert not lines[1].startswith(("，", "。", "的"))
    # a comma that leaves both lines within 16 characters wins over balance
    text = "在那个特别寒冷漫长的冬天里，所有的鸟儿都飞走了"
    assert break_lines(text, "zh", ZH) == ["在那个特别寒冷漫长的冬天里，", "所有的鸟儿都飞走了"]


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        (
            "The river dries up in summer and the birds fly south to the warm lakes",
            ["The river dries up in summer", "and the birds fly south to the warm lakes"],
        ),
        (  # not inside "Erwin Rommel", not after "the"
            "In 1942 Field Marshal Erwin Rommel led the Afrika Korps across the desert",
            ["In 1942 Field Marshal Erwin Rommel", "led the Afrika Korps across the desert"],
        ),
        (  # after the comma
            "When the rains finally came, the whole valley turned green again",
            ["When the rains finally came,", "the whole valley turned green again"],
        ),
    ],
)
def test_latin_rules(text: str, lines: list[str]) -> None:
    got = break_lines(text, "en", EN)
    assert got == lines and fits(got, EN)


def test_latin_never_breaks_after_an_article() -> None:
    text = "She looked at all of the old photographs of her mother in the attic"
    first, second = break_lines(text, "en", EN)
    assert first.split()[-1].lower() not in ("the", "a", "an", "of", "her", "at")
    assert f"{first} {second}" == text


def test_tags_are_never_split_and_do_not_count() -> None:
    text = "<i>The river dries up in summer</i> and the birds fly south to the lakes"
    lines = break_lines(text, "en", EN)
    assert len(lines) == 2 and all(strip_tags(x) for x in lines)
    assert "<i>" in lines[0] and "</i>" in lines[0]
    assert fits(lines, EN)


def test_text_that_cannot_fit_is_still_two_balanced_lines_and_reported() -> None:
    text = "一二三四五六七八九十" * 4  # 40 characters > 2 × 16
    joined, ok = break_text(text, "zh")
    assert not ok and joined.count("\n") == 1 and joined.replace("\n", "") == text


def test_never_more_than_two_lines_even_when_a_profile_allows_three() -> None:
    style = load_profile("default").for_language("zh")  # 3 lines of 24
    lines = break_lines("一二三四五六七八九十" * 6, "zh", style)
    assert len(lines) == 2


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_linear_in_the_length(lang: str) -> None:
    """A 400,000-character line takes well under a second (the old breaker was quadratic)."""
    unit = "河流干涸了，候鸟飞走了" if lang == "zh" else "the river dries up, "
    style = ZH if lang == "zh" else EN
    break_lines(unit * 10, lang, style)  # load the segmenter
    text = unit * (400_000 // len(unit))
    t0 = time.perf_counter()
    lines = break_lines(text, lang, style)
    assert time.perf_counter() - t0 < 2.0
    assert len(lines) == 2 and abs(len(lines[0]) - len(lines[1])) < len(unit) + 2


def test_japanese_uses_phrases() -> None:
    style = STREAMING.for_language("ja")
    text = "今日はとても良い天気ですね散歩に行きましょう"
    lines = break_lines(text, "ja", style)
    assert "".join(lines) == text and len(lines) == 2
    assert len(lines[0]) in word_boundaries(text, "ja")


def test_translate_breaks_lines_to_the_style_profile_and_keeps_the_default(tmp_path) -> None:
    """``--style`` reaches every translator's line breaking (render_cue); without it the
    built-in breaker runs, so earlier outputs stay byte-identical."""
    from vloc.style.cues import render_cue, split_style
    from vloc.style.profile_file import load_profile
    from vloc.style.readability import break_text as builtin_break

    path = tmp_path / "narrow.toml"
    path.write_text('base = "streaming"\n[languages.zh]\nchars_per_line = 10\n', encoding="utf-8")
    narrow = load_profile(str(path))
    text = "科学家们在沙漠深处发现了化石"  # 14 characters: one line under 16, two under 10
    styled = split_style("The scientists found a fossil.")
    shown_default, _ = render_cue(styled, text, "zh", False)
    assert shown_default == builtin_break(text, "zh")[0]
    out, shown = render_cue(styled, text, "zh", False, narrow)
    assert out == shown and shown.count("\n") == 1
    assert all(len(line) <= 10 for line in shown.split("\n")), shown
    assert shown.replace("\n", "") == text and shown_default == text
