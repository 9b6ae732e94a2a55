"""Secrets never reach a message or a file, endpoints are URLs, and every failure names its file.

Each case is one a hostile but realistic user met: a server that echoes the key in an HTTP 400,
credentials or a ``file://`` URL in ``--base-url``, a typo in ``engines.toml``, a negative
timeout, a dangling ``--workdir`` link, a training ``--out`` that is a file, a seq2seq folder
without its tokenizer, a hand-edited journal, a full disk, and the search header.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_checks import one_error_line
from scripted_server import ScriptedServer
from tiny_films import make_video
from typer.testing import CliRunner

from vloc.cli.app import app
from vloc.engines import EngineError, EngineOptions, OpenAISettings, open_engine
from vloc.engines.openai_api import check_base_url
from vloc.errors import InputError, VlocError
from vloc.redact import redact, redact_known, register_secret

KEY = "sk-proj-Zx81hostile0key0value0Qw"
SRT = "".join(
    f"{i + 1}\n00:00:0{i},000 --> 00:00:0{i},900\nLine {i} about the desert war.\n\n"
    for i in range(4)
)


@pytest.fixture
def film(tmp_path: Path) -> tuple[Path, Path]:
    video = make_video(tmp_path / "desert.mp4", seconds=4.0, fps=8, size="64x48")
    subs = tmp_path / "desert.en.srt"
    subs.write_text(SRT, encoding="utf-8")
    return video, subs


def _refusing_server(monkeypatch, message: str, *, times: int = 4) -> ScriptedServer:
    """With ``VLOC_API_KEY`` set to the key: a server that answers ``times`` requests with
    HTTP 400 and ``message`` as the OpenAI-style error."""
    monkeypatch.setenv("VLOC_API_KEY", KEY)
    body = json.dumps({"error": {"message": message}})
    return ScriptedServer([("status", 400, body)] * times)


def _files_text(root: Path) -> str:
    return "\n".join(
        p.read_bytes().decode("utf-8", "replace") for p in root.rglob("*") if p.is_file()
    )


# ---------------------------------------------------------------- the key in a server's message
def test_redact_hides_registered_values_and_token_shapes():
    register_secret("hunter2-long-secret")
    text = "key hunter2-long-secret, Authorization: Bearer abc.DEF-123 and sk-live-9f8e7d6c5b"
    shown = redact(text)
    assert "hunter2" not in shown and "abc.DEF" not in shown and "9f8e7d" not in shown
    assert "Bearer ***" in shown and "sk-***" in shown
    # files keep text that merely looks like a token; only registered values are removed
    assert redact_known("see sk-live-9f8e7d6c5b") == "see sk-live-9f8e7d6c5b"
    assert redact_known("x hunter2-long-secret y") == "x *** y"
    register_secret("abc")  # too short to hide everywhere: not registered
    assert redact("abc") == "abc"


def test_vloc_errors_are_redacted_at_their_source():
    register_secret(KEY)
    assert KEY not in str(VlocError(f"server said {KEY}", path="/x"))


def test_a_400_that_echoes_the_key_never_shows_it(film, tmp_path, monkeypatch):
    """HTTP 400 with ``Incorrect API key provided: Bearer <key>``: stderr, --json and the
    workspace hold no trace of the key."""
    video, subs = film
    out = tmp_path / "x.zh.srt"
    with _refusing_server(monkeypatch, f"Incorrect API key provided: Bearer {KEY}") as srv:
        res = CliRunner().invoke(
            app,
            ["translate", str(video), str(subs), "--to", "zh", "--engine", "openai",
             "--base-url", srv.url, "--model", "tiny", "--context", "none", "--retries", "0",
             "-o", str(out), "--json"],
        )  # fmt: skip
    line = one_error_line(res)
    assert srv.headers[0]["Authorization"] == f"Bearer {KEY}"  # it was sent
    assert "HTTP 400" in line and "Bearer ***" in line
    assert KEY not in res.output and KEY[7:20] not in res.output
    assert KEY not in json.loads(res.stdout)["error"]
    assert not out.exists() and KEY not in _files_text(tmp_path)


def test_a_key_under_another_name_is_hidden_by_its_shape(monkeypatch):
    """A proxy that echoes a key vloc never read (another variable's) is still hidden."""
    other = "sk-other0secret0never0read0by0vloc"
    with _refusing_server(monkeypatch, f"forbidden upstream key {other}", times=1) as srv:
        eng = open_engine(
            EngineOptions(OpenAISettings(base_url=srv.url, model="tiny", max_retries=0))
        )
        from vloc.engines.base import BatchRequest, Line

        req = BatchRequest(cues=(Line(1, "Hello."),), source_lang="en", target_lang="zh")
        with pytest.raises(EngineError) as e:
            eng.translate_batch(req)
    assert other not in str(e.value) and "sk-***" in str(e.value)


def test_batch_report_holds_no_key(film, tmp_path, monkeypatch):
    video, subs = film
    src = tmp_path / "src"
    src.mkdir()
    video, subs = video.rename(src / video.name), subs.rename(src / subs.name)
    out = tmp_path / "out"
    with _refusing_server(monkeypatch, f"Incorrect API key provided: {KEY}") as srv:
        res = CliRunner().invoke(
            app,
            ["batch", str(video.parent), "--tasks", "translate:zh", "--engine", "openai",
             "--base-url", srv.url, "--model", "tiny", "--out", str(out), "--json"],
        )  # fmt: skip
    assert res.exit_code == 1, res.output
    report = (out / "report.json").read_text(encoding="utf-8")
    assert "HTTP 400" in report
    assert KEY not in report and KEY not in res.output and KEY not in _files_text(out)


# ---------------------------------------------------------------- --base-url
@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("http://alice:secret@127.0.0.1:9/v1", "holds credentials"),
        ("https://bob@example.com/v1", "holds credentials"),
        ("file:///etc/passwd#", "not an http(s) URL"),
        ("not a url", "not an http(s) URL"),
        ("ftp://127.0.0.1/v1", "not an http(s) URL"),
        ("http:///v1", "not an http(s) URL"),
        ("http://127.0.0.1:port/v1", "not an http(s) URL"),
    ],
)
def test_base_url_must_be_http_without_credentials(url, needle):
    with pytest.raises(InputError, match=re.escape(needle)) as e:
        check_base_url(url)
    assert "secret" not in str(e.value) and "alice" not in str(e.value)
    assert "root:" not in str(e.value)  # never the start of a file


