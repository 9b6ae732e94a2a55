"""No command may destroy an input, and nothing read from a file may control the terminal.

Outputs that resolve to an input (directly, through a symlink, ``..`` or a hard link) or to a
folder are refused before any work, with one line and exit 1, the input untouched. ``--json``
stays one JSON object on stdout, for usage errors too. Control characters in cue text, file
names and messages are shown escaped on the terminal and kept exact in JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_checks import one_error_line
from tiny_films import make_video
from tiny_models import build_tiny_sentence_model
from tiny_subtitles import TWO_CUES_SRT as SRT
from typer.testing import CliRunner

from vloc.cli.app import app
from vloc.errors import InputError
from vloc.fileio import atomic_write_text
from vloc.guard import check_output, protect_inputs

ROOT = Path(__file__).resolve().parents[2]
# cue text that would clear the screen, retitle the window, write the clipboard and hide a link
HOSTILE = "\x1b[2J\x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\"


def _snapshot(*paths: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in paths}


# ---------------------------------------------------------------- the guard itself
def test_check_output_sees_through_symlinks_dotdot_and_hard_links(tmp_path):
    src = tmp_path / "film.en.srt"
    src.write_text(SRT)
    (tmp_path / "sub").mkdir()
    link = tmp_path / "link.srt"
    link.symlink_to(src)
    hard = tmp_path / "hard.srt"
    os.link(src, hard)
    for out in (src, link, tmp_path / "sub" / ".." / "film.en.srt", hard):
        with pytest.raises(InputError, match="would overwrite the input"):
            check_output(out, [src])
    with pytest.raises(InputError, match="is a folder"):
        check_output(tmp_path / "sub", [src])
    # a model folder stands for every file in it
    model = tmp_path / "model"
    (model / "tok").mkdir(parents=True)
    (model / "tok" / "vocab.json").write_text("{}")
    with pytest.raises(InputError, match="vocab.json"):
        check_output(model / "tok" / "vocab.json", [model])
    assert check_output(tmp_path / "new.srt", [src, model, None]) == tmp_path / "new.srt"


def test_protected_inputs_are_never_replaced_by_an_atomic_write(tmp_path):
    src = tmp_path / "film.en.srt"
    src.write_text(SRT)
    hard = tmp_path / "other-name.srt"
    os.link(src, hard)
    with protect_inputs([src]), pytest.raises(InputError, match="refusing to overwrite"):
        atomic_write_text(hard, "summary")
    assert src.read_text() == SRT
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    atomic_write_text(hard, "after the run")  # outside the block: an ordinary file again


# ---------------------------------------------------------------- every command that writes
def test_translate_refuses_to_write_over_the_video(film):
    before = _snapshot(film["video"], film["subs"])
    args = ["translate", str(film["video"]), str(film["subs"]), "--to", "zh", "--format", "srt"]
    for out in (film["video"], film["dir"] / "." / "film.mp4"):
        one_error_line(CliRunner().invoke(app, [*args, "-o", str(out)]), "film.mp4", "overwrite")
    link = film["dir"] / "out.srt"
    link.symlink_to(film["video"])
    one_error_line(CliRunner().invoke(app, [*args, "-o", str(link)]), "overwrite")
    one_error_line(CliRunner().invoke(app, [*args, "-o", str(film["dir"])]), "folder")
    assert _snapshot(film["video"], film["subs"]) == before


@pytest.mark.parametrize("target", ["subs", "video", "hardlink"])
def test_summarize_refuses_to_write_over_its_inputs(film, target):
    before = _snapshot(film["video"], film["subs"])
    out = film[target] if target != "hardlink" else film["dir"] / "talk.en.summary.md"
    if target == "hardlink":
        os.link(film["subs"], out)
    args = ["summarize", str(film["video"]), str(film["subs"]), "--to", "en", "-o", str(out)]
    one_error_line(CliRunner().invoke(app, args), "overwrite")
    res = CliRunner().invoke(app, [*args, "--json"])
    assert res.exit_code == 1 and json.loads(res.stdout)["ok"] is False
    assert _snapshot(film["video"], film["subs"]) == before


def test_eval_table_may_not_be_the_manifest(tmp_path):
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text('{"id": "a"}\n')
    res = CliRunner().invoke(
        app,
        ["eval", "translate", "--model", "m", "--data", str(manifest), "--table", str(manifest)],
    )
    one_error_line(res, "--table", "overwrite")
    assert manifest.read_text() == '{"id": "a"}\n'


@pytest.mark.parametrize("target", ["manifest", "video", "subs", "folder"])
def test_batch_report_may_not_be_an_input_or_a_folder(film, target):
    manifest = film["dir"] / "list.jsonl"
    manifest.write_text(json.dumps({"video": str(film["video"]), "subs": str(film["subs"])}))
    report = {"manifest": manifest, "video": film["video"], "subs": film["subs"]}.get(
        target, film["dir"]
    )
    before = _snapshot(manifest, film["video"], film["subs"])
    res = CliRunner().invoke(
        app,
        ["batch", str(manifest), "--tasks", "index", "--out", str(film["dir"] / "out"),
         "--report", str(report)],
    )  # fmt: skip
    one_error_line(res, "report")
    assert _snapshot(manifest, film["video"], film["subs"]) == before


# ---------------------------------------------------------------- the terminal
@pytest.fixture(scope="module")
def encoder(tmp_path_factory) -> Path:
    return build_tiny_sentence_model(tmp_path_factory.mktemp("enc"))


def test_search_shows_control_characters_escaped_and_json_keeps_them(tmp_path, encoder):
    video = tmp_path / "evil.mkv"
    video.write_bytes(b"not decoded by the index")
    subs = tmp_path / "evil.en.srt"
    subs.write_text(f"1\n00:00:00,000 --> 00:00:01,000\nriver {HOSTILE}\n")
    runner = CliRunner()
    res = runner.invoke(app, ["index", str(video), str(subs), "--encoder", str(encoder)])
    assert res.exit_code == 0, res.output
    wide = {"COLUMNS": "400"}  # the whole cue text on one table row
    res = runner.invoke(app, ["search", "river", "--index", str(tmp_path), "-k", "1"], env=wide)
    assert res.exit_code == 0, res.output
    for raw in ("\x1b", "\x07"):
        assert raw not in res.stdout and raw not in res.stderr
    assert "\\x1b[2J" in res.stdout and "\\x07" in res.stdout
    res = runner.invoke(app, ["search", "river", "--index", str(tmp_path), "--json"])
    hit = json.loads(res.stdout)["hits"][0]
    assert hit["text"] == f"river {HOSTILE}"  # exact in JSON


def test_errors_and_warnings_with_control_characters_stay_one_visible_line(tmp_path):
    subs = tmp_path / "a\x1b[31mred\nname.srt"
    subs.write_text(SRT)
    res = CliRunner().invoke(
        app, ["translate", str(tmp_path / "none.mp4"), str(subs), "--to", "zh"]
    )
    assert res.exit_code == 1
    assert "\x1b" not in res.stderr
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_translate_prints_each_subtitle_warning_once(film, tmp_path):
    from tiny_models import build_tiny_translator

    model = build_tiny_translator(tmp_path / "tr", variant="segment-level")  # reads features
    overlapping = SRT.replace("00:00:01,000 --> 00:00:02,000", "00:00:00,500 --> 00:00:02,000")
    film["subs"].write_text(overlapping)
    res = CliRunner().invoke(
        app,
        ["translate", str(film["video"]), str(film["subs"]), "--to", "zh", "--model", str(model),
         "-o", str(tmp_path / "out.zh.srt"), "--workdir", str(tmp_path / "ws")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    warnings = [ln for ln in res.stderr.splitlines() if ln.startswith("warning:")]
    assert warnings and len(warnings) == len(set(warnings)), res.stderr
    assert any("overlap" in w for w in warnings), res.stderr


# ---------------------------------------------------------------- the output contract
@pytest.mark.parametrize(
    "argv",
    [
        ["translate", "--json"],  # missing arguments
        ["translate", "a.mp4", "a.srt", "--json"],  # missing --to
        ["translate", "a.mp4", "a.srt", "--to", "zh", "--json", "--bogus"],  # unknown flag
        ["nope", "--json"],  # unknown command
        ["search", "x", "--json"],  # no index given
    ],
)
def test_json_usage_errors_print_one_object_and_exit_2(argv):
    res = CliRunner().invoke(app, argv)
    assert res.exit_code == 2, res.output
    obj = json.loads(res.stdout)  # exactly one JSON document
    assert res.stdout.count("\n") == 1
    assert obj["ok"] is False and obj["usage"] is True and obj["error"]
    assert "Traceback" not in res.stderr


def test_usage_error_without_json_prints_nothing_on_stdout():
    res = CliRunner().invoke(app, ["translate", "a.mp4", "a.srt"])
    assert res.exit_code == 2 and res.stdout == ""
    assert "error: Missing option '--to'" in res.stderr


def test_a_refused_pickle_is_one_line_that_never_suggests_unsafe_loading(tmp_path):
    evil = tmp_path / "evil.pth"
    code = (
        "import os, sys, torch\n"
        "class X:\n    def __reduce__(self): return (os.system, ('echo owned',))\n"
        "torch.save({'w': X()}, sys.argv[1])\n"
    )
    subprocess.run([sys.executable, "-c", code, str(evil)], check=True)
    video = make_video(tmp_path / "v.mp4", seconds=1.0, fps=8, size="64x48")
    res = CliRunner().invoke(
        app, ["features", str(video), "--weights", str(evil), "--workdir", str(tmp_path / "w")]
    )
    one_error_line(res, "evil.pth", "not a safe weights file")
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "weights_only" not in res.stderr and "owned" not in res.output


def test_bad_inputs_fail_before_heavy_imports(tmp_path):
    """A missing video or an output onto an input is reported without importing torch."""
    subs = tmp_path / "film.en.srt"
    subs.write_text(SRT)
    code = (
        "import sys\n"
        "from vloc.cli.app import main\n"
        "sys.argv = ['vloc'] + sys.argv[1:]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
        "print('torch' in sys.modules, code, file=sys.stderr)\n"
    )
    cases = [
        ["translate", str(tmp_path / "none.mp4"), str(subs), "--to", "zh"],
        ["translate", str(tmp_path / "x.mp4"), str(subs), "--to", "zh", "-o", str(subs)],
        ["summarize", str(tmp_path / "none.mp4"), str(subs), "--to", "en"],
    ]
    (tmp_path / "x.mp4").write_bytes(b"x")
    for argv in cases:
        p = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True)
        assert p.stderr.strip().endswith("False 1"), (argv, p.stderr)


def test_help_has_examples_and_no_bool_placeholders():
    for argv in (["--help"], ["translate", "--help"], ["features", "--help"], ["batch", "-h"]):
        res = CliRunner().invoke(app, argv)
        assert res.exit_code == 0
        assert "<bool>" not in res.stdout, argv
    for cmd in ("features", "index", "search", "translate", "summarize", "review", "batch"):
        res = CliRunner().invoke(app, [cmd, "--help"])
        assert "Examples" in res.stdout and f"vloc {cmd} " in res.stdout, cmd
