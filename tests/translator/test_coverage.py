"""The coverage check (vloc.coverage) and honest model defaults.

The shipped demo models know their own (synthetic) films and not real ones; without --model a
demo is refused on text it does not know, naming what exists and how to choose; --strict turns
the warning into exit 1; the choice of model fails before torch is imported; errors about a
model folder start with the folder's path.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_checks import one_error_line
from tiny_films import make_video
from typer.testing import CliRunner

from vloc.cli.app import app
from vloc.coverage import UNKNOWN_SHARE_LIMIT, language_tag, measure
from vloc.errors import WeightsError
from vloc.tokenization import Tokenizer, train_tokenizer

ROOT = Path(__file__).resolve().parents[2]
TRANSLATOR = ROOT / "models" / "synth-en-zh"
SUMMARIZER = ROOT / "models" / "synth-zh-en-summary"
EXAMPLES = ROOT / "examples"
REAL_EN = "The stock market crashed in 2008 and the banks were bailed out."
REAL_ZH = "股市在二〇〇八年崩溃，银行得到了救助。"
HELD_OUT = range(500, 505)  # synthetic films neither demo model was trained on


def write_srt(path: Path, *lines: str) -> Path:
    cues = [
        f"{i}\n00:00:{i:02d},000 --> 00:00:{i:02d},900\n{line}\n" for i, line in enumerate(lines, 1)
    ]
    path.write_text("\n".join(cues), encoding="utf-8")
    return path


def src_tokenizer(model: Path) -> Tokenizer:
    return Tokenizer.load(model / "src_tokenizer")


def cue_texts(path: Path) -> list[str]:
    from vloc.subtitles import read_subtitles

    return [c.text for c in read_subtitles(path).cues]


# ---------------------------------------------------------------- the measurement


def test_the_shipped_examples_and_held_out_synthetic_films_pass():
    from vloc.synthetic import SummarizationSetOptions, TranslationSetOptions
    from vloc.synthetic.summarization import plan_summary_film
    from vloc.synthetic.translation import plan_film

    film = measure(src_tokenizer(TRANSLATOR), cue_texts(EXAMPLES / "film.en.srt"))
    assert film.ok and film.words == 229 and film.unknown == 20  # the two made-up place names
    assert set(film.frequent) <= {"Notuni", "Latako"}
    talk = measure(src_tokenizer(SUMMARIZER), cue_texts(EXAMPLES / "talk.zh.srt"))
    assert talk.ok and talk.words > 150 and talk.unknown == 0
    options = TranslationSetOptions(seed=0, blocks=3, video=False)
    for i in HELD_OUT:
        lines = [c.en for c in plan_film(i, options)[0].cues]
        assert measure(src_tokenizer(TRANSLATOR), lines).share < UNKNOWN_SHARE_LIMIT / 2
        cues = plan_summary_film(i, SummarizationSetOptions(seed=0, video=False))[0].cues
        assert measure(src_tokenizer(SUMMARIZER), [c["zh"] for c in cues]).ok


def _topicvd_script():
    spec = importlib.util.spec_from_file_location(
        "topicvd_to_srt", ROOT / "scripts" / "topicvd_to_srt.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.realdata
def test_real_topicvd_films_and_how2_transcripts_fail_with_the_demo_models(shared_data, tmp_path):
    films = {
        lang: _topicvd_script().convert(shared_data / "topicvd-valid", tmp_path / lang, lang)
        for lang in ("en", "zh")
    }
    assert len(films["en"]) == len(films["zh"]) == 18
    for lang, model in (("en", TRANSLATOR), ("zh", SUMMARIZER)):
        tok = src_tokenizer(model)
        for film in films[lang]:
            cov = measure(tok, cue_texts(Path(film["srt"])))
            assert not cov.ok and cov.share > 0.5, (film["srt"], cov)
    for f in sorted((shared_data / "how2-mcls-demo").glob("*_art_pt.txt")):
        for transcript in f.read_text(encoding="utf-8").splitlines():
            if transcript.strip():
                assert not measure(src_tokenizer(SUMMARIZER), [transcript]).ok


def test_words_are_pieces_with_a_letter_and_unknown_means_not_one_symbol():
    tok = train_tokenizer(["the river is wide"] * 20 + ["河水很宽"] * 20, vocab_size=300, lang="en")
    cov = measure(tok, ["The river, 2008 — is wide!", "河水很深"])
    # words: The river is wide 河 水 很 深 (punctuation and the number are not words)
    assert cov.words == 8
    assert cov.unknown == 2 and set(cov.frequent) == {"The", "深"}  # capital T; an unseen hanzi
    assert cov.ok and cov.to_json()["unknown_share"] == 0.25
    empty = measure(tok, ["", "2008!"])
    assert empty.words == 0 and empty.share == 0.0 and empty.ok


def test_language_tags_of_subtitle_names():
    assert language_tag("film.en.srt") == "en"
    assert language_tag("film.pt_BR.vtt") == "pt_BR"
    assert language_tag("film.srt") is None and language_tag("my.film.srt") is None


# ---------------------------------------------------------------- the policy, through the CLI


def test_the_demo_translator_refuses_a_real_film_without_model(tmp_path):
    subs = write_srt(tmp_path / "real.en.srt", REAL_EN)
    video = tmp_path / "real.mp4"
    video.write_bytes(b"")  # must exist; never decoded: the refusal comes first
    r = CliRunner().invoke(app, ["translate", str(video), str(subs), "--to", "zh"])
    line = one_error_line(r)
    assert line.startswith(f"error: {subs}: not run through 'synth-en-zh'")
    for needle in ("demo", "synthetic", "63.6 %", "synth-en-zh (en→zh, demo)"):
        assert needle in line, line
    assert "vloc train translate" in line and "--model synth-en-zh" in line
    assert not (tmp_path / "real.zh.srt").exists()
    r = CliRunner().invoke(app, ["translate", str(video), str(subs), "--to", "zh", "--json"])
    assert r.exit_code == 1
    payload = json.loads(r.stdout)
    assert payload["ok"] is False and "not run through 'synth-en-zh'" in payload["error"]


def test_the_demo_is_refused_for_another_source_language_and_missing_pairs_list_models(tmp_path):
    subs = tmp_path / "film.de.srt"  # the example's English text, named as German
    shutil.copy(EXAMPLES / "film.en.srt", subs)
    (tmp_path / "film.mp4").write_bytes(b"")  # must exist; never decoded
    video = str(tmp_path / "film.mp4")
    r = CliRunner().invoke(app, ["translate", video, str(subs), "--to", "zh"])
    assert "its name says it is 'de'" in one_error_line(r)
    r = CliRunner().invoke(app, ["translate", video, str(subs), "--to", "fr"])
    line = one_error_line(r)
    assert "no installed model translates into 'fr'" in line
    assert "synth-en-zh (en→zh, demo)" in line and "--model" in line
    talk = write_srt(tmp_path / "real.zh.srt", REAL_ZH)
    r = CliRunner().invoke(app, ["summarize", video, str(talk), "--to", "fr"])
    assert "synth-zh-en-summary (zh→en, demo)" in one_error_line(r)


def test_the_demo_summarizer_refuses_a_real_transcript_and_strict_fails_with_model(tmp_path):
    talk = write_srt(tmp_path / "real.zh.srt", REAL_ZH)
    video = tmp_path / "real.mp4"
    video.write_bytes(b"")  # summarize checks that the video exists; it is never decoded here
    r = CliRunner().invoke(app, ["summarize", str(video), str(talk), "--to", "en"])
    line = one_error_line(r)
    assert line.startswith(f"error: {talk}: not run through 'synth-zh-en-summary'")
    assert "vloc train summarize" in line
    argv = ["summarize", str(video), str(talk), "--to", "en", "--model", "synth-zh-en-summary"]
    r = CliRunner().invoke(app, [*argv, "--strict"])
    assert "--strict" in one_error_line(r) and "does not know this text" in r.stderr
    assert not (tmp_path / "real.en.summary.md").exists()


def test_a_real_model_is_preferred_to_a_demo_and_two_real_ones_need_model(tmp_path):
    from vloc.summarizer.summarize import default_model
    from vloc.translator.loading import choose_model

    home = Path(os.environ["VLOC_HOME"]) / "models"  # an isolated home (conftest)
    assert choose_model(None, "zh").demo
    mine = shutil.copytree(TRANSLATOR, home / "mine-en-zh")
    info = json.loads((mine / "translator.json").read_text(encoding="utf-8"))
    (mine / "translator.json").write_text(json.dumps({**info, "demo": False}), encoding="utf-8")
    choice = choose_model(None, "zh")
    assert (choice.name, choice.demo, choice.by_default) == ("mine-en-zh", False, True)
    shutil.copytree(mine, home / "other-en-zh")
    with pytest.raises(WeightsError, match="several models"):
        choose_model(None, "zh")
    assert choose_model("synth-en-zh", "zh").demo  # named: always allowed
    summ = shutil.copytree(SUMMARIZER, home / "mine-zh-en")
    info = json.loads((summ / "summarizer.json").read_text(encoding="utf-8"))
    (summ / "summarizer.json").write_text(json.dumps({**info, "demo": False}), encoding="utf-8")
    assert default_model("en") == summ


@pytest.mark.slow
def test_json_reports_coverage_and_strict_turns_the_warning_into_exit_1(tmp_path):
    """The shipped translator on the example's subtitles (passes) and, named with --model, on a
    real line (warns, or fails with --strict); a plain lavfi video stands in for the films."""
    video = make_video(tmp_path / "film.mp4", seconds=4.0, fps=5, size="64x48")
    example = write_srt(tmp_path / "film.en.srt", *cue_texts(EXAMPLES / "film.en.srt")[:3])
    r = CliRunner().invoke(
        app, ["translate", str(video), str(example), "--to", "zh", "--json", "--beam", "1"]
    )
    assert r.exit_code == 0, r.output
    cov = json.loads(r.stdout)["coverage"]
    assert set(cov) == {"words", "unknown", "unknown_share", "limit", "ok", "frequent_unknown"}
    assert cov["ok"] is True and cov["limit"] == UNKNOWN_SHARE_LIMIT and cov["words"] == 22
    assert "does not know" not in r.stderr
    real = write_srt(tmp_path / "real.en.srt", REAL_EN)
    argv = ["translate", str(video), str(real), "--to", "zh", "--model", "synth-en-zh"]
    r = CliRunner().invoke(app, [*argv, "--json", "--beam", "1"])
    assert r.exit_code == 0, r.output
    payload = json.loads(r.stdout)
    assert payload["coverage"]["ok"] is False and payload["coverage"]["unknown"] == 7
    assert payload["coverage"]["frequent_unknown"][:2] == ["stock", "market"]
    assert any("does not know this text" in w for w in payload["warnings"])
    r = CliRunner().invoke(
        app, ["translate", str(video), str(real), "--to", "zh", "--model", "synth-en-zh"]
    )
    assert "coverage: 63.6 % of 11 words unknown to synth-en-zh" in r.stdout
    (tmp_path / "real.zh.srt").unlink()
    r = CliRunner().invoke(app, [*argv, "--strict"])
    assert one_error_line(r).startswith(f"error: {real}: --strict: demo translator 'synth-en-zh'")
    assert not (tmp_path / "real.zh.srt").exists()


@pytest.mark.slow
def test_batch_strict_fails_the_task_and_the_report_carries_the_warning(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    make_video(src / "real.mp4", seconds=2.0, fps=5, size="64x48")
    write_srt(src / "real.en.srt", REAL_EN)

    def batch(*extra: str) -> dict:
        out = tmp_path / f"out{len(extra)}"
        argv = ["batch", str(src), "--tasks", "translate:zh", "--out", str(out), "--json"]
        r = CliRunner().invoke(app, [*argv, *extra])
        (video,) = json.loads(r.stdout)["videos"]
        return {"exit": r.exit_code, **video}

    refused = batch()  # the demo, by default: refused
    assert refused["exit"] == 1 and "not run through 'synth-en-zh'" in refused["error"]
    strict = batch("--model", "synth-en-zh", "--strict")
    assert strict["exit"] == 1 and "--strict" in strict["error"]
    warned = batch("--model", "synth-en-zh")
    assert warned["exit"] == 0 and warned["status"] == "ok"
    assert any(w.startswith("translate:zh: ") and "does not know" in w for w in warned["warnings"])


# ---------------------------------------------------------------- fast failure, no torch


def run_cli(*argv: str, cwd: Path) -> tuple[int, str, set[str]]:
    """Run ``python -X importtime -m vloc ...``: (exit code, error line, modules imported)."""
    p = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "vloc", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "CI": "1"},
    )
    modules = {
        line.rsplit("|", 1)[-1].strip()
        for line in p.stderr.splitlines()
        if line.startswith("import time:")
    }
    errors = [line for line in p.stderr.splitlines() if line.startswith("error:")]
    return p.returncode, errors[0] if errors else p.stderr[-500:], modules


def test_choosing_a_model_fails_before_torch_is_imported(tmp_path):
    video = tmp_path / "film.mp4"
    video.write_bytes(b"")
    subs = write_srt(tmp_path / "film.en.srt", "The river is wide.")
    real_en = write_srt(tmp_path / "real.en.srt", REAL_EN)
    real_zh = write_srt(tmp_path / "real.zh.srt", REAL_ZH)
    bad = shutil.copytree(TRANSLATOR, tmp_path / "bad-model")
    info = json.loads((bad / "translator.json").read_text(encoding="utf-8"))
    info["features"]["backbone"] = "nope_net"
    (bad / "translator.json").write_text(json.dumps(info), encoding="utf-8")
    cases = {
        "no installed model translates into 'fr'": ["translate", video, subs, "--to", "fr"],
        "no installed summarizer writes 'fr'": ["summarize", video, subs, "--to", "fr"],
        "not run through 'synth-en-zh'": ["translate", video, real_en, "--to", "zh"],
        "not run through 'synth-zh-en-summary'": ["summarize", video, real_zh, "--to", "en"],
        f"{bad}: translator.json: unknown backbone 'nope_net'": [
            "translate", video, subs, "--to", "zh", "--model", bad
        ],
    }  # fmt: skip
    for needle, argv in cases.items():
        rc, line, modules = run_cli(*map(str, argv), cwd=tmp_path)
        assert rc == 1 and needle in line, (needle, line)
        assert "torch" not in modules and "faiss" not in modules, (needle, "imported torch")


# ---------------------------------------------------------------- errors name the folder


def test_errors_about_a_translator_folder_start_with_the_folder(tmp_path):
    from vloc.translator.loading import choose_model

    bad = shutil.copytree(TRANSLATOR, tmp_path / "bad")
    info_path = bad / "translator.json"
    info = json.loads(info_path.read_text(encoding="utf-8"))
    info_path.write_text(json.dumps({**info, "features": {**info["features"], "backbone": "x"}}))
    with pytest.raises(WeightsError) as e:
        choose_model(str(bad), "zh")
    assert str(e.value).startswith(f"{bad}: translator.json: unknown backbone 'x'")
    info_path.write_text(json.dumps(info))
    (bad / "backbone.safetensors").unlink()
    with pytest.raises(WeightsError) as e:
        choose_model(str(bad), "zh")
    assert str(e.value).startswith(f"{bad}: translator.json: backbone weights")
    assert "'backbone.safetensors' not found" in str(e.value)
    info_path.write_text("{not json")
    with pytest.raises(WeightsError) as e:
        choose_model(str(bad), "zh")
    assert str(e.value).startswith(f"{info_path}: the model information (translator.json) is not")
    info_path.write_text(json.dumps({**info, "demo": "yes"}))
    shutil.copy(TRANSLATOR / "backbone.safetensors", bad / "backbone.safetensors")
    with pytest.raises(WeightsError, match="'demo' must be true or false"):
        choose_model(str(bad), "zh")


def test_errors_about_a_summarizer_folder_start_with_the_folder(tmp_path):
    bad = shutil.copytree(SUMMARIZER, tmp_path / "bad")
    info_path = bad / "summarizer.json"
    info = json.loads(info_path.read_text(encoding="utf-8"))
    info_path.write_text(json.dumps({**info, "video": {**info["video"], "backbone": "nope_net"}}))
    talk = shutil.copy(EXAMPLES / "talk.zh.srt", tmp_path / "talk.zh.srt")
    video = tmp_path / "talk.mp4"
    video.write_bytes(b"")
    argv = ["summarize", str(video), str(talk), "--to", "en", "--model", str(bad)]
    line = one_error_line(CliRunner().invoke(app, argv))
    assert line.startswith(f"error: {bad}: summarizer.json: unknown backbone 'nope_net'")
    info_path.write_text(json.dumps(info))
    (bad / "backbone.safetensors").unlink()
    line = one_error_line(CliRunner().invoke(app, argv))
    assert line.startswith(f"error: {bad}: summarizer.json: backbone weights")
