"""Hostile text from files and engines: it never drives the terminal (no markup, no emoji
codes, no escapes), never yields a subtitle file vloc cannot read back, and a runaway reply
is never written; side inputs (synopsis, glossary, engines.toml, manifests) are read with a
size limit."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from scripted_server import ScriptedServer, batch_of
from tiny_models import build_tiny_sentence_model
from tiny_subtitles import FILMS, write_srt
from typer.testing import CliRunner

from vloc.cli._ui import UI, SafeConsole
from vloc.cli.app import app
from vloc.engines import EngineOptions, OpenAISettings, open_engine
from vloc.engines.base import BatchRequest, Line
from vloc.errors import SubtitleError
from vloc.index import build_index
from vloc.style.readability import break_text
from vloc.subtitles import Cue, read_subtitles, write_subtitles


def written_text(text: str, fmt: str = "srt") -> str:
    """The writer's rules for a text (imported late: older trees lack it)."""
    from vloc.subtitles.write import written_text as rules

    return rules(text, fmt)


MARKUP = "[link=http://e.x]here[/link] [bold]loud[/bold] :x:"
ESCAPES = "\x1b]8;;http://e.x\x07link\x1b]8;;\x07 \x1b[2J\x1b[1mloud\x07 bell\x9b31m"
HOSTILE_TEXTS = [
    "99 00:00:00,000 --> 00:00:01,000",  # a timing line with a number before it
    "000 --> 00:00:01,000",  # the tail of a timing line broken at its comma
    "00:00:01,000 --> 00:00:02,000",
    "00:00:01.000 --> 00:00:02.000 align:start",
    "00:00:01,000 -> 00:00:02,000",  # two times without an arrow
    "low --> high",  # dialogue with an arrow: WebVTT forbids it
    "1 --> 2",
    "-->",
    "a -->\n--> b",
    "12\n00:00:03,000",  # a number, then a lone time
    "NOTE this\nSTYLE that\nREGION\nWEBVTT",
    "first\n\n\nafter blank lines",
    "crlf\r\nand cr\rline",
    ESCAPES,
    MARKUP,
    "\ufeffbom 汉字 --> 字幕",
    "",
]


def _cues(texts: list[str]) -> list[Cue]:
    return [Cue(k + 1, 1000 * k, 1000 * k + 900, t) for k, t in enumerate(texts)]


# ---------------------------------------------------------------- 6: written files read back


