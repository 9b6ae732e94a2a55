"""TMX translation memories: ``vloc memory export`` of a finished film, read back by
``--memory`` as the same pairs; bad memory input is one clear line."""

from __future__ import annotations

import json

import pytest
from tiny_subtitles import EPISODE, write_pair
from typer.testing import CliRunner

from vloc.cli.app import app
from vloc.errors import InputError
from vloc.memory import read_memory
from vloc.memory.tmx import read_tmx


def _pairs(mem):
    return [(p.source, p.target, p.film, p.cue) for p in mem.pairs]


def test_export_then_import_gives_the_same_pairs(tmp_path):
    rows = [*EPISODE, ("A <i>tagged</i> line & more", "一行 <b>带标签</b> & 更多"),
            ("Tab\there, control \x07 char", "这里 & <这>")]  # fmt: skip
    en, zh = write_pair(tmp_path / "ep1", "ep1", rows, shift_ms=40)
    out = tmp_path / "ep1.tmx"
    res = CliRunner().invoke(
        app, ["memory", "export", str(en), str(zh), "--to", "zh", "-o", str(out), "--json"]
    )
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout)
    assert obj["ok"] and obj["pairs"] == len(rows) and obj["source_lang"] == "en"
    direct = read_memory([en], source_lang="en", target_lang="zh")
    again = read_memory([out], source_lang="en", target_lang="zh")
    assert _pairs(again) == _pairs(direct) and len(direct.pairs) == len(rows)
    assert again.pairs[0] == type(again.pairs[0])(
        "General Rommel landed in Tripoli.", "隆美尔将军在的黎波里登陆。", "ep1", str(out), "1"
    )
    assert again.sources[0].kind == "tmx"
    # the same pairs give the same bytes (no dates), and the languages come from the TMX
    out2 = tmp_path / "again.tmx"
    res = CliRunner().invoke(app, ["memory", "export", str(out), "-o", str(out2)])
    assert res.exit_code == 0, res.output
    assert out2.read_bytes() == out.read_bytes()


def test_tmx_from_another_tool_reads_variants_and_skips_incomplete_units(tmp_path):
    tmx = tmp_path / "other.tmx"
    tmx.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<tmx version="1.4"><header srclang="en-US" '
        'segtype="sentence" datatype="plaintext" adminlang="en" o-tmf="x" creationtool="x" '
        'creationtoolversion="1"/><body>'
        '<tu><tuv xml:lang="en-US"><seg>Fire <bpt i="1">&lt;i&gt;</bpt>now<ept i="1">'
        '&lt;/i&gt;</ept>!</seg></tuv><tuv xml:lang="zh-CN"><seg>现在开火！</seg></tuv></tu>'
        '<tu><tuv xml:lang="en-US"><seg>Only English.</seg></tuv></tu>'
        '<tu><tuv xml:lang="en-US"><seg>Hold.</seg></tuv><tuv xml:lang="zh-TW"><seg>守住。</seg>'
        "</tuv></tu></body></tmx>",
        encoding="utf-8",
    )
    got = read_tmx(tmx, source_lang="en", target_lang="zh")
    assert [(u.source, u.target) for u in got.units] == [("Fire now!", "现在开火！")]
    assert got.skipped == 2  # no Chinese; zh-TW is not zh (Simplified)


@pytest.mark.parametrize("case", ["not-xml", "entities", "no-overlap", "empty-tmx", "empty-folder",
                                  "no-text"])  # fmt: skip
def test_bad_memory_is_one_line_and_writes_nothing(tmp_path, case):
    inp = tmp_path / "in"
    inp.mkdir()
    args = ["--from", "en", "--to", "zh"]
    if case == "not-xml":
        path = inp / "memory.tmx"
        path.write_text("<tmx><body><tu>", encoding="utf-8")
        named, why = "memory.tmx", "not well-formed XML"
    elif case == "entities":
        path = inp / "memory.tmx"
        path.write_text(
            '<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
            "<tmx><body><tu><tuv xml:lang='en'><seg>&b;</seg></tuv></tu></body></tmx>"
        )
        named, why = "memory.tmx", "entities"
    elif case == "no-overlap":
        path, _ = write_pair(inp, "ep1", EPISODE, shift_ms=3_600_000)
        named, why = "ep1.en.srt", "overlap"
    elif case == "empty-tmx":
        path = inp / "memory.tmx"
        path.write_text('<tmx version="1.4"><header srclang="en"/><body></body></tmx>')
        named, why = "memory.tmx", "no en→zh units"
    elif case == "empty-folder":
        path = inp
        named, why = "in", "no memory in this folder"
    else:
        path, _ = write_pair(inp, "ep1", [(" ", " ")])
        named, why = "ep1", "empty"
    out = tmp_path / "x.tmx"
    res = CliRunner().invoke(app, ["memory", "export", str(path), *args, "-o", str(out)])
    assert res.exit_code == 1, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), lines
    assert named in lines[0] and why in lines[0], lines[0]
    assert "Traceback" not in res.output and not out.exists()


def test_no_memory_paths_is_an_error():
    with pytest.raises(InputError, match="the memory is empty"):
        read_memory([], source_lang="en", target_lang="zh")


@pytest.mark.parametrize("cmd", [["memory", "export"], ["glossary", "mine"]])
def test_output_never_replaces_a_file_of_the_memory(tmp_path, cmd):
    """Naming only the source file, the partner translation is still an input: never
    overwritten by -o."""
    en, zh = write_pair(tmp_path, "ep1", EPISODE)
    before = zh.read_bytes()
    res = CliRunner().invoke(app, [*cmd, str(en), "--to", "zh", "-o", str(zh)])
    assert res.exit_code == 1, res.output
    assert "would overwrite the input" in res.stderr and "ep1.zh.srt" in res.stderr
    assert zh.read_bytes() == before


def test_new_commands_have_examples_in_their_help():
    for cmd in (["glossary", "mine"], ["glossary", "check"], ["memory", "export"]):
        res = CliRunner().invoke(app, [*cmd, "--help"])
        assert res.exit_code == 0 and "Examples" in res.stdout, cmd
        assert f"vloc {' '.join(cmd)} " in res.stdout and "<bool>" not in res.stdout, cmd


@pytest.mark.parametrize(
    ("keep", "message"),
    [
        ("en", "no translation beside it: expected ep1.zh.srt (or .vtt)"),
        ("zh", "no source beside this translation: expected ep1.en.srt (or .vtt)"),
        ("fr", "its language 'fr' is neither the source 'en' nor the target 'zh'"),
    ],
)
def test_a_subtitle_file_without_its_partner_names_the_one_expected(tmp_path, keep, message):
    en, zh = write_pair(tmp_path, "ep1", EPISODE)
    given = zh if keep == "zh" else en
    (en if keep == "zh" else zh).unlink()
    if keep == "fr":
        given = en.rename(tmp_path / "ep1.fr.srt")
    with pytest.raises(InputError) as e:
        read_memory([given], source_lang="en", target_lang="zh")
    assert str(e.value).startswith(f"{given}: {message}")
