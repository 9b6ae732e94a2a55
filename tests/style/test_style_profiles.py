"""Style profiles: the shipped ones, a client's TOML file read strictly, and how a cue's budget
comes from a profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from vloc.errors import InputError
from vloc.style.budget import cue_budget, over_budget
from vloc.style.profile_file import load_profile, read_profile
from vloc.style.profiles import RULES, SHIPPED


def test_streaming_figures() -> None:
    p = load_profile("streaming")
    zh, en, fr = p.for_language("zh-Hans"), p.for_language("en-US"), p.for_language("fr")
    assert (zh.chars_per_line, zh.lines, zh.cps) == (16, 2, 9.0)
    assert (en.chars_per_line, en.lines, en.cps) == (42, 2, 20.0)
    assert (fr.chars_per_line, fr.cps) == (42, 17.0)
    assert p.timing.min_duration_ms == 834 and p.timing.max_duration_ms == 7000
    assert p.timing.frames_ms(p.timing.min_gap_frames) == 84  # 2 frames at 24 fps
    assert p.timing.frames_ms(2, 25.0) == 80
    assert all(s.count_spaces and s.count_punctuation for s in p.languages.values())
    assert "netflix" in p.source.lower()


def test_no_shipped_profile_imposes_a_punctuation_convention() -> None:
    for p in SHIPPED.values():
        assert {s.punctuation for s in p.languages.values()} == {"keep"}, p.name
        assert set(p.levels) == set(RULES)


def test_default_is_more_permissive_than_streaming() -> None:
    d, s = load_profile(None), load_profile("streaming")
    assert d.name == "default"
    for lang in ("zh", "en", "ja", "ko", "de"):
        a, b = d.for_language(lang), s.for_language(lang)
        assert a.chars_per_line > b.chars_per_line and a.cps > b.cps and a.lines >= b.lines
    assert all(d.level(r) != "error" for r in ("chars_per_line", "lines", "reading_speed"))


def test_unknown_name_lists_the_shipped_ones() -> None:
    with pytest.raises(InputError, match="unknown style profile 'netflix'; shipped: default, "):
        load_profile("netflix")


def test_a_client_profile_builds_on_a_shipped_one(tmp_path: Path) -> None:
    path = tmp_path / "acme.toml"
    path.write_text(
        'base = "streaming"\n[timing]\nframe_rate = 25\n[levels]\nreading_speed = "warning"\n'
        '[languages.zh]\ncps = 7\npunctuation = "subtitle"\n'
        "[languages.zh-TW]\nchars_per_line = 14\n",
        encoding="utf-8",
    )
    p = load_profile(str(path))
    assert p.name == "acme" and p.source == str(path)
    assert p.level("reading_speed") == "warning" and p.level("lines") == "error"
    assert p.timing.frame_rate == 25.0 and p.timing.max_duration_ms == 7000
    zh, tw = p.for_language("zh"), p.for_language("zh-TW")
    assert (zh.cps, zh.punctuation, zh.chars_per_line) == (7.0, "subtitle", 16)
    assert (tw.cps, tw.punctuation, tw.chars_per_line) == (7.0, "subtitle", 14)  # builds on zh
    assert p.for_language("en").cps == 20.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name = ", "style profile is not valid TOML"),
        ("colour = 'red'\n", "style profile: colour: unknown key"),
        ("[timing]\nmin_gap = 2\n", "style profile: timing.min_gap: unknown key"),
        ("[languages.zh]\ncps = 0\n", "style profile: languages.zh.cps: must be a number > 0"),
        ("[languages.zh]\nlines = 1.5\n", "languages.zh.lines: must be a whole number"),
        ("[languages.zh]\npunctuation = 'none'\n", "must be one of keep, subtitle"),
        ('[languages."Chinese!"]\ncps = 9\n', "not a language tag"),
        ("[levels]\noverlap = 'fatal'\n", "levels.overlap: must be one of error, warning, off"),
        ("[levels]\ntypos = 'error'\n", "levels.typos: unknown key"),
        ("base = 'bbc'\n", "base: unknown profile 'bbc'"),
        ("[timing]\nmin_duration_ms = 12000\n", "timing.min_duration_ms: 12000 is above"),
        ("timing = 3\n", "timing: must be a table"),
    ],
)
def test_a_malformed_profile_is_one_line_naming_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "client.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_profile(path)
    line = str(e.value)
    assert "\n" not in line and line.startswith(f"{path}: ") and message in line, line


def test_missing_and_binary_profiles(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="style profile not found"):
        load_profile(str(tmp_path / "nope.toml"))
    binary = tmp_path / "x.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InputError, match="not UTF-8"):
        load_profile(str(binary))


def test_budget_from_duration_and_lines() -> None:
    zh = load_profile("streaming").for_language("zh")
    b = cue_budget(0, 2000, zh)
    assert (b.chars, b.by_speed, b.by_lines) == (18, 18, 32)
    assert cue_budget(0, 10_000, zh).chars == 32  # capped by 2 lines of 16
    assert cue_budget(0, 50, zh).chars == 1
    assert over_budget("河流在夏天干涸了", b, "zh") is None
    why = over_budget("一二三四五六七八九十一二三四五六七八九", b, "zh")
    assert why is not None and why.startswith("19 characters where the cue holds 18")
