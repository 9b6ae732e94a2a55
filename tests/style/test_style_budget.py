"""`--style` on translate: each cue's budget in the LLM prompt, up to two condense re-asks for a
reply over it, then kept with a warning; the result counts the cues over budget before and after.
The endpoint is the scripted local server (tests/scripted_server.py)."""

from __future__ import annotations

import json
from pathlib import Path

from scripted_server import ScriptedServer, batch_of
from tiny_films import make_video
from typer.testing import CliRunner

from vloc.cli.app import app
from vloc.engines import EngineOptions, OpenAISettings, open_engine
from vloc.engines.base import BatchRequest, Line
from vloc.engines.prompts import user_prompt
from vloc.style.budget import cue_budget
from vloc.style.profile_file import load_profile

ZH = load_profile("streaming").for_language("zh")
LONG = "这是一句非常非常长的字幕翻译"  # 14 characters
SHORT = "短句"


def _user(body) -> str:
    return [m for m in body["messages"] if m["role"] == "user"][0]["content"]


def long_until_told(body) -> str:
    """Long translations, short ones for the lines a re-ask says are too long."""
    told = _user(body)
    return json.dumps(
        {k: (SHORT if f"line {k} is too long" in told else LONG) for k in batch_of(body)},
        ensure_ascii=False,
    )


def always_long(body) -> str:
    return json.dumps({k: LONG for k in batch_of(body)}, ensure_ascii=False)


def engine(url: str, warnings: list[str]):
    eng = open_engine(EngineOptions(OpenAISettings(base_url=url, model="tiny", max_retries=1)))
    eng._warn = warnings.append
    return eng


def request(budget_ms: int | None) -> BatchRequest:
    b = None if budget_ms is None else cue_budget(0, budget_ms, ZH)
    cues = (Line(1, "The river dries up.", budget=b), Line(2, "Birds fly south.", budget=b))
    return BatchRequest(cues=cues, source_lang="en", target_lang="zh")


def test_the_prompt_carries_each_lines_limit_only_with_a_style() -> None:
    assert 'Limits: {"1": 9, "2": 9}' in user_prompt(request(1000))
    assert "Limits" not in user_prompt(request(None))


def test_a_reply_over_budget_is_asked_once_to_condense() -> None:
    warnings: list[str] = []
    with ScriptedServer([long_until_told] * 3) as srv:
        res = engine(srv.url, warnings).translate_batch(request(1000))  # 9 characters each
        retry = _user(srv.requests[1])
    assert res.translations == {1: SHORT, 2: SHORT} and warnings == []
    assert len(srv.requests) == 2 and res.usage.reasks == 1 and res.usage.over_budget == 2
    assert "14 characters where the cue holds 9 characters (1.0 s at 9" in retry


def short_all(body) -> str:
    return json.dumps({k: SHORT for k in batch_of(body)}, ensure_ascii=False)


def first_long(body) -> str:
    """Line 1 long, line 2 short."""
    return json.dumps(
        {k: (LONG if k == "1" else SHORT) for k in batch_of(body)}, ensure_ascii=False
    )


def test_a_line_still_over_after_the_re_ask_gets_a_second_condense_round() -> None:
    warnings: list[str] = []
    with ScriptedServer([always_long, first_long, short_all]) as srv:
        res = engine(srv.url, warnings).translate_batch(request(1000))
        second = srv.requests[2]
    assert res.translations == {1: SHORT, 2: SHORT} and warnings == []
    assert len(srv.requests) == 3 and res.usage.reasks == 2 and res.usage.over_budget == 2
    assert list(batch_of(second)) == ["1"]  # only the line still over budget
    assert "line 1 is too long for its cue: 14 characters" in _user(second)


def test_still_over_after_two_condense_rounds_is_kept_with_a_warning() -> None:
    warnings: list[str] = []
    with ScriptedServer([always_long] * 4) as srv:
        res = engine(srv.url, warnings).translate_batch(request(1000))
    assert res.translations == {1: LONG, 2: LONG} and len(srv.requests) == 3
    assert res.usage.reasks == 2
    assert len(warnings) == 2 and all("too long" in w and "kept" in w for w in warnings)


def test_a_re_ask_that_fixes_a_worse_problem_is_kept_even_if_still_long() -> None:
    english = json.dumps({"1": "河流 dries", "2": SHORT}, ensure_ascii=False)
    warnings: list[str] = []
    with ScriptedServer([("reply", english), always_long, always_long]) as srv:
        res = engine(srv.url, warnings).translate_batch(request(1000))
    assert len(srv.requests) == 3  # the batch, line 1 alone, then one condense round
    assert res.translations == {1: LONG, 2: SHORT} and len(warnings) == 1


def test_the_warning_names_the_problem_of_the_reply_kept() -> None:
    latin = json.dumps({"1": "The river", "2": "Birds"})  # worse: the long first replies stay
    warnings: list[str] = []
    with ScriptedServer([always_long, ("reply", latin)]) as srv:
        res = engine(srv.url, warnings).translate_batch(request(1000))
    assert res.translations == {1: LONG, 2: LONG} and len(srv.requests) == 2
    assert len(warnings) == 2 and all("too long for its cue: 14 characters" in w for w in warnings)