@pytest.mark.parametrize("suffix", [".srt", ".vtt"])
def test_every_written_file_parses_back_to_the_same_cues(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"hostile{suffix}"
    fmt = suffix[1:]
    cues = _cues([f"before\n{t}\nafter" for t in HOSTILE_TEXTS] + HOSTILE_TEXTS)
    write_subtitles(path, cues)
    back = read_subtitles(path)
    assert [(c.start_ms, c.end_ms, c.text) for c in back.cues] == [
        (c.start_ms, c.end_ms, written_text(c.text, fmt)) for c in cues
    ]
    data = path.read_text(encoding="utf-8")
    for control in ("\x1b", "\x07", "\x9b", "\r"):
        assert control not in data
    if fmt == "vtt":
        assert "low --&gt; high" in data
        assert sum("-->" in line for line in data.splitlines()) == len(cues)
    else:
        assert "\nlow --> high\n" in data  # dialogue stays as it is in SRT
    # the rules keep ordinary text as it is, and are stable
    for text in ("Hello there.", "<i>Two</i> lines,\n{\\an8}top", "Meet at 10:30 --> the bridge"):
        assert written_text(text, "srt") == text
    for text in HOSTILE_TEXTS:
        assert written_text(written_text(text, fmt), fmt) == written_text(text, fmt)


def test_a_reply_holding_a_timing_line_cannot_break_the_srt(tmp_path: Path) -> None:
    """The line breaker once split such a reply at its comma, writing a line the parser
    rejects (``000 --> 00:00:01,000``); whatever the break, the file reads back."""
    reply = "第九十九 99 00:00:00,000 --> 00:00:01,000 这是一段很长的回答，超出了一行"
    broken, _ = break_text(reply, "zh")
    assert "000 --> 00:00:01" not in broken.split("\n")[-1][:5]  # not split inside the time
    path = tmp_path / "film.zh.srt"
    write_subtitles(path, _cues([broken, "000 --> 00:00:01,000 好"]))
    back = read_subtitles(path)
    assert [c.text for c in back.cues] == [
        written_text(broken),
        written_text("000 --> 00:00:01,000 好"),
    ]


def test_vtt_identifiers_and_settings_cannot_hide_cues(tmp_path: Path) -> None:
    with pytest.raises(SubtitleError, match="identifier"):
        write_subtitles(tmp_path / "x.vtt", _cues(["a"]), identifiers={0: "a --> b"})
    with pytest.raises(SubtitleError, match="identifier"):
        write_subtitles(tmp_path / "x.vtt", _cues(["a"]), identifiers={0: "NOTE x"})
    assert not (tmp_path / "x.vtt").exists()


def test_line_breaking_a_runaway_reply_is_quick() -> None:
    """A 400,000-character reply took 498 s to break (quadratic in the text): now well
    under a second in any script."""
    for unit in ("这是一个很长的句子，", "a runaway reply, ", "x" * 1000 + " "):
        body = (unit * (400_000 // len(unit) + 1))[:400_000]
        t0 = time.perf_counter()
        text, fits = break_text(body, "zh" if unit[0] == "这" else "en")
        assert time.perf_counter() - t0 < 1.0, unit[:10]
        assert not fits and text.count("\n") == 1
        assert abs(len(text.split("\n")[0]) - 200_000) < 1000  # the most even split


# ---------------------------------------------------------------- 6: engine replies


def _engine(url: str, warnings: list[str]):
    opts = EngineOptions(OpenAISettings(base_url=url, model="tiny", max_retries=1))
    eng = open_engine(opts)
    eng.backend._sleep = lambda s: None
    eng._warn = warnings.append
    return eng


LINES = tuple(Line(n, f"Line number {n} about the river.") for n in range(1, 4))


def test_a_runaway_reply_is_rejected_not_written() -> None:
    """A line of 400,000 characters, twice: the cue keeps its source text, with a warning,
    counted as untranslated; the rest of the batch is kept."""
    huge = "长" * 400_000

    def runaway(body):
        return json.dumps({k: (huge if k == "2" else f"译{k}") for k in batch_of(body)})

    warnings: list[str] = []
    t0 = time.perf_counter()
    with ScriptedServer([runaway] * 4) as srv:
        res = _engine(srv.url, warnings).translate_batch(
            BatchRequest(cues=LINES, source_lang="en", target_lang="zh")
        )
    assert res.translations == {1: "译1", 2: LINES[1].source, 3: "译3"}
    assert res.usage.untranslated == 1 and res.usage.reasks == 1
    assert len(warnings) == 1 and "line 2 ran away" in warnings[0] and "400,000" in warnings[0]
    assert time.perf_counter() - t0 < 10


def test_terminal_escapes_in_a_reply_never_reach_the_translation() -> None:
    def escapes(body):
        return json.dumps({k: f"译{k}{ESCAPES}\x00" for k in batch_of(body)})

    with ScriptedServer([escapes]) as srv:
        res = _engine(srv.url, []).translate_batch(
            BatchRequest(cues=LINES, source_lang="en", target_lang="zh")
        )
    for text in res.translations.values():
        assert not any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F for ch in text), repr(text)
        assert "link" in text and "loud" in text and "bell" in text


def test_every_string_of_a_reply_loses_its_escapes() -> None:
    """Translations, summaries and drafts all read replies through json_object."""
    from vloc.engines.replies import json_object

    reply = json.dumps(
        {"summary": f"A{ESCAPES}", "terms": [{"source": "R\x1b[1m", "note": ["\x07x"]}], "n": 3}
    )
    assert json_object(reply) == {
        "summary": "Alink loud bell",
        "terms": [{"source": "R", "note": ["x"]}],
        "n": 3,
    }


# ---------------------------------------------------------------- 5: markup reaches rich as text


def _terminal_ui() -> tuple[UI, io.StringIO]:
    ui = UI()
    buf = io.StringIO()
    ui.err = SafeConsole(file=buf, force_terminal=True, color_system="truecolor", width=300)
    return ui, buf


def test_warnings_and_errors_print_markup_and_emoji_codes_as_text() -> None:
    ui, buf = _terminal_ui()
    ui.warn(f"cue 3: {MARKUP}")
    ui.error(f"'00:00:aa:x:[b],000': {MARKUP}")
    ui.info(MARKUP)
    ui.err.print(MARKUP, markup=True, emoji=True)  # a caller's markup=True changes nothing
    out = buf.getvalue()
    assert out.count(MARKUP) == 4 and "'00:00:aa:x:[b],000'" in out
    assert "❌" not in out and "\x1b]8" not in out and "\x1b[1m" not in out
    plain = SafeConsole(file=io.StringIO(), force_terminal=True, width=300)
    plain.print(MARKUP + " " + ESCAPES)
    assert "\x1b" not in plain.file.getvalue().replace("\\x1b", "")  # shown, never sent


def test_cli_error_naming_a_file_keeps_emoji_codes(tmp_path: Path) -> None:
    video = tmp_path / "film.mp4"
    video.write_bytes(b"not decoded")
    missing = tmp_path / "a:x:[bold]b.srt"
    res = CliRunner().invoke(
        app,
        ["index", str(video), str(missing), "--workdir", str(tmp_path / "w")],
        env={"FORCE_COLOR": "1", "COLUMNS": "300"},
    )
    assert res.exit_code == 1
    assert str(missing) in res.stderr and "❌" not in res.stderr, res.stderr
    assert "\x1b]8" not in res.stderr


@pytest.fixture(scope="module")
def markup_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("markup-archive")
    model = build_tiny_sentence_model(d / "enc")
    video = d / "savanna.mp4"
    video.write_bytes(b"video bytes are not decoded by the index")
    subs = write_srt(d / "savanna.en.srt", [*FILMS["savanna.mp4"], MARKUP], step_ms=61_000)
    build_index(video, subs, encoder=model, workdir=d / "archive")
    return d / "archive"


def test_search_table_shows_cue_markup_as_text(markup_archive: Path) -> None:
    res = CliRunner().invoke(
        app,
        ["search", "here loud", "--index", str(markup_archive), "-k", "4"],
        env={"FORCE_COLOR": "1", "COLUMNS": "400"},
    )
    assert res.exit_code == 0, res.stderr
    assert "\x1b[" in res.stdout  # a terminal: rich styles the table
    assert MARKUP in res.stdout and "❌" not in res.stdout
    assert "\x1b]8" not in res.stdout  # no hyperlink


# ---------------------------------------------------------------- 7: side inputs are bounded

ZERO_READS = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 31, 1 << 31))
from pathlib import Path
from vloc.errors import VlocError
out = {}
def attempt(name, fn):
    try:
        fn()
        out[name] = "read"
    except VlocError as e:
        out[name] = str(e)
    except MemoryError:
        out[name] = "MemoryError"
