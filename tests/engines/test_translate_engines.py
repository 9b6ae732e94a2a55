"""`vloc translate --engine ...` end to end on a real (synthetic) film: same cues, same times,
the film's global context in the prompts, journal resume, glossary report, keyframes, secrets
kept out of every output. The endpoint here is the scripted local server; the real llama.cpp
server and in-process GGUF runs are in test_engine_real.py."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest
from scripted_server import ScriptedServer, batch_of
from tiny_films import film_folder, make_video
from tiny_subtitles import write_test_manifest
from typer.testing import CliRunner

from vloc.cli.app import app
from vloc.subtitles import read_subtitles

CUES = [
    "General Rommel arrived in Tripoli in February.",
    "The Afrika Korps was small at first.",
    "Tanks were unloaded at night.",
    "",
    "Rommel attacked at once.",
    "The British fell back towards Egypt.",
    "Tobruk held out for months.",
    "Rommel's supply lines were long.",
]


@pytest.fixture
def film(tmp_path: Path) -> tuple[Path, Path]:
    video = make_video(tmp_path / "desert.mp4", seconds=8.0, fps=8, size="64x48")
    blocks = [
        f"{i + 1}\n00:00:0{i},000 --> 00:00:0{i},900\n{text}\n" for i, text in enumerate(CUES)
    ]
    subs = tmp_path / "desert.en.srt"
    subs.write_text("\n".join(blocks))
    return video, subs


def _run(argv: list[str]) -> dict:
    r = CliRunner().invoke(app, argv)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_openai_engine_translates_every_cue_with_global_context_and_resumes(film, tmp_path):
    video, subs = film
    out = tmp_path / "desert.zh.srt"
    glossary = tmp_path / "terms.tsv"
    glossary.write_text("Rommel\t隆美尔\tGerman general\n")
    with ScriptedServer() as srv:
        argv = ["translate", str(video), str(subs), "--to", "zh", "--engine", "openai",
                "--base-url", srv.url, "--model", "tiny", "--batch-cues", "3",
                "--glossary", str(glossary), "--synopsis", "The desert war, 1941.",
                "-o", str(out), "--json"]  # fmt: skip
        j = _run(argv)
        sent = len(srv.requests)
        again = _run(argv)  # every batch from the journal
        assert len(srv.requests) == sent
    src, dst = read_subtitles(subs), read_subtitles(out)
    assert [(c.start_ms, c.end_ms) for c in dst.cues] == [(c.start_ms, c.end_ms) for c in src.cues]
    assert [bool(c.text) for c in dst.cues] == [bool(t) for t in CUES]
    assert j["engine"] == "openai" and j["translated"] == 7 and again["reused"] == 7
    assert j["usage"]["requests"] == sent and j["usage"]["prompt_tokens"] == 100 * sent
    assert j["context"]["mode"] == "global" and j["context"]["context_lines"] > 0
    system = srv.requests[-1]["messages"][0]["content"]
    assert "隆美尔" in system and "The desert war, 1941." in system
    user = srv.requests[-1]["messages"][1]["content"]
    assert "Related lines from elsewhere in the film" in user
    rommel = next(t for t in j["glossary"] if t["source"] == "Rommel")
    assert rommel["cues"] == 3 and rommel["honoured"] + rommel["missed"] == 3


def test_context_none_sends_the_batch_alone_and_window_only_previous_lines(film, tmp_path):
    video, subs = film
    with ScriptedServer() as srv:
        for mode in ("none", "window"):
            _run(["translate", str(video), str(subs), "--to", "zh", "--engine", "openai",
                  "--base-url", srv.url, "--model", "tiny", "--batch-cues", "3",
                  "--context", mode, "-o", str(tmp_path / f"{mode}.zh.srt"), "--json"])  # fmt: skip
        users = [r["messages"][1]["content"] for r in srv.requests]
    n_none = len(users) // 2
    assert not any("Related lines" in u or "Previous lines" in u for u in users[:n_none])
    assert any("Previous lines" in u for u in users[n_none:])
    assert not any("Related lines" in u for u in users[n_none:])


def test_keyframes_are_attached_for_an_image_model(film, tmp_path):
    video, subs = film
    with ScriptedServer() as srv:
        _run(["translate", str(video), str(subs), "--to", "zh", "--engine", "openai",
              "--base-url", srv.url, "--model", "tiny", "--images", "--frames", "2",
              "--batch-cues", "4", "-o", str(tmp_path / "f.zh.srt"), "--json"])  # fmt: skip
        content = srv.requests[0]["messages"][1]["content"]
    images = [p for p in content if p["type"] == "image_url"]
    assert len(images) == 2 and images[0]["image_url"]["url"].startswith("data:image/jpeg;base64,")


def test_unreachable_endpoint_fails_in_one_line_without_output(film, tmp_path, monkeypatch):
    video, subs = film
    monkeypatch.setenv("VLOC_API_KEY", "sk-never-shown")
    out = tmp_path / "x.zh.srt"
    r = CliRunner().invoke(
        app,
        ["translate", str(video), str(subs), "--to", "zh", "--engine", "openai", "--base-url",
         "http://127.0.0.1:9/v1", "--model", "m", "--retries", "0", "--context", "none",
         "-o", str(out), "--json"],
    )  # fmt: skip
    assert r.exit_code == 1 and not out.exists()
    assert "cannot reach http://127.0.0.1:9/v1" in json.loads(r.stdout)["error"]
    assert "sk-never-shown" not in r.output


def test_engine_settings_come_from_the_config_file(film, tmp_path, monkeypatch):
    video, subs = film
    with ScriptedServer() as srv:
        home = Path(os.environ["VLOC_HOME"])  # the isolated home of conftest
        (home / "engines.toml").write_text(
            f'engine = "openai"\n[openai]\nbase_url = "{srv.url}"\nmodel = "tiny"\n'
        )
        j = _run(["translate", str(video), str(subs), "--to", "zh", "-o",
                  str(tmp_path / "cfg.zh.srt"), "--json"])  # fmt: skip
    assert j["engine"] == "openai" and j["model"] == "tiny"
    (home / "engines.toml").write_text('[openai]\napi_key = "sk-1"\n')
    r = CliRunner().invoke(
        app, ["translate", str(video), str(subs), "--to", "zh", "--engine", "openai"]
    )
    assert r.exit_code == 1 and "api_key_env" in r.stderr and "sk-1" not in r.stderr


def test_eval_translate_scores_an_engine_and_resumes_from_its_journal(tmp_path):
    manifest = write_test_manifest(tmp_path / "m.jsonl", CUES)
    with ScriptedServer() as srv:
        argv = ["eval", "translate", "--engine", "openai", "--base-url", srv.url, "--model",
                "tiny", "--data", str(manifest), "--batch-cues", "4", "--json",
                "--journal-dir", str(tmp_path / "j")]  # fmt: skip
        first = _run(argv)
        sent = len(srv.requests)
        second = _run(argv)
        assert len(srv.requests) == sent  # every batch from the journal
    (row,) = first["models"].values()
    assert row["cues"] == 14 and row["lost_or_merged"] == 0 and row["usage"]["requests"] == sent
    assert "bleu" in row and row["terms"]["terms"] >= 0
    (again,) = second["models"].values()
    for key in ("bleu", "chrf", "meteor", "terms", "cues", "lost_or_merged"):
        assert again[key] == row[key], key  # the same hypotheses, from the journal


def test_term_consistency_counts_recurring_names():
    from vloc.engines.evaluate import term_consistency

    src = ["Then Rommel attacked.", "Later Rommel waited.", "So Rommel won.", "Rain fell."]
    refs = ["隆美尔进攻了。", "隆美尔等待着。", "隆美尔赢了。", "下雨了。"]
    good = term_consistency(src, refs, refs, ["f"] * 4)
    mixed = term_consistency(
        src, ["隆美尔进攻。", "雷姆等待。", "罗梅尔赢了。", "雨。"], refs, ["f"] * 4
    )
    assert good == {"terms": 1, "reference": 1.0, "majority": 1.0}
    assert mixed["terms"] == 1 and mixed["reference"] < 0.5 and mixed["majority"] < 1.0


def test_batch_translates_every_video_with_an_engine(film, tmp_path):
    video, subs = film
    src = film_folder(tmp_path / "films", video, subs, ("one", "two"))
    out = tmp_path / "out"
    with ScriptedServer() as srv:
        j = _run(["batch", str(src), "--tasks", "translate:zh", "--out", str(out), "--engine",
                  "openai", "--base-url", srv.url, "--model", "tiny", "--context", "window",
                  "--json"])  # fmt: skip
    assert j["summary"]["failed"] == 0 and len(j["videos"]) == 2
    for name in ("one", "two"):
        dst = read_subtitles(out / name / f"{name}.zh.srt")
        assert [c.start_ms for c in dst.cues] == [c.start_ms for c in read_subtitles(subs).cues]
        assert dst.cues[0].text.startswith("译")


def test_summarize_with_an_engine_map_reduce_and_reask(film, tmp_path):
    from vloc.engines import EngineOptions, OpenAISettings
    from vloc.engines.summarize import chunk_transcript, summarize_with_engine

    assert chunk_transcript(["aaaa", "bbbb", "", "cccc"], 9) == ["aaaa bbbb", "cccc"]
    video, subs = film
    summary = json.dumps(
        {"summary": "这部影片讲述了1941年的沙漠战争和隆美尔。"}, ensure_ascii=False
    )
    script = ['{"summary": "An English summary."}', *([lambda body: summary] * 10)]
    with ScriptedServer(script) as srv:
        opts = EngineOptions(OpenAISettings(base_url=srv.url, model="tiny"))
        out = summarize_with_engine(video, subs, to="zh", options=opts, chunk_chars=120)
        maps = [
            r
            for r in srv.requests
            if len(r["messages"]) == 2 and "Part " in r["messages"][1]["content"]
        ]
    assert out["parts"] == len(maps) > 1 and out["usage"]["reasks"] == 1
    assert out["summary"].startswith("这部影片") and Path(out["output"]).read_text().startswith(
        "# Summary (zh)"
    )
    # the CLI, one part, and the output guard
    with ScriptedServer([lambda body: summary] * 3) as srv:
        j = _run(["summarize", str(video), str(subs), "--to", "zh", "--engine", "openai",
                  "--base-url", srv.url, "--model", "tiny", "-o", str(tmp_path / "s.md"), "--json"])  # fmt: skip
    assert j["parts"] == 1 and "隆美尔" in j["summary"]
    r = CliRunner().invoke(app, ["summarize", str(video), str(subs), "--to", "zh", "--engine",
                                 "openai", "--base-url", "http://127.0.0.1:9/v1", "--model", "m",
                                 "-o", str(subs)])  # fmt: skip
    assert r.exit_code == 1 and "overwrite" in r.stderr


def test_draft_writes_a_glossary_and_synopsis_to_edit(film, tmp_path):
    video, subs = film

    def drafter(body):
        user = body["messages"][1]["content"]
        assert "Rommel" in user.split("Names and terms seen in this part:")[1]  # seeded
        return json.dumps(
            {"synopsis": "The desert war of 1941.",
             "terms": [{"source": "Rommel", "target": "隆美尔", "note": "general"},
                       {"source": "Montgomery", "target": "蒙哥马利"},  # not in the film
                       {"source": "Tobruk", "target": "Tobruk"}]},  # not in the target script
            ensure_ascii=False,
        )  # fmt: skip

    with ScriptedServer([drafter] * 3) as srv:
        j = _run(["translate", str(video), str(subs), "--to", "zh", "--engine", "openai",
                  "--base-url", srv.url, "--model", "tiny", "--draft", "--json"])  # fmt: skip
    assert j["terms"] == 1 and not (subs.parent / "desert.zh.srt").exists()
    assert Path(j["glossary"]).read_text().splitlines()[1] == "Rommel\t隆美尔\tgeneral"
    assert Path(j["synopsis"]).read_text().strip() == "The desert war of 1941."


def test_a_drafted_glossary_reads_back_whatever_the_model_wrote(film, tmp_path):
    """Tabs and newlines inside a drafted term would split its row of the TSV file: a wrong
    target, a bogus term, or a file vloc refuses."""
    from vloc.glossary.file import read_glossary

    video, subs = film
    terms = [{"source": "Rommel", "target": "隆美尔\t将军\n元帅", "note": "a\tgeneral\n"},
             {"source": "Afrika\n  Korps", "target": "非洲\t军团"}]  # fmt: skip

    def drafter(body):
        return json.dumps({"synopsis": "War.\n\tDesert.", "terms": terms}, ensure_ascii=False)

    with ScriptedServer([drafter] * 3) as srv:
        j = _run(["translate", str(video), str(subs), "--to", "zh", "--engine", "openai",
                  "--base-url", srv.url, "--model", "tiny", "--draft", "--json"])  # fmt: skip
    got = [(t.source, t.target, t.note) for t in read_glossary(j["glossary"])]
    assert got == [("Rommel", "隆美尔 将军 元帅", "a general"), ("Afrika Korps", "非洲 军团", "")]
    assert j["terms"] == 2


def test_seq2seq_engine_through_the_cli_keeps_every_cue(film, tmp_path):
    pytest.importorskip("sentencepiece")
    from tiny_seq2seq import build_tiny_marian

    model = build_tiny_marian(tmp_path / "opus-mt-en-zh-tiny")
    video, subs = film
    out = tmp_path / "s2s.zh.srt"
    glossary = tmp_path / "terms.tsv"
    glossary.write_text("Rommel\t隆美尔\n")
    j = _run(["translate", str(video), str(subs), "--to", "zh", "--engine", "seq2seq", "--model",
              str(model), "--glossary", str(glossary), "-o", str(out), "--json"])  # fmt: skip
    dst = read_subtitles(out)
    assert [c.start_ms for c in dst.cues] == [c.start_ms for c in read_subtitles(subs).cues]
    assert j["engine"] == "seq2seq" and j["translated"] == 7 and j["context"]["mode"] == "none"
    assert next(t for t in j["glossary"] if t["source"] == "Rommel")["cues"] == 3
    again = _run(["translate", str(video), str(subs), "--to", "zh", "--engine", "seq2seq",
                  "--model", str(model), "--glossary", str(glossary), "-o", str(out), "--json"])  # fmt: skip
    assert again["reused"] == 7


def test_eval_draft_pass_seeds_each_film_and_subtitle_punctuation(tmp_path):
    """``eval translate --draft``: one draft per film (kept, so a second run asks nothing), its
    terms in the translation prompts after --glossary's; replies get Chinese subtitle
    punctuation unless --punctuation keep or the --style profile keeps it."""
    manifest = write_test_manifest(tmp_path / "m.jsonl", CUES)
    glossary = tmp_path / "terms.tsv"
    glossary.write_text("Rommel\t隆美尔\n")
    drafted = json.dumps(
        {"synopsis": "The desert war.", "terms": [{"source": "Rommel", "target": "罗梅尔"},
                                                  {"source": "Tobruk", "target": "托布鲁克"}]},
        ensure_ascii=False,
    )  # fmt: skip

    def reply(body):
        if "Names and terms seen in this part" in body["messages"][1]["content"]:
            return drafted
        lines = batch_of(body)
        return json.dumps({k: f"译{k}，好。" for k in lines}, ensure_ascii=False)

    argv = ["eval", "translate", "--engine", "openai", "--model", "tiny", "--data",
            str(manifest), "--batch-cues", "4", "--glossary", str(glossary), "--draft",
            "--journal-dir", str(tmp_path / "j"), "--json"]  # fmt: skip
    with ScriptedServer([reply] * 30) as srv:
        first = _run([*argv, "--base-url", srv.url])
        drafts = [r for r in srv.requests if "Names and terms" in r["messages"][1]["content"]]
        systems = [r["messages"][0]["content"] for r in srv.requests if r not in drafts]
        sent = len(srv.requests)
        again = _run([*argv, "--base-url", srv.url])["models"]
        assert len(srv.requests) == sent  # drafts and batches both reused
        from vloc.engines import EngineOptions, OpenAISettings
        from vloc.engines.evaluate import evaluate_engine

        opts = EngineOptions(OpenAISettings(base_url=srv.url, model="tiny"), batch_cues=4,
                             context="none")  # fmt: skip
        _, _, styled = evaluate_engine(opts, manifest, journal_dir=tmp_path / "k")
        _, _, kept = evaluate_engine(
            dataclasses.replace(opts, punctuation="keep"), manifest, journal_dir=tmp_path / "k"
        )  # the streaming profile's convention is to keep what the translation has
        _, _, profiled = evaluate_engine(
            opts, manifest, journal_dir=tmp_path / "k", style="streaming"
        )
    assert len(drafts) == 2  # one per film
    assert all("Synopsis of the film: The desert war." in s for s in systems)
    tobruk = [s for s in systems if "Tobruk" in s]
    assert tobruk and all("Tobruk => 托布鲁克" in s for s in tobruk)
    assert not any("罗梅尔" in s for s in systems)  # --glossary's rendering wins
    (name,) = first["models"]
    row = first["models"][name]
    assert name.endswith(":glossary:draft")
    assert row["usage"]["draft_requests"] == 2 and row["lost_or_merged"] == 0
    assert styled["hyps"][0] == "译1 好" and kept["hyps"][0] == "译1，好。"
    assert profiled["hyps"][0] == "译1，好。"
    for key in ("chrf", "terms", "cues", "lost_or_merged"):
        assert again[name][key] == row[key], key