def test_base_url_accepts_plain_http_and_https():
    for url in ("http://127.0.0.1:8080/v1", "https://api.example.com/v1", "http://[::1]:9/v1"):
        assert check_base_url(url) == url


def test_base_url_with_a_password_is_refused_before_any_work(film, tmp_path):
    video, subs = film
    out = tmp_path / "x.zh.srt"
    res = CliRunner().invoke(
        app,
        ["translate", str(video), str(subs), "--to", "zh", "--engine", "openai", "--base-url",
         "http://alice:secret@127.0.0.1:9/v1", "--model", "m", "-o", str(out), "--json"],
    )  # fmt: skip
    line = one_error_line(res)
    assert "***@127.0.0.1:9" in line and "--api-key-env" in line
    assert "secret" not in res.output and "alice" not in res.output
    assert not out.exists() and not (tmp_path / "desert.mp4.vloc").exists()


def test_file_url_is_refused_and_prints_nothing_of_the_file(film, tmp_path):
    video, subs = film
    (tmp_path / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    res = CliRunner().invoke(
        app,
        ["translate", str(video), str(subs), "--to", "zh", "--engine", "openai", "--base-url",
         f"file://{tmp_path / 'passwd'}#", "--model", "m"],
    )  # fmt: skip
    assert "not an http(s) URL" in one_error_line(res) and "root:x" not in res.output


# ---------------------------------------------------------------- engine settings
@pytest.mark.parametrize(
    ("flags", "needle"),
    [
        (["--timeout", "-1"], "--timeout must be a positive number"),
        (["--timeout", "0"], "--timeout must be a positive number"),
        (["--retries", "-2"], "--retries must not be negative"),
        (["--base-url", "not a url"], "not an http(s) URL"),
    ],
)
def test_bad_engine_numbers_and_urls_name_the_flag(film, flags, needle):
    video, subs = film
    args = ["translate", str(video), str(subs), "--to", "zh", "--engine", "openai",
            "--base-url", "http://127.0.0.1:9/v1", "--model", "m", *flags]  # fmt: skip
    line = one_error_line(CliRunner().invoke(app, args))
    assert needle in line and "unexpected" not in line


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ("[openai]\ntemprature = 0.2\n", "unknown setting 'temprature' in [openai]"),
        ('engin = "openai"\n', "unknown setting 'engin' at the top level"),
        ('[openai]\nbatch_cues = "twenty"\n', "[openai] batch_cues must be int, not str"),
        ("[openai]\ntimeout_s = true\n", "[openai] timeout_s must be int or float, not bool"),
        ("openai = 3\n", "openai must be a table"),
    ],
)
def test_engines_toml_refuses_unknown_or_mistyped_settings(film, toml, needle):
    video, subs = film
    path = Path(os.environ["VLOC_HOME"]) / "engines.toml"
    path.write_text(toml, encoding="utf-8")
    res = CliRunner().invoke(app, ["translate", str(video), str(subs), "--to", "zh"])
    line = one_error_line(res)
    assert needle in line and str(path) in line