from vloc.engines.options import read_config, resolve
from vloc.glossary.file import read_glossary
from vloc.batch.discovery import discover
from vloc.manifest import read_manifest
from vloc.align.data import read_manifest as read_align_manifest
base = {"kind": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m"}
attempt("synopsis", lambda: resolve({**base, "synopsis": "@" + sys.argv[1]}, config={}))
attempt("glossary", lambda: read_glossary(sys.argv[1]))
attempt("engines.toml", lambda: read_config(Path(sys.argv[1])))
attempt("batch manifest", lambda: discover(Path(sys.argv[2])))
attempt("manifest", lambda: read_manifest(sys.argv[1]))
attempt("align manifest", lambda: read_align_manifest(sys.argv[1]))
print(json.dumps(out))
"""


def _read_all(tmp_path: Path, path: Path, manifest: Path) -> dict[str, str]:
    """Every side-input reader on ``path`` in a subprocess with 2 GiB of address space (an
    unbounded read of /dev/zero there is a MemoryError, not a machine out of memory)."""
    proc = subprocess.run(
        [sys.executable, "-c", ZERO_READS, str(path), str(manifest)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero on this system")
def test_dev_zero_as_a_side_input_is_one_clear_line(tmp_path: Path) -> None:
    link = tmp_path / "m.jsonl"
    link.symlink_to("/dev/zero")
    got = _read_all(tmp_path, Path("/dev/zero"), link)
    for name, message in got.items():
        assert "/dev/zero" in message or str(link) in message, (name, message)
        assert "character device, not a regular file" in message, (name, message)


def test_a_large_side_input_names_the_file_and_the_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.jsonl"
    with open(big, "wb") as f:  # sparse: 3 GiB on paper, nothing on disk
        f.truncate(3 << 30)
    got = _read_all(tmp_path, big, big)
    for name, message in got.items():
        assert str(big) in message and "3,221,225,472 bytes" in message, (name, message)
        assert "over its limit of" in message and "iB" in message, (name, message)


def test_synopsis_limit_through_the_command_line(tmp_path: Path) -> None:
    video = tmp_path / "film.mp4"
    video.write_bytes(b"not decoded")
    subs = write_srt(tmp_path / "film.en.srt", ["Hello."])
    synopsis = tmp_path / "syn.txt"
    synopsis.write_text("x" * (2 << 20), encoding="utf-8")
    res = CliRunner().invoke(
        app,
        ["translate", str(video), str(subs), "--to", "zh", "--engine", "openai",
         "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--synopsis", f"@{synopsis}",
         "--json"],
    )  # fmt: skip
    assert res.exit_code == 1
    err = json.loads(res.stdout)["error"]
    assert str(synopsis) in err and "synopsis" in err and "limit" in err
    assert not (tmp_path / "film.zh.srt").exists()


def test_subtitles_that_are_a_device_or_a_folder_are_named_so(tmp_path: Path) -> None:
    """Not 'subtitle file not found': what the path is instead."""
    video = tmp_path / "film.mp4"
    video.write_bytes(b"not decoded")
    for subs, kind in (("/dev/zero", "character device"), (str(tmp_path), "folder")):
        if not Path(subs).exists():
            continue
        res = CliRunner().invoke(app, ["index", str(video), subs, "--workdir", str(tmp_path / "w")])
        assert res.exit_code == 1 and kind in res.stderr and "not found" not in res.stderr
        with pytest.raises(SubtitleError, match=kind):
            read_subtitles(subs)


def test_a_text_line_holding_an_arrow_is_named_for_what_it_is(tmp_path: Path) -> None:
    """Two times and then '-->' was 'timing line without -->'; it is a timing line whose
    start is not a time."""
    path = tmp_path / "x.srt"
    path.write_text("1\n00:00:01,000 -> 00:00:02,000 --> x\nHi\n", encoding="utf-8")
    with pytest.raises(SubtitleError) as e:
        read_subtitles(path)
    assert "line 2" in str(e.value) and "without '-->'" not in str(e.value)
    assert "malformed timestamp" in str(e.value)


@pytest.mark.parametrize("suffix", [".srt", ".vtt"])
def test_hostile_replies_and_cues_through_vloc_translate(tmp_path: Path, suffix: str) -> None:
    """The issue's cases end to end: a source cue 'low --> high' (bilingual WebVTT), a reply
    holding a timing line and terminal escapes, a 400,000-character reply: exit 0, and the
    file written reads back with every cue, no control character in it."""
    from tiny_films import make_video

    video = make_video(tmp_path / "film.mp4", seconds=4.0, fps=8, size="64x48")
    subs = write_srt(
        tmp_path / "film.en.srt",
        ["The river rises.", "low --> high", "The water runs away.", "Night falls."],
        step_ms=1000,
    )
    hostile = {
        "1": "第九十九 99 00:00:00,000 --> 00:00:01,000 这是一段很长的回答，超出了一行",
        "2": f"从低到高{ESCAPES}",
        "3": "长" * 400_000,
        "4": "夜幕降临。",
    }

    def reply(body):
        return json.dumps({k: hostile[k] for k in batch_of(body)}, ensure_ascii=False)

    out = tmp_path / f"film.zh{suffix}"
    with ScriptedServer([reply] * 10) as srv:
        res = CliRunner().invoke(
            app,
            ["translate", str(video), str(subs), "--to", "zh", "--engine", "openai",
             "--base-url", srv.url, "--model", "tiny", "--context", "none", "--bilingual",
             "-o", str(out), "--json"],
        )  # fmt: skip
    assert res.exit_code == 0, res.output
    j = json.loads(res.stdout)
    assert j["usage"]["untranslated"] == 1
    assert any("line 3 ran away" in w for w in j["warnings"])
    back = read_subtitles(out)
    assert len(back.cues) == 4
    data = out.read_text(encoding="utf-8")
    assert not any(ch in data for ch in "\x1b\x07\x9b\x00")
    assert out.stat().st_size < 10_000  # the runaway line was never written
    assert "The water runs away." in back.cues[2].text
    if suffix == ".vtt":
        assert "low --&gt; high" in back.cues[1].text
    else:
        assert "low --> high" in back.cues[1].text


CLI_UNDER_LIMIT = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
from vloc.cli.app import app
sys.argv = ["vloc", *sys.argv[1:]]
app()
"""


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero on this system")
@pytest.mark.parametrize("option", [["--synopsis", "@/dev/zero"], ["--glossary", "/dev/zero"]])
def test_dev_zero_as_synopsis_or_glossary_through_the_command_line(tmp_path, option) -> None:
    """Was killed by the kernel after growing to ~24 GB (or 'unexpected MemoryError' under a
    memory limit, as here: 4 GiB of address space)."""
    video = tmp_path / "film.mp4"
    video.write_bytes(b"not decoded")
    subs = write_srt(tmp_path / "film.en.srt", ["Hello."])
    proc = subprocess.run(
        [sys.executable, "-c", CLI_UNDER_LIMIT, "translate", str(video), str(subs), "--to", "zh",
         "--engine", "openai", "--base-url", "http://127.0.0.1:9/v1", "--model", "m", *option,
         "--json"],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    error = json.loads(proc.stdout)["error"]
    assert error.startswith("/dev/zero: the ") and "character device" in error
    assert proc.stderr.strip().splitlines() == [f"error: {error}"]