def test_other_problems_are_asked_again_only_once() -> None:
    latin = json.dumps({"1": "The river", "2": "Birds"})
    with ScriptedServer([("reply", latin)] * 4) as srv:
        res = engine(srv.url, []).translate_batch(request(1000))
    assert len(srv.requests) == 2 and res.usage.reasks == 1
    assert res.translations == {1: "The river", 2: "Birds"}


def test_within_budget_nothing_is_asked_again() -> None:
    with ScriptedServer([always_long] * 3) as srv:
        res = engine(srv.url, []).translate_batch(request(2000))  # 18 characters each
    assert len(srv.requests) == 1 and res.usage.over_budget == 0


def _film(tmp_path: Path) -> tuple[Path, Path]:
    video = make_video(tmp_path / "river.mp4", seconds=4.0, fps=8, size="64x48")
    subs = tmp_path / "river.en.srt"
    subs.write_text(
        "1\n00:00:00,000 --> 00:00:01,000\nThe river dries up.\n\n"
        "2\n00:00:01,000 --> 00:00:03,000\nBirds fly south for the winter.\n\n"
        "3\n00:00:03,000 --> 00:00:04,000\nWinter comes.\n"
    )
    return video, subs


def test_translate_reports_cues_over_budget_before_and_after(tmp_path: Path) -> None:
    video, subs = _film(tmp_path)
    argv = ["translate", str(video), str(subs), "--to", "zh", "--engine", "openai", "--model",
            "tiny", "--batch-cues", "3", "--context", "none", "--style", "streaming", "--json"]  # fmt: skip
    with ScriptedServer([long_until_told] * 4) as srv:
        r = CliRunner().invoke(app, [*argv, "--base-url", srv.url])
        first = _user(srv.requests[0])
    assert r.exit_code == 0, r.output
    j = json.loads(r.stdout)
    # budgets: 1 s -> 9, 2 s -> 18, 1 s -> 9; LONG (14) is over on cues 1 and 3
    assert 'Limits: {"1": 9, "2": 18, "3": 9}' in first
    assert j["style"] == {
        "profile": "streaming", "over_budget_before": 2, "over_budget_after": 0,
        "condense_asked": True,
    }  # fmt: skip
    assert j["usage"]["over_budget"] == 2


def test_translate_without_condensing_counts_what_is_kept(tmp_path: Path) -> None:
    video, subs = _film(tmp_path)
    argv = ["translate", str(video), str(subs), "--to", "zh", "--engine", "openai", "--model",
            "tiny", "--context", "none", "--style", "streaming"]  # fmt: skip
    with ScriptedServer([always_long] * 4) as srv:
        r = CliRunner().invoke(app, [*argv, "--base-url", srv.url])
    assert r.exit_code == 0, r.output
    assert "style streaming: 2 cue(s) over budget in the first replies, 2 after" in r.stdout
    assert "2 of 3 cues are over their budget under the streaming profile" in r.stderr


def test_a_bad_style_fails_before_any_request(tmp_path: Path) -> None:
    video, subs = _film(tmp_path)
    with ScriptedServer() as srv:
        r = CliRunner().invoke(
            app,
            ["translate", str(video), str(subs), "--to", "zh", "--engine", "openai",
             "--model", "tiny", "--base-url", srv.url, "--style", "nosuch"],
        )  # fmt: skip
        assert srv.requests == []
    assert r.exit_code == 1 and "unknown style profile 'nosuch'" in r.stderr
    assert not (tmp_path / "river.zh.srt").exists()


def test_the_profile_carries_the_punctuation_convention(tmp_path: Path) -> None:
    """streaming keeps the engine's 。/， (no guide prescribes dropping them); a client's profile
    with punctuation = "subtitle" drops them; --punctuation still wins over the profile."""
    video, subs = _film(tmp_path)
    client = tmp_path / "client.toml"
    client.write_text('base = "streaming"\n[languages.zh]\npunctuation = "subtitle"\n')

    def prose(body) -> str:
        return json.dumps({k: "河流，干涸了。" for k in batch_of(body)}, ensure_ascii=False)

    def first_cue(*extra: str) -> str:
        out = tmp_path / "out.zh.srt"
        argv = ["translate", str(video), str(subs), "--to", "zh", "--engine", "openai",
                "--model", "tiny", "--context", "none", "-o", str(out), *extra]  # fmt: skip
        with ScriptedServer([prose] * 4) as srv:
            r = CliRunner().invoke(app, [*argv, "--base-url", srv.url])
        assert r.exit_code == 0, r.output
        return out.read_text(encoding="utf-8").split("\n")[2]

    assert first_cue("--style", "streaming") == "河流，干涸了。"
    assert first_cue("--style", str(client)) == "河流 干涸了"
    assert first_cue("--style", str(client), "--punctuation", "keep") == "河流，干涸了。"
    assert first_cue() == "河流 干涸了"  # the engines' default without a profile


