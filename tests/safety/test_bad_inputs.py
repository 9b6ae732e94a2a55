"""Bad inputs for every command: one clear line naming the file, a non-zero exit, no traceback,
and never a partial or corrupt output (nor damage to outputs written before)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from tiny_films import make_video
from tiny_models import build_tiny_sentence_model, build_tiny_translator
from typer.testing import CliRunner

from vloc.cli.app import app

GOOD_SRT = (
    "1\n00:00:00,000 --> 00:00:01,000\n狮子在树荫下休息。 The lions rest.\n\n"
    "2\n00:00:01,000 --> 00:00:02,000\n河水泛滥。 The river floods.\n"
)
# x3d_m at its smallest sensible input: 32 px crops, 8 frames at 8 fps (about 1 s per run)
FEATURE_ARGS = "--backbone x3d_m --weights random --seed 0 --size 32 --fps 8 --clip-len 8"
BATCH_ARGS = FEATURE_ARGS + " --width 0.0625"
# summarize runs the shipped zh→en demo summarizer (models/synth-zh-en-summary) with the
# small extractor recorded in its folder, named with --model: by default the demo refuses text
# it does not know (vloc.coverage), and these subtitles mix in English
COMMANDS = ("features", "index", "translate", "summarize", "batch")


@pytest.fixture(scope="session")
def assets(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad-inputs")
    video = make_video(d / "film.mp4", seconds=2.0, fps=8, size="64x48")
    data = video.read_bytes()
    (d / "truncated.mp4").write_bytes(data[: len(data) // 3])
    (d / "empty.mp4").write_bytes(b"")
    (d / "text.mp4").write_text("this is not a video\n")
    audio_only = d / "audio.mp4"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=d=2",
         "-c:a", "aac", str(audio_only)],
        check=True,
    )  # fmt: skip
    return {
        "video": video,
        "truncated": d / "truncated.mp4",
        "empty": d / "empty.mp4",
        "text": d / "text.mp4",
        "audio": audio_only,
        "encoder": build_tiny_sentence_model(d / "enc"),
        # text-only: the translator reads the subtitles only, so these cases stay fast
        "translator": build_tiny_translator(d / "tr", variant="text-only"),
    }


def invoke(cmd: str, video: Path | str, subs: Path | str, out: Path, assets: dict[str, Path]):
    """Run ``cmd`` on (video, subs) writing only below ``out`` (strings are passed verbatim)."""
    if cmd == "features":
        args = ["features", str(video), f"--subs={subs}", "--workdir", str(out)]
        args += FEATURE_ARGS.split()
    elif cmd == "index":
        args = ["index", str(video), str(subs), "--workdir", str(out)]
        args += ["--encoder", str(assets["encoder"])]
    elif cmd == "summarize":
        args = ["summarize", str(video), str(subs), "--to", "en", "--workdir", str(out)]
        args += ["-o", str(out / "film.en.summary.md"), "--model", "synth-zh-en-summary"]
    elif cmd == "translate":
        args = ["translate", str(video), str(subs), "--to", "zh", "--workdir", str(out)]
        args += ["--model", str(assets["translator"]), "-o", str(out / "film.zh.srt")]
    else:
        video, subs = Path(video), Path(subs)
        parent = out.parent if not out.parent.is_file() else out.parent.parent
        src = parent / (out.name + "-src")
        src.mkdir(parents=True, exist_ok=True)
        for p in (video, subs):
            if p.exists():
                dst = src / (video.stem + (".en.srt" if p == subs else video.suffix))
                shutil.copyfile(p, dst)
        if not (src / (video.stem + video.suffix)).exists():  # a missing video: a manifest
            manifest = src / "list.jsonl"
            manifest.write_text(f'{{"video": "{video}", "subs": "{subs}"}}\n')
            src = manifest
        args = ["batch", str(src), "--tasks", "features,index", "--out", str(out)]
        args += ["--encoder", str(assets["encoder"]), *BATCH_ARGS.split()]
    return CliRunner().invoke(app, args)


def no_partial_files(root: Path) -> None:
    if root.is_dir():
        leftovers = [p for p in root.rglob("*") if p.name.endswith(".tmp")]
        assert not leftovers, leftovers


def assert_clean_failure(res, name: str, out: Path) -> None:
    assert res.exit_code != 0, res.output
    assert "Traceback" not in res.output
    text = res.stderr if res.exit_code != 0 else res.output
    # one line names the file and the problem: the CLI's `error:` line, or batch's line for the video
    errors = [ln for ln in text.splitlines() if ln.startswith("error:") or ": failed (" in ln]
    assert len(errors) == 1 and name in errors[0], text
    no_partial_files(out)


def assert_ok(res, out: Path) -> None:
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    no_partial_files(out)


def write_srt(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# ---------------------------------------------------------------- bad videos
@pytest.mark.parametrize("cmd", COMMANDS)
@pytest.mark.parametrize("kind", ["missing", "empty", "text", "truncated", "audio"])
def test_bad_video(cmd, kind, tmp_path, assets):
    subs = write_srt(tmp_path / "film.srt", GOOD_SRT)
    video = tmp_path / "nowhere.mp4" if kind == "missing" else assets[kind]
    out = tmp_path / "out"
    res = invoke(cmd, video, subs, out, assets)
    if cmd == "index" and kind != "missing":
        assert_ok(res, out)  # the index never decodes the video: any existing file names it
        return
    if cmd == "translate" and kind != "missing":  # a text-only model never decodes the video
        assert_ok(res, out)
        return
    assert_clean_failure(res, video.name, out)
    if cmd == "batch":  # the report lists the failure with its file
        import json

        report = json.loads((out / "report.json").read_text())
        assert report["summary"]["failed"] == 1
        assert video.name in report["videos"][0]["error"]
    else:
        assert not list(out.rglob("*.safetensors")) and not list(out.rglob("*.faiss"))


# ---------------------------------------------------------------- subtitles
@pytest.mark.parametrize("cmd", COMMANDS)
@pytest.mark.parametrize("encoding", ["gbk", "big5", "utf-16"])
def test_legacy_encodings_work(cmd, encoding, tmp_path, assets):
    text = GOOD_SRT
    if encoding == "big5":  # Big5 holds traditional characters only
        text = text.replace("狮子在树荫下休息", "獅子在樹蔭下休息").replace("河水泛滥", "河水氾濫")
    subs = write_srt(tmp_path / "film.srt", text, encoding)
    out = tmp_path / "out"
    assert_ok(invoke(cmd, assets["video"], subs, out, assets), out)


@pytest.mark.parametrize("cmd", COMMANDS)
def test_no_blank_lines_work(cmd, tmp_path, assets):
    subs = write_srt(tmp_path / "film.srt", GOOD_SRT.replace("\n\n", "\n"))
    out = tmp_path / "out"
    assert_ok(invoke(cmd, assets["video"], subs, out, assets), out)


@pytest.mark.parametrize("cmd", COMMANDS)
def test_malformed_timestamps_fail_naming_file(cmd, tmp_path, assets):
    subs = write_srt(
        tmp_path / "broken times.srt", GOOD_SRT.replace("00:00:01,000 -->", "00:0x:01 -->")
    )
    out = tmp_path / "out"
    res = invoke(cmd, assets["video"], subs, out, assets)
    assert_clean_failure(res, "srt", out)
    assert "line " in res.stderr, res.stderr


@pytest.mark.parametrize("cmd", ["features", "index"])
def test_huge_single_cue(cmd, tmp_path, assets):
    cue = ("The lions rest in the shade. " * 180_000)[: 5 * 1024 * 1024]
    subs = write_srt(tmp_path / "film.srt", f"1\n00:00:00,000 --> 00:00:01,500\n{cue}\n")
    out = tmp_path / "out"
    res = invoke(cmd, assets["video"], subs, out, assets)
    if res.exit_code == 0:
        no_partial_files(out)
    else:
        assert_clean_failure(res, "film.srt", out)


@pytest.mark.parametrize("cmd", ["features", "index"])
def test_cues_past_the_end_warn_and_work(cmd, tmp_path, assets):
    late = GOOD_SRT + "\n3\n00:00:30,000 --> 00:00:32,000\nLong after the end.\n"
    subs = write_srt(tmp_path / "film.srt", late)
    out = tmp_path / "out"
    res = invoke(cmd, assets["video"], subs, out, assets)
    assert_ok(res, out)
    if cmd == "features":
        assert "warning" in res.stderr.lower()


@pytest.mark.parametrize("cmd", COMMANDS)
def test_zero_cues(cmd, tmp_path, assets):
    subs = write_srt(tmp_path / "empty.srt", "")
    out = tmp_path / "out"
    res = invoke(cmd, assets["video"], subs, out, assets)
    assert_clean_failure(res, "film.en.srt" if cmd == "batch" else "empty.srt", out)
    assert "cues" in res.stderr


# ---------------------------------------------------------------- names and outputs
@pytest.mark.parametrize("cmd", COMMANDS)
@pytest.mark.parametrize("name", ["my film.mp4", "纪录片 été.mp4", "-film.mp4"])
def test_odd_file_names_work(cmd, name, tmp_path, assets, monkeypatch):
    monkeypatch.chdir(tmp_path)
    video = Path(".") / name
    shutil.copyfile(assets["video"], video)
    subs = write_srt(Path(".") / (Path(name).stem + ".srt"), GOOD_SRT)
    out = tmp_path / "out"
    res = invoke(cmd, "./" + name, "./" + subs.name, out, assets)
    assert_ok(res, out)


@pytest.mark.parametrize("cmd", COMMANDS)
def test_unwritable_output_folder(cmd, tmp_path, assets):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    subs = write_srt(tmp_path / "film.srt", GOOD_SRT)
    out = blocker / "out"  # its parent is a regular file: nothing can be created there
    res = invoke(cmd, assets["video"], subs, out, assets)
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert "a-file" in res.stderr, res.stderr
    assert blocker.read_text() == "x"


@pytest.mark.parametrize("cmd", ["features", "index", "translate", "summarize"])
def test_full_disk_keeps_previous_outputs(cmd, tmp_path, assets, monkeypatch):
    subs = write_srt(tmp_path / "film.srt", GOOD_SRT)
    out = tmp_path / "out"
    assert_ok(invoke(cmd, assets["video"], subs, out, assets), out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    # a different input (other text and times) needs new files; every atomic write now
    # fails like a full disk
    changed = GOOD_SRT.replace("rest", "sleep").replace("00:00:01,000 -->", "00:00:01,250 -->")
    subs2 = write_srt(tmp_path / "film.srt", changed)

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", no_space)
    res = invoke(cmd, assets["video"], subs2, out, assets)
    monkeypatch.undo()
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert "No space left" in res.stderr, res.stderr
    no_partial_files(out)
    for p, data in before.items():
        if p.suffix == ".jsonl":  # an append-only decoding journal: old entries stay intact
            assert p.read_bytes().startswith(data)
        else:
            assert p.read_bytes() == data  # earlier outputs untouched


@pytest.mark.parametrize("cmd", ["translate", "index"])
@pytest.mark.parametrize(
    ("old", "line"), [("00:00:01,000 -->", 6), ("00:00:00,000 -->", 2)], ids=["mid", "first"]
)
def test_negative_timestamp_fails_at_its_line(cmd, old, line, tmp_path, assets):
    # neither merged into the cue before it nor dropped with a warning
    subs = write_srt(tmp_path / "neg times.srt", GOOD_SRT.replace(old, "-" + old))
    out = tmp_path / "out"
    res = invoke(cmd, assets["video"], subs, out, assets)
    assert_clean_failure(res, "neg times.srt", out)
    assert f"line {line}: " in res.stderr and "cannot be negative" in res.stderr, res.stderr
    assert not (out / "film.zh.srt").exists() and not list(out.rglob("*.faiss"))


def test_utf8_bom_on_cp1252_suggests_the_encoding(tmp_path, assets):
    subs = tmp_path / "bom.srt"
    western = (
        "1\n00:00:00,000 --> 00:00:01,000\nUn café.\n\n2\n00:00:01,000 --> 00:00:02,000\nÀ Noël.\n"
    )
    subs.write_bytes(b"\xef\xbb\xbf" + western.encode("cp1252"))  # a UTF-8 BOM, cp1252 bytes
    out = tmp_path / "out"
    res = invoke("translate", assets["video"], subs, out, assets)
    assert_clean_failure(res, "bom.srt", out)
    assert "pass --encoding cp1252" in res.stderr, res.stderr


@pytest.mark.parametrize("cmd", ["features", "index", "translate", "summarize"])
@pytest.mark.parametrize("kind", ["dev-zero", "folder", "fifo"])
def test_subtitles_that_are_not_a_regular_file(cmd, kind, tmp_path, assets):
    """/dev/zero (read forever), a folder or a FIFO (a read that blocks) as the subtitles:
    one line saying what the path is, never 'not found', a hang or memory exhaustion."""
    if kind == "dev-zero":
        if not Path("/dev/zero").exists():
            pytest.skip("no /dev/zero on this system")
        subs, what = Path("/dev/zero"), "a character device"
    elif kind == "folder":
        subs, what = tmp_path / "film.en.srt", "a folder"
        subs.mkdir()
    else:
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs on this system")
        subs, what = tmp_path / "film.en.srt", "a named pipe (FIFO)"
        os.mkfifo(subs)
    out = tmp_path / "out"
    res = invoke(cmd, assets["video"], subs, out, assets)
    assert_clean_failure(res, str(subs), out)
    assert f"the subtitle file is {what}, not a regular file" in res.stderr, res.stderr
