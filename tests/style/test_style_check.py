"""`vloc check`: every rule with a constructed file that breaks it and one that does not, the
--json and --strict contract, shot changes from a real ffmpeg run, and the real files."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vloc.cli.app import app
from vloc.errors import InputError
from vloc.style.check import check_cues, check_file, file_language
from vloc.style.profile_file import load_profile
from vloc.subtitles import Cue, read_subtitles

STREAMING = load_profile("streaming")


def srt(path: Path, cues: list[tuple[int, int, str]]) -> Path:
    """Write ``(start_ms, end_ms, text)`` cues as an SRT file."""

    def ts(ms: int) -> str:
        return (
            f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"
        )

    body = "".join(f"{i}\n{ts(a)} --> {ts(b)}\n{t}\n\n" for i, (a, b, t) in enumerate(cues, 1))
    path.write_text(body, encoding="utf-8")
    return path


# three Simplified Chinese cues that keep every streaming rule: 2 s each, 200 ms apart
CLEAN = [(1000, 3000, "河流在夏天干涸"), (3200, 5200, "鸟群飞向南方"), (5400, 7400, "冬天来了")]


def with_cue2(start: int, end: int, text: str) -> list[tuple[int, int, str]]:
    return [CLEAN[0], (start, end, text), CLEAN[2]]


# rule -> the second cue that breaks it (the other two stay clean)
BROKEN = {
    "chars_per_line": with_cue2(3200, 5200, "我们看到一大群候鸟正在飞向遥远南方"),  # 17 > 16, 8.5/s
    "lines": with_cue2(3200, 5200, "鸟群\n飞向\n南方"),  # 3 lines > 2
    "reading_speed": with_cue2(3200, 4200, "一大群候鸟正在飞向南方"),  # 11 in 1 s > 9/s
    "min_duration": with_cue2(3200, 3700, "鸟群"),  # 500 ms < 834
    "max_duration": [CLEAN[0], (3200, 11_200, "鸟群飞向南方"), (11_400, 13_400, "冬天来了")],
    "overlap": with_cue2(2500, 4500, "鸟群飞向南方"),  # starts 500 ms before cue 1 ends
    "min_gap": with_cue2(3040, 5200, "鸟群飞向南方"),  # 40 ms < 2 frames at 24 fps (84 ms)
    "empty": with_cue2(3200, 5200, "<i> </i>"),  # nothing to show
    "wrong_script": with_cue2(3200, 5200, "Birds go"),
}


def test_the_clean_file_breaks_no_rule(tmp_path: Path) -> None:
    report = check_file(srt(tmp_path / "film.zh.srt", CLEAN), profile="streaming")
    assert report.lang == "zh" and report.cues == 3
    assert report.flagged == [] and report.errors == 0 and report.over_limits == 0


@pytest.mark.parametrize("rule", sorted(BROKEN))
def test_each_rule_flags_the_cue_that_breaks_it(tmp_path: Path, rule: str) -> None:
    report = check_file(srt(tmp_path / "film.zh.srt", BROKEN[rule]), profile="streaming")
    assert [f.cue for f in report.flagged] == [2], report.flagged
    assert report.flagged[0].rules == [rule]
    assert report.summary()[rule]["cues"] == 1
    assert report.summary()[rule]["level"] == STREAMING.level(rule)


def test_limits_are_inclusive(tmp_path: Path) -> None:
    """Exactly at the limit is within it: 16 characters, 2 lines, 9 characters/s, 7 s."""
    cues = with_cue2(3200, 5200, "一二三四五六七八九十一二三四五六\n七八")  # 16 + 2 in 2 s = 9/s
    cues[2] = (5400, 12_400, "冬天来了")
    assert check_file(srt(tmp_path / "f.zh.srt", cues), profile="streaming").flagged == []


def test_untranslated_needs_the_source_and_compares_same_time_cues(tmp_path: Path) -> None:
    src = srt(tmp_path / "film.en.srt", [(a, b, t) for a, b, t in [
        (1000, 3000, "The river dries up"), (3200, 5200, "Birds fly south"),
        (5400, 7400, "Winter comes"),
    ]])  # fmt: skip
    target = srt(tmp_path / "film.zh.srt", with_cue2(3200, 5200, "Birds  fly south"))
    report = check_file(target, profile="streaming", source=src)
    assert [f.cue for f in report.flagged] == [2]
    assert set(report.flagged[0].rules) == {"untranslated", "wrong_script"}
    clean = check_file(srt(tmp_path / "ok.zh.srt", CLEAN), profile="streaming", source=src)
    assert clean.flagged == [] and "untranslated" in clean.checked_rules
    assert "untranslated" not in check_file(target, profile="streaming").checked_rules


def test_untranslated_flags_source_words_left_in_a_target_of_another_script(
    tmp_path: Path,
) -> None:
    src = srt(tmp_path / "film.en.srt", [(a, b, t) for a, b, t in [
        (1000, 3000, "They called a briefing"), (3200, 5200, "Rommel reached the USA"),
        (5400, 7400, "Miles and miles of sand"), (7600, 9600, "Hans Müncheberg's café"),
    ]])  # fmt: skip
    target = srt(tmp_path / "film.zh.srt", [(a, b, t) for a, b, t in [
        (1000, 3000, "他们召集了全体飞行员开 briefing"), (3200, 5200, "Rommel 终于抵达了美国的 USA 基地"),
        (5400, 7400, "绵延数里又一 mile 的沙子"), (7600, 9600, "Hans Müncheberg 的 café"),
    ]])  # fmt: skip
    report = check_file(target, profile="streaming", source=src)
    details = {
        f.cue: d.detail for f in report.flagged for d in f.findings if d.rule == "untranslated"
    }  # names and acronyms (cue 2) are not words left untranslated, nor a part of a name
    assert list(details) == [1, 3, 4] and "'briefing'" in details[1] and "'mile'" in details[3]
    assert "'café'" in details[4] and "ncheberg" not in details[4]
    # a target in the source's script keeps words freely: French "briefing" is French
    fr = srt(tmp_path / "film.fr.srt", [(1000, 3000, "Ils ont fait un briefing")])
    assert all(
        "untranslated" not in f.rules
        for f in check_file(fr, profile="streaming", source=src).flagged
    )


def test_traditional_target_flags_simplified_cues() -> None:
    cues = [Cue(1, 0, 2000, "鳥群飛向南方"), Cue(2, 2200, 4200, "鸟群飞向南方")]
    report = check_cues(cues, "zh-TW", STREAMING)
    assert [f.cue for f in report.flagged] == [2]
    assert report.flagged[0].rules == ["wrong_script"]
    assert "Simplified" in report.flagged[0].findings[0].detail
    assert check_cues(cues, "zh", STREAMING).flagged == []  # zh takes either script


def test_latin_counting_includes_spaces_and_punctuation() -> None:
    line = "It was, as the old men said, a very dry summer."  # 47 characters > 42
    report = check_cues([Cue(1, 0, 4000, line)], "en", STREAMING)
    assert report.flagged[0].rules == ["chars_per_line"]
    assert "47 characters" in report.flagged[0].findings[0].detail


def test_the_default_profile_is_permissive(tmp_path: Path) -> None:
    """The streaming limits are errors; the default only warns far past them."""
    path = srt(tmp_path / "film.zh.srt", BROKEN["chars_per_line"])
    assert check_file(path).flagged == []
    assert check_file(path, profile="streaming").errors == 1


def test_file_language() -> None:
    assert file_language("film.zh-TW.srt", []) == "zh-TW"
    assert file_language("film.srt", ["河流在夏天干涸"]) == "zh"
    assert file_language("film.srt", ["The river"]) is None


def _cut_video(path: Path) -> Path:
    """4 s at 25 fps: red for 2 s, then blue (one shot change at 2.0 s)."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    argv = ["ffmpeg", "-v", "error", "-y"]
    for color in ("red", "blue"):
        argv += ["-f", "lavfi", "-i", f"color=c={color}:size=160x120:rate=25:d=2"]
    argv += ["-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]"]
    argv += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(argv, check=True, capture_output=True)
    return path