def test_the_own_model_gets_the_same_count(tmp_path: Path) -> None:
    """vloc's own translator is not asked again: before and after are what it wrote."""
    from tiny_models import build_tiny_translator

    from vloc.style.budget import budgets, over_budget
    from vloc.subtitles import read_subtitles

    video, subs = _film(tmp_path)
    model = build_tiny_translator(tmp_path / "text-only", variant="text-only")
    r = CliRunner().invoke(
        app,
        ["translate", str(video), str(subs), "--to", "zh", "--model", str(model), "--beam", "1",
         "--style", "streaming", "--json"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    style = json.loads(r.stdout)["style"]
    cues = read_subtitles(tmp_path / "river.zh.srt").cues
    spans = [(c.start_ms, c.end_ms) for c in cues]
    over = sum(
        over_budget(c.text, b, "zh") is not None
        for c, b in zip(cues, budgets(spans, "zh", load_profile("streaming")), strict=True)
    )
    assert style == {
        "profile": "streaming", "over_budget_before": over, "over_budget_after": over,
        "condense_asked": False,
    }  # fmt: skip


def test_eval_translate_reports_hypotheses_and_references_over_the_limits(tmp_path: Path) -> None:
    refs = ["河流干涸了", "这是一句非常非常长的参考翻译字幕"]  # 5 and 16 characters in 1 s (9)
    cues = [{"index": i + 1, "start": 2 * i, "end": 2 * i + 1, "source": f"Line {i}.",
             "target": t} for i, t in enumerate(refs)]  # fmt: skip
    manifest = tmp_path / "m.jsonl"
    doc = {"id": "f", "source_lang": "en", "target_lang": "zh", "split": "test", "cues": cues}
    manifest.write_text(json.dumps(doc, ensure_ascii=False) + "\n")
    argv = ["eval", "translate", "--engine", "openai", "--model", "tiny", "--data",
            str(manifest), "--context", "none", "--json", "--style", "streaming"]  # fmt: skip
    for script, hyps_over, first in ((long_until_told, 0.0, 2), (always_long, 1.0, 2)):
        with ScriptedServer([script] * 3) as srv:
            r = CliRunner().invoke(
                app,
                [*argv, "--base-url", srv.url, "--journal-dir", str(tmp_path / script.__name__)],
            )
        assert r.exit_code == 0, r.output
        (row,) = json.loads(r.stdout)["models"].values()
        style = row["style"]
        assert style["profile"] == "streaming" and style["over_budget_first_replies"] == first
        assert style["hyps"]["over_budget"] == hyps_over
        assert style["refs"] == {"cues": 2, "over_budget": 0.5, "reading_speed": 0.5, "lines": 0.0}


def test_batch_passes_the_style_to_its_translate_tasks(tmp_path: Path) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    video, subs = _film(videos)
    subs.rename(videos / "river.srt")  # discovery pairs river.mp4 with river.srt
    argv = ["batch", str(videos), "--tasks", "translate:zh", "--engine", "openai", "--model",
            "tiny", "--context", "none", "--out", str(tmp_path / "out"), "--json"]  # fmt: skip
    bad = CliRunner().invoke(app, [*argv, "--base-url", "http://127.0.0.1:9", "--style", "x"])
    assert bad.exit_code == 1 and "unknown style profile 'x'" in bad.stderr
    assert not (tmp_path / "out").exists()
    with ScriptedServer([long_until_told] * 4) as srv:
        r = CliRunner().invoke(app, [*argv, "--base-url", srv.url, "--style", "streaming"])
        first = _user(srv.requests[0])
    assert r.exit_code == 0, r.output
    assert 'Limits: {"1": 9, "2": 18, "3": 9}' in first and len(srv.requests) == 2


def test_batch_translate_tasks_take_the_profiles_punctuation_too(tmp_path: Path) -> None:
    """`vloc batch --tasks translate:zh --style streaming` writes what `vloc translate --style
    streaming` writes: the profile's convention (keep), not the engines' default (subtitle)."""
    src = tmp_path / "src"
    src.mkdir()
    _film(src)

    def prose(body) -> str:
        return json.dumps({k: "河流，干涸了。" for k in batch_of(body)}, ensure_ascii=False)

    def first_cue(*extra: str) -> str:
        out = tmp_path / f"out{len(extra)}"
        argv = ["batch", str(src), "--tasks", "translate:zh", "--out", str(out), "--engine",
                "openai", "--model", "tiny", "--context", "none", *extra]  # fmt: skip
        with ScriptedServer([prose] * 4) as srv:
            r = CliRunner().invoke(app, [*argv, "--base-url", srv.url])
        assert r.exit_code == 0, r.output
        (written,) = out.rglob("river.zh.srt")
        return written.read_text(encoding="utf-8").split("\n")[2]

    assert first_cue("--style", "streaming") == "河流，干涸了。"
    assert first_cue() == "河流 干涸了"
