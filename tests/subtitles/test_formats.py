"""ASS/SSA (pysubs2), TTML/IMSC (ttconv), bilingual and Traditional Chinese output: through the
library functions, then through `vloc translate` with a tiny random-weight text-only model."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vloc.cli.app import app
from vloc.errors import SubtitleError
from vloc.style.chinese import to_simplified, to_traditional
from vloc.subtitles import Cue, read_subtitles, write_subtitles
from vloc.subtitles.ass import SOURCE_STYLE, parse_ass
from vloc.subtitles.ttml import dumps_ttml

pysubs2 = pytest.importorskip("pysubs2")

STYLES = """[Script Info]
ScriptType: v4.00+
PlayResX: 640
PlayResY: 360

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, \
Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, \
Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Default,Arial,22,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,2,1,\
2,10,10,20,1
Style: Sign,Georgia,18,&H0000FFFF,&H000000FF,&H00000000,&H00000000,-1,0,0,0,100,100,0,0,1,1,0,\
8,10,10,10,1

""".replace("\\\n", "")
EVENTS_FORMAT = "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text"
EVENTS = r"""Dialogue: 0,0:00:00.00,0:00:01.00,Default,,0,0,0,,The river begins high in the mountains.
Dialogue: 0,0:00:01.00,0:00:02.00,Default,Narrator,0,0,15,,{\i1}Every spring\Nthe snow melts.{\i0}
Dialogue: 1,0:00:00.50,0:00:02.50,Sign,,0,0,0,,{\an8\pos(320,40)\fs28}Far below, the delta
Comment: 0,0:00:02.00,0:00:03.00,Default,,0,0,0,,a note for the typesetter
Dialogue: 0,0:00:02.50,0:00:03.00,Default,,0,0,0,,{\c&H00FF00&}Birds gather.
"""
ASS = f"{STYLES}[Events]\n{EVENTS_FORMAT}\n{EVENTS}"


def write_ass(path: Path, text: str = ASS) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _lead(text: str) -> str:
    m = re.match(r"^(?:\{[^}]*\})+", text)
    return m.group(0) if m else ""


# ------------------------------------------------------------------ library level
def test_ass_reads_dialogue_events_as_cues(tmp_path: Path) -> None:
    subs = read_subtitles(write_ass(tmp_path / "film.en.ass"))
    assert subs.format == "ass" and len(subs.cues) == 4  # the Comment is not a cue
    assert [(c.start_ms, c.end_ms) for c in subs.cues] == [
        (0, 1000), (1000, 2000), (500, 2500), (2500, 3000),
    ]  # fmt: skip
    assert subs.cues[1].text == "{\\i1}Every spring\nthe snow melts.{\\i0}"


def test_ass_written_back_keeps_everything_but_the_text(tmp_path: Path) -> None:
    subs = read_subtitles(write_ass(tmp_path / "film.en.ass"))
    texts = ["{\\an8}河流发源于高山", "每年春天\n积雪融化", "{\\an8}在下游", "候鸟聚集"]
    out = tmp_path / "film.zh.ass"
    write_subtitles(out, subs.with_texts(texts))
    src, got = pysubs2.load(str(tmp_path / "film.en.ass")), pysubs2.load(str(out))
    assert set(got.styles) == {"Default", "Sign"}
    for name in src.styles:
        assert got.styles[name] == src.styles[name]
    assert len(got.events) == len(src.events) == 5
    for a, b in zip(src.events, got.events, strict=True):
        same = ("type", "start", "end", "style", "layer", "name", "marginl", "marginr")
        assert all(getattr(a, k) == getattr(b, k) for k in (*same, "marginv", "effect"))
        assert _lead(a.text) == _lead(b.text)
    assert got.events[1].text == "{\\i1}每年春天\\N积雪融化{\\i0}"
    assert got.events[2].text == "{\\an8\\pos(320,40)\\fs28}在下游"
    assert got.events[3].text == "a note for the typesetter"  # the Comment, untouched
    assert got.events[4].text == "{\\c&H00FF00&}候鸟聚集"


@pytest.mark.parametrize(
    ("events_format", "needle"),
    [
        ("Format: Layer, Start, End, Style, Text", "the [Events] Format line names"),
        (
            "Format: Layer, Begin, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
            "Begin",
        ),
        ("", "an event before the [Events] Format line"),
    ],
)
def test_broken_events_format_line_is_one_line(tmp_path: Path, events_format: str, needle: str):
    path = write_ass(tmp_path / "bad.ass", f"{STYLES}[Events]\n{events_format}\n{EVENTS}")
    with pytest.raises(SubtitleError) as e:
        read_subtitles(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: line ") and needle in msg and "\n" not in msg


def test_ass_without_events_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SubtitleError, match="no \\[Events\\] section"):
        parse_ass(STYLES, path=tmp_path / "x.ass")


def test_ttml_is_imsc_and_parses_back_with_pysubs2(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    import ttconv.imsc.reader as imsc_reader

    cues = [Cue(1, 0, 1500, "河流发源于高山\n<i>积雪</i>融化"), Cue(2, 1600, 3000, "候鸟 & 平原"),
            Cue(3, 3000, 3100, "")]  # fmt: skip
    path = tmp_path / "film.zh.ttml"
    write_subtitles(path, cues, lang="zh")
    back = pysubs2.load(str(path))
    assert [(e.start, e.end) for e in back.events] == [(0, 1500), (1600, 3000)]
    assert back.events[0].plaintext == "河流发源于高山\n积雪融化"
    assert back.events[1].plaintext == "候鸟 & 平原"
    root = ET.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/ns/ttml}tt"
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "zh"
    doc = imsc_reader.to_model(ET.parse(path))  # ttconv's own IMSC reader accepts it
    assert doc is not None and doc.get_lang() == "zh"
    assert "fontStyle" in dumps_ttml(cues[:1], "zh")  # the italic span survives


def test_srt_styling_becomes_ass_overrides_and_ass_blocks_leave_ttml(tmp_path: Path) -> None:
    cues = [Cue(1, 0, 1000, "<i>河流</i>干涸\n<b>候鸟</b><font color=red>飞</font>"),
            Cue(2, 1000, 2000, "{\\an8}标志")]  # fmt: skip
    write_subtitles(tmp_path / "a.ass", cues)
    events = pysubs2.load(str(tmp_path / "a.ass")).events
    assert events[0].text == "{\\i1}河流{\\i0}干涸\\N{\\b1}候鸟{\\b0}飞"
    assert events[1].text == "{\\an8}标志"
    write_subtitles(tmp_path / "a.ttml", cues, lang="zh")
    back = pysubs2.load(str(tmp_path / "a.ttml")).events
    assert [e.plaintext for e in back] == ["河流干涸\n候鸟飞", "标志"]


def test_traditional_chinese_by_region() -> None:
    simplified = ["软件和鼠标", "这里的头发", "出租车"]
    assert to_traditional(simplified, "zh-TW") == ["軟體和滑鼠", "這裡的頭髮", "計程車"]
    assert to_traditional(simplified, "zh-Hant")[2] == "出租車"
    assert to_simplified(to_traditional(simplified, "zh-HK")) == simplified


def test_vloc_check_reads_ass(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app, ["check", str(write_ass(tmp_path / "film.en.ass")), "--style", "streaming", "--json"]
    )
    obj = json.loads(res.stdout)
    assert res.exit_code == 0 and obj["cues"] == 4 and obj["lang"] == "en"
    assert any("overlap" in f["rules"] for f in obj["flagged"])  # the sign overlaps cue 1


# ------------------------------------------------------------------ through vloc translate
@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from tiny_films import make_video
    from tiny_models import build_tiny_translator

    root = tmp_path_factory.mktemp("formats")
    return {
        "model": build_tiny_translator(root / "text-only", variant="text-only"),
        "video": make_video(root / "film.mp4", seconds=3.0, fps=25, size="96x64"),
    }


def translate(tiny: dict[str, Path], subs: Path, *args: str):
    argv = ["translate", str(tiny["video"]), str(subs), "--model", str(tiny["model"])]
    return CliRunner().invoke(app, [*argv, "--beam", "1", *args])


def _translated(text: str, source: str) -> bool:
    """Not the source and no English word left (a random-weight model writes arbitrary
    target-vocabulary pieces, not always whole characters)."""
    return bool(text.strip()) and text != source and not re.search("[A-Za-z]{3}", text)


def test_ass_through_translate_keeps_styles_positions_tags_and_timings(tiny, tmp_path: Path):
    src = write_ass(tmp_path / "film.en.ass")
    res = translate(tiny, src, "--to", "zh", "--json")
    assert res.exit_code == 0, res.output
    out = Path(json.loads(res.stdout)["output"])
    assert out == tmp_path / "film.zh.ass"
    a, b = pysubs2.load(str(src)), pysubs2.load(str(out))
    assert b.styles == a.styles and b.info["PlayResX"] == "640"
    assert len(a.events) == len(b.events)
    for x, y in zip(a.events, b.events, strict=True):
        assert (x.type, x.start, x.end, x.style, x.layer, x.name, x.marginv) == (
            y.type, y.start, y.end, y.style, y.layer, y.name, y.marginv,
        )  # fmt: skip
        assert _lead(x.text) == _lead(y.text)
        if x.type == "Dialogue":
            assert _translated(y.plaintext, x.plaintext), y.text
    assert b.events[2].text.startswith("{\\an8\\pos(320,40)\\fs28}")
    assert b.events[1].text.endswith("{\\i0}")
    assert b.events[3].text == "a note for the typesetter"


def test_bilingual_ass_has_a_style_per_language(tiny, tmp_path: Path) -> None:
    src = write_ass(tmp_path / "film.en.ass")
    res = translate(tiny, src, "--to", "zh", "--bilingual", "-o", str(tmp_path / "bi.ass"))
    assert res.exit_code == 0, res.output
    doc = pysubs2.load(str(tmp_path / "bi.ass"))
    assert SOURCE_STYLE in doc.styles and "Default" in doc.styles
    first = doc.events[0].text
    target, source = first.split("\\N{\\r" + SOURCE_STYLE + "}")
    assert _translated(target, source) and source == "The river begins high in the mountains."


def test_bilingual_srt_puts_the_target_over_the_source(tiny, tmp_path: Path) -> None:
    src = tmp_path / "film.en.srt"
    src.write_text(
        "1\n00:00:00,000 --> 00:00:01,500\nThe river begins high in the mountains.\n\n"
        "2\n00:00:01,500 --> 00:00:03,000\nEvery spring\nthe snow melts.\n\n",
        encoding="utf-8",
    )
    res = translate(tiny, src, "--to", "zh", "--bilingual", "-o", str(tmp_path / "bi.srt"))
    assert res.exit_code == 0, res.output
    cues = read_subtitles(tmp_path / "bi.srt").cues
    assert cues[0].text.split("\n")[-1] == "The river begins high in the mountains."
    assert _translated(cues[0].text.split("\n")[0], "The river begins high in the mountains.")
    assert cues[1].text.split("\n")[-2:] == ["Every spring", "the snow melts."]


def test_zh_tw_output_is_named_for_the_region(tiny, tmp_path: Path) -> None:
    src = tmp_path / "film.en.srt"
    shutil.copy(Path(__file__).parents[2] / "examples" / "film.en.srt", src)
    res = translate(tiny, src, "--to", "zh-TW", "--json")
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout)
    assert Path(obj["output"]).name == "film.zh-TW.srt" and obj["target_lang"] == "zh-TW"


@pytest.mark.slow
def test_bilingual_and_zh_tw_srt_from_the_demo_film(tmp_path: Path) -> None:
    """The shipped demo model on the shipped example film (about 20 s on two cores)."""
    import subprocess
    import sys

    from vloc.style.scripts import chinese_variant

    root = Path(__file__).parents[2]
    video = tmp_path / "film.mp4"
    subprocess.run(
        [sys.executable, str(root / "examples" / "make_film.py"), str(video)], check=True
    )
    src = tmp_path / "film.en.srt"
    shutil.copy(root / "examples" / "film.en.srt", src)
    english = [c.text for c in read_subtitles(src).cues]

    def run(*args: str) -> list[str]:
        res = CliRunner().invoke(app, ["translate", str(video), str(src), *args, "--json"])
        assert res.exit_code == 0, res.output
        return [c.text for c in read_subtitles(json.loads(res.stdout)["output"]).cues]

    bilingual = run("--to", "zh", "--bilingual", "-o", str(tmp_path / "film.en-zh.srt"))
    zh = []
    for text, source in zip(bilingual, english, strict=True):  # target over source
        lines, n = text.split("\n"), source.count("\n") + 1
        assert "\n".join(lines[-n:]) == source and len(lines) > n
        zh.append("".join(lines[:-n]))
    assert all(chinese_variant(t) != "hant" for t in zh)
    tw = run("--to", "zh-TW")  # the same decode, from the journal, then OpenCC
    assert [t.replace("\n", "") for t in tw] == to_traditional(zh, "zh-TW")
    variants = [chinese_variant(t) for t in tw]
    assert variants.count("hant") >= len(tw) // 2 and "hans" not in variants


def test_ttml_from_translate(tiny, tmp_path: Path) -> None:
    src = tmp_path / "film.en.srt"
    src.write_text("1\n00:00:00,000 --> 00:00:01,500\nThe river begins.\n\n", encoding="utf-8")
    res = translate(tiny, src, "--to", "zh", "-o", str(tmp_path / "film.zh.ttml"))
    assert res.exit_code == 0, res.output
    back = pysubs2.load(str(tmp_path / "film.zh.ttml"))
    assert [(e.start, e.end) for e in back.events] == [(0, 1500)]
    assert _translated(back.events[0].plaintext, "The river begins.")


def test_broken_ass_through_translate_writes_nothing(tiny, tmp_path: Path) -> None:
    bad = write_ass(tmp_path / "film.en.ass", f"{STYLES}[Events]\nFormat: Start, Text\n{EVENTS}")
    res = translate(tiny, bad, "--to", "zh")
    assert res.exit_code == 1
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and str(bad) in errors[0] and "Format line" in errors[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["film.en.ass"]


def _desert_film(tmp_path: Path, second: str, glossary_target: str) -> tuple[Path, Path, Path]:
    """A 2-cue film about Rommel and a one-term glossary: (video, subtitles, glossary)."""
    from tiny_films import make_video

    video = make_video(tmp_path / "desert.mp4", seconds=2.0, fps=8, size="64x48")
    subs = tmp_path / "desert.en.srt"
    subs.write_text(
        "1\n00:00:00,000 --> 00:00:01,000\nRommel landed.\n\n"
        f"2\n00:00:01,000 --> 00:00:02,000\n{second}\n"
    )
    glossary = tmp_path / "terms.tsv"
    glossary.write_text(f"Rommel\t{glossary_target}\n", encoding="utf-8")
    return video, subs, glossary


def test_zh_tw_with_a_traditional_glossary_through_an_engine(tmp_path: Path) -> None:
    """The engine writes Simplified; a Traditional glossary is shown and checked in Simplified,
    the output is Traditional."""
    from scripted_server import ScriptedServer, batch_of

    video, subs, glossary = _desert_film(tmp_path, "Rommel waited for the tanks.", "隆美爾")

    def simplified(body) -> str:
        return json.dumps({k: "隆美尔在等待坦克" for k in batch_of(body)}, ensure_ascii=False)

    with ScriptedServer([simplified] * 4) as srv:
        r = CliRunner().invoke(
            app,
            ["translate", str(video), str(subs), "--to", "zh-TW", "--engine", "openai",
             "--base-url", srv.url, "--model", "tiny", "--context", "none",
             "--glossary", str(glossary), "--json"],
        )  # fmt: skip
        system = srv.requests[0]["messages"][0]["content"]
    assert r.exit_code == 0, r.output
    j = json.loads(r.stdout)
    assert len(srv.requests) == 1 and j["usage"]["reasks"] == 0  # 隆美尔 honours 隆美爾
    assert "Rommel => 隆美尔" in system
    assert j["glossary"][0]["honoured"] == 2
    cues = read_subtitles(tmp_path / "desert.zh-TW.srt").cues
    assert [c.text for c in cues] == ["隆美爾在等待坦克"] * 2


def test_zh_tw_direct_asks_the_engine_for_traditional_and_converts_nothing(tmp_path: Path):
    """``--traditional direct``: the prompt names the regional target, shows its example and
    the glossary in Traditional characters, and the engine's text is written as it is."""
    from scripted_server import ScriptedServer, batch_of

    video, subs, glossary = _desert_film(tmp_path, "Rommel took a taxi.", "隆美尔")  # Simplified

    def traditional(body) -> str:  # 出租车 is what s2twp would turn into 計程車
        return json.dumps({k: "隆美爾坐出租车" for k in batch_of(body)}, ensure_ascii=False)

    argv = ["translate", str(video), str(subs), "--to", "zh-TW", "--engine", "openai",
            "--model", "tiny", "--context", "none", "--glossary", str(glossary), "--json"]  # fmt: skip
    with ScriptedServer([traditional] * 4) as srv:
        r = CliRunner().invoke(app, [*argv, "--base-url", srv.url, "--traditional", "direct"])
        system = srv.requests[0]["messages"][0]["content"]
    assert r.exit_code == 0, r.output
    j = json.loads(r.stdout)
    assert "into Chinese (Traditional, Taiwan)" in system
    assert "Rommel => 隆美爾" in system and "隆美爾將軍在的黎波里登陸" in system
    assert "隆美尔" not in system
    assert j["glossary"][0]["honoured"] == 2 and j["target_lang"] == "zh-TW"
    cues = read_subtitles(tmp_path / "desert.zh-TW.srt").cues
    assert [c.text for c in cues] == ["隆美爾坐出租车"] * 2
    # refused before any work: a Simplified target, a decoder that cannot write Traditional
    for extra, message in (
        (["--to", "zh"], "is for a Traditional Chinese target"),
        (["--engine", "seq2seq"], "needs an LLM engine"),
        (["--traditional", "both"], "--traditional 'both'; valid: convert, direct"),
    ):
        bad = CliRunner().invoke(
            app, [*argv, "--base-url", "http://127.0.0.1:9/v1", "--traditional", "direct", *extra]
        )
        assert bad.exit_code == 1 and message in bad.output, bad.output