def test_shot_change_from_the_video(tmp_path: Path) -> None:
    video = _cut_video(tmp_path / "cut.mp4")
    crossing = srt(tmp_path / "a.zh.srt", [(1000, 3000, "河流在夏天干涸")])
    report = check_file(crossing, profile="streaming", video=video, workdir=tmp_path / "ws")
    assert report.shot_changes == 1
    assert [(f.cue, f.rules) for f in report.flagged] == [(1, ["shot_change"])]
    clean = srt(tmp_path / "b.zh.srt", [(200, 1900, "河流干涸"), (2100, 3900, "鸟群飞向南方")])
    assert (
        check_file(clean, profile="streaming", video=video, workdir=tmp_path / "ws").flagged == []
    )


# ------------------------------------------------------------------------ the command
def run(*args: str):
    return CliRunner().invoke(app, ["check", *args])


def test_json_lists_each_flagged_cue_with_its_rules(tmp_path: Path) -> None:
    path = srt(tmp_path / "film.zh.srt", BROKEN["reading_speed"])
    res = run(str(path), "--style", "streaming", "--json")
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout)
    assert obj["ok"] is True and obj["cues"] == 3 and obj["over_limits"] == 1
    assert [(f["cue"], f["rules"]) for f in obj["flagged"]] == [(2, ["reading_speed"])]
    assert obj["summary"]["reading_speed"] == {"level": "error", "cues": 1, "share": 0.3333}