# ---------------------------------------------------------------- files and folders
def test_dangling_workdir_link_is_named(film, tmp_path):
    video, subs = film
    link = tmp_path / "work"
    link.symlink_to(tmp_path / "gone")
    res = CliRunner().invoke(app, ["index", str(video), str(subs), "--workdir", str(link)])
    line = one_error_line(res)
    assert "symbolic link" in line and "gone" in line and "does not exist" in line


def test_train_out_that_is_a_file_is_named(tmp_path):
    out = tmp_path / "run"
    out.write_text("not a folder")
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("{}\n")
    res = CliRunner().invoke(
        app, ["train", "translate", "--data", str(manifest), "--out", str(out)]
    )
    line = one_error_line(res)
    assert "is a file, not a folder" in line and str(out) in line
    assert out.read_text() == "not a folder"


def test_seq2seq_folder_without_tokenizer_says_so(tmp_path):
    from vloc.engines.seq2seq_folder import model_files

    folder = tmp_path / "marian"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "marian"}')
    (folder / "model.safetensors").write_bytes(b"\0" * 16)
    with pytest.raises(InputError, match="no tokenizer in the model folder") as e:
        model_files(folder)
    assert str(folder) in str(e.value)


def test_a_library_write_error_names_the_file(tmp_path):
    """A full disk makes safetensors raise its own error type (here: a file-size limit, which
    fails the write with EFBIG as a full disk fails it with ENOSPC); the message names the
    file and nothing is left behind."""
    code = f"""
import resource, signal, sys
import numpy as np
from safetensors.numpy import save_file
from vloc.errors import VlocError
from vloc.fileio import atomic_path
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
try:
    with atomic_path({str(tmp_path / "entry.safetensors")!r}) as tmp:
        save_file({{"x": np.zeros(1 << 16, np.float32)}}, str(tmp))
except VlocError as e:
    print(e)
    sys.exit(3)
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 3, res.stdout + res.stderr
    assert str(tmp_path / "entry.safetensors") in res.stdout and "cannot write" in res.stdout
    assert not list(tmp_path.iterdir())


def test_a_tampered_engine_journal_is_named(film, tmp_path):
    video, subs = film
    out = tmp_path / "x.zh.srt"
    with ScriptedServer() as srv:
        args = [
            "translate",
            str(video),
            str(subs),
            "--to",
            "zh",
            "--engine",
            "openai",
            "--base-url",
            srv.url,
            "--model",
            "tiny",
            "--context",
            "none",
            "-o",
            str(out),
        ]
        assert CliRunner().invoke(app, args).exit_code == 0
        folder = tmp_path / "desert.mp4.vloc" / "translations"
        (journal,) = [p for p in folder.glob("*.jsonl") if not p.name.endswith(".context.jsonl")]
        lines = journal.read_text(encoding="utf-8").splitlines()
        first = json.loads(lines[0])
        first["t"] = json.dumps(["only one line"])
        journal.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n", encoding="utf-8")
        line = one_error_line(CliRunner().invoke(app, [*args[:-1], str(tmp_path / "y.srt")]))
    assert str(journal) in line and "delete the file" in line


# ---------------------------------------------------------------- search header
def test_search_header_counts_videos_not_indexes(tmp_path):
    from tiny_models import build_tiny_sentence_model

    enc = build_tiny_sentence_model(tmp_path / "enc")
    video = make_video(tmp_path / "one.mp4", seconds=2.0, fps=8, size="64x48")
    for lang in ("en", "fr"):
        (tmp_path / f"one.{lang}.srt").write_text(SRT, encoding="utf-8")
        args = ["index", str(video), str(tmp_path / f"one.{lang}.srt"), "--encoder", str(enc)]
        assert CliRunner().invoke(app, args).exit_code == 0
    res = CliRunner().invoke(app, ["search", "desert", "--index", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    j = json.loads(res.stdout)
    assert (j["indexes"], j["videos"]) == (2, 1)
    res = CliRunner().invoke(app, ["search", "desert", "--index", str(tmp_path)])
    assert "in 1 video (2 indexes)" in " ".join(res.stdout.split())