def test_strict_fails_only_on_error_level_rules(tmp_path: Path) -> None:
    bad = srt(tmp_path / "bad.zh.srt", BROKEN["lines"])
    res = run(str(bad), "--style", "streaming", "--strict", "--json")
    assert res.exit_code == 1
    obj = json.loads(res.stdout)
    assert obj["ok"] is False and "error-level" in obj["error"] and obj["flagged"]
    warned = srt(tmp_path / "warn.zh.srt", BROKEN["min_duration"])  # a warning in streaming
    assert run(str(warned), "--style", "streaming", "--strict").exit_code == 0
    assert run(str(bad), "--style", "streaming").exit_code == 0  # without --strict: a report


def test_human_report(tmp_path: Path) -> None:
    res = run(str(srt(tmp_path / "film.zh.srt", BROKEN["overlap"])), "--style", "streaming")
    assert res.exit_code == 0, res.output
    assert "overlap" in res.stdout and "cue 2" in res.stdout and "Traceback" not in res.output


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--style", "nosuch"], "unknown style profile 'nosuch'"),
        (["--style", "{profile}"], "style profile: timing.min_gap_frames"),
        (["--video", "{missing}"], "missing.mp4"),
    ],
)
def test_bad_inputs_are_one_line(tmp_path: Path, args: list[str], needle: str) -> None:
    profile = tmp_path / "client.toml"
    profile.write_text("[timing]\nmin_gap_frames = -2\n")
    path = srt(tmp_path / "film.zh.srt", CLEAN)
    args = [a.format(profile=profile, missing=tmp_path / "missing.mp4") for a in args]
    res = run(str(path), *args)
    assert res.exit_code == 1
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and needle in errors[0], res.stderr
    assert "Traceback" not in res.output


# ------------------------------------------------------------------------ real files
@pytest.mark.realdata
def test_every_real_subtitle_file_checks(shared_data: Path, tmp_path: Path) -> None:
    from vloc.translator.topicvd import import_topicvd

    out = import_topicvd(
        shared_data / "topicvd-valid", tmp_path / "m.jsonl", srt_dir=tmp_path / "srt"
    )
    files = [*out.srt_files, shared_data / "multilingual-srt" / "pepper-and-carrot-ep06.msrt"]
    for path in files:
        for profile in ("default", "streaming"):
            report = check_file(path, profile=profile)
            assert report.cues == len(read_subtitles(path).cues)
    zh = [p for p in out.srt_files if p.name.endswith(".zh.srt")]
    assert zh and all(check_file(p).lang == "zh" for p in zh)


def test_undetermined_language_skips_the_script_rule_and_says_so(tmp_path: Path) -> None:
    path = srt(tmp_path / "film.srt", [(0, 2000, "Проект Моревна"), (2200, 4200, "Пеппер")])
    report = check_file(path, profile="streaming")
    assert report.lang == "und" and report.flagged == []
    assert any("language not named" in w for w in report.warnings)
    flagged = check_file(path, profile="streaming", lang="en").flagged
    assert [f.rules for f in flagged] == [["wrong_script"], ["wrong_script"]]
    assert check_file(path, profile="streaming", lang="ru").flagged == []
    with pytest.raises(InputError, match="--lang '12' is not a language tag"):
        check_file(path, lang="12")


def test_a_source_with_other_cues_is_matched_by_time_and_warned(tmp_path: Path) -> None:
    src = srt(tmp_path / "film.en.srt", [(1000, 3000, "The river dries up")])
    target = srt(tmp_path / "film.zh.srt", [(1000, 3000, "The river dries up"), *CLEAN[1:]])
    report = check_file(target, profile="streaming", source=src)
    assert [f.cue for f in report.flagged if "untranslated" in f.rules] == [1]
    assert any("1 cues for 3, 1 at the same times" in w for w in report.warnings)
