"""vloc review: pairing source and translation, QC flags, the page's data and its escaping, the
context log, thumbnails, and the command's bad inputs (one line, exit 1, nothing written).
The page in a real browser is tested in test_review_browser.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from tiny_films import make_video
from typer.testing import CliRunner

from vloc.cli.app import app
from vloc.errors import InputError
from vloc.review import (
    append_context,
    context_by_cue,
    context_record,
    read_context,
    write_review,
)
from vloc.review.data import pair_cues
from vloc.review.flags import parse_qc
from vloc.review.page import json_for_script, render_page
from vloc.subtitles import Cue

EN = [
    "The river is wide and slow.",
    "People meet at the bank.",
    "The current is stronger than it looks.",
    "Nobody expected what came next.",
    "The city sleeps at night.",
    "Boats come back at dusk.",
]
ZH = ["河面宽阔而平缓。", "人们在河岸相聚。", "水流比看上去更强。", "没有人料到接下来发生的事。", "城市在夜里沉睡。", "船只在黄昏归来。"]  # fmt: skip


def ts(ms: int) -> str:
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def write_srt(path: Path, texts: list[str], spans: list[tuple[int, int]] | None = None) -> Path:
    spans = spans or [(k * 1500, k * 1500 + 1400) for k in range(len(texts))]
    blocks = [
        f"{k + 1}\n{ts(a)} --> {ts(b)}\n{t}\n"
        for k, (t, (a, b)) in enumerate(zip(texts, spans, strict=True))
    ]
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


def page_data(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="vloc-data">(.*?)</script>', html, re.S)
    assert m is not None
    return json.loads(m[1])


def cue(k: int, start: int, end: int, text: str = "x") -> Cue:
    return Cue(index=k + 1, start_ms=start, end_ms=end, text=text)


@pytest.fixture
def film(tmp_path: Path) -> Path:
    """A 10-s video with English subtitles and their Chinese translation beside it."""
    make_video(tmp_path / "film.mp4", seconds=10.0, fps=10, size="128x72")
    write_srt(tmp_path / "film.en.srt", EN)
    write_srt(tmp_path / "film.zh.srt", ZH)
    return tmp_path


def run(*args: str | Path):
    return CliRunner().invoke(app, ["review", *map(str, args)])


# ---------------------------------------------------------------- pairing


def test_pairing_names_the_cues_that_differ_and_keeps_the_rest_aligned() -> None:
    src = [cue(k, k * 1000, k * 1000 + 900) for k in range(6)]
    tgt = [c for k, c in enumerate(src) if k != 2]  # cue 3 has no translation
    tgt[3] = cue(3, 4000, 4500)  # source cue 5, retimed
    p = pair_cues(src, tgt)
    assert p.source_only == (3,) and p.target_only == () and p.retimed == (4,)
    assert [(r.src, r.tgt, r.timing_differs) for r in p.rows] == [
        (0, 0, False), (1, 1, False), (2, None, False), (3, 2, False), (4, 3, True), (5, 4, False),
    ]  # fmt: skip
    msg = p.describe(6, 5)
    assert "the source has 6 cues, the translation 5" in msg
    assert "source cues 3 have no translation" in msg and "translation cues 4 are timed" in msg
    same = pair_cues(src, src)
    assert same.matched and same.describe(6, 6) == ""


def test_pairing_lists_runs_of_cue_numbers() -> None:
    src = [cue(k, k * 1000, k * 1000 + 900) for k in range(40)]
    p = pair_cues(src, src[:10] + src[20:])
    assert p.source_only == tuple(range(11, 21))
    assert "source cues 11-20 have no translation" in p.describe(40, 30)


# ---------------------------------------------------------------- QC flags


def test_checker_flags_are_validated_naming_the_item() -> None:
    got = parse_qc(
        {"flags": [{"cue": 2, "rules": ["reading-speed", {"rule": "x", "severity": "error"}]}]}, 3
    )
    assert [f.rule for f in got[2]] == ["reading-speed", "x"] and got[2][1].severity == "error"
    with pytest.raises(
        InputError, match="item 1: cue 9 is not a cue number of the translation 1..3"
    ):
        parse_qc([{"cue": 9, "rules": []}], 3)
    with pytest.raises(InputError, match="item 2 .*severity 'fatal'"):
        parse_qc(
            [{"cue": 1, "rules": []}, {"cue": 1, "rules": [{"rule": "a", "severity": "fatal"}]}], 3
        )
    report = {  # the shape of a style checker's --json report
        "file": "film.zh.srt",
        "flagged": [
            {"cue": 3, "start_ms": 0, "end_ms": 900, "text": "x", "rules": ["reading_speed", "lines"],
             "levels": {"reading_speed": "error", "lines": "warning"},
             "details": {"reading_speed": "14.2 characters/s (limit 9)", "lines": "3 lines (limit 2)"}},
        ],
    }  # fmt: skip
    got = parse_qc(report, 3)
    assert [(f.rule, f.severity, f.message) for f in got[3]] == [
        ("reading_speed", "error", "14.2 characters/s (limit 9)"),
        ("lines", "warning", "3 lines (limit 2)"),
    ]
    with pytest.raises(InputError, match="rule id '<b>' is not a short id"):
        parse_qc([{"cue": 1, "rules": ["<b>"]}], 3)


# ---------------------------------------------------------------- the page and its escaping


HOSTILE = "</script><script>alert(1)</script><!-- \u2028\u2029 & </textarea> \ud800"


def test_data_cannot_end_its_script_element_and_reads_back() -> None:
    text = json_for_script({"t": HOSTILE})
    assert "<" not in text and ">" not in text and "&" not in text
    assert "\u2028" not in text and "\u2029" not in text
    assert json.loads(text) == {"t": HOSTILE}
    html = render_page({"t": HOSTILE}, title="</title><script>x</script>", version="0")
    assert html.count("<script") == 2 and html.count("</script>") == 2
    assert "<title>&lt;/title&gt;&lt;script&gt;x&lt;/script&gt;</title>" in html
    assert page_data(html) == {"t": HOSTILE}


def test_page_allows_only_its_own_script_and_style(film: Path) -> None:
    out = film / "review.html"
    write_review(film / "film.mp4", film / "film.en.srt", film / "film.zh.srt", out, related=0)
    html = out.read_text(encoding="utf-8")
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)[1]
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp
    assert "unsafe-inline" not in csp and "http" not in csp
    # no URL of any other place: nothing fetched from the network
    assert not re.search(r"(?:src|href)=[\"']?(?:https?:)?//", html)


# ---------------------------------------------------------------- writing the page


def test_review_page_of_a_film(film: Path) -> None:
    out = film / "review.html"
    res = write_review(
        film / "film.mp4", film / "film.en.srt", film / "film.zh.srt", out, related=0
    )
    data = page_data(out.read_text(encoding="utf-8"))
    assert res.rows == 6 and res.mismatch == "" and res.warnings == ()
    assert res.thumbnail_mode == "embedded" and res.files is None
    assert data["video"]["src"] == "film.mp4"  # relative: the page plays the film beside it
    assert [c[2] for c in data["tgt"]] == ZH and [c[2] for c in data["src"]] == EN
    assert data["rows"] == [[k, k, 0] for k in range(6)]
    assert all(data["thumbs"][i].startswith("data:image/jpeg;base64,") for i in data["thumbOf"])
    assert len(data["strip"]) == 10  # a 10-s film: one strip frame per second
    assert data["target"]["export"] == "film.zh.reviewed.srt"
    assert data["source"]["lang"] == "en" and data["target"]["lang"] == "zh"


def test_thumbnails_in_a_folder_beside_the_page(film: Path) -> None:
    out = film / "pages" / "r.html"
    res = write_review(
        film / "film.mp4", film / "film.en.srt", film / "film.zh.srt", out, related=0,
        thumbnails="folder",
    )  # fmt: skip
    data = page_data(out.read_text(encoding="utf-8"))
    assert res.files == film / "pages" / "r_files" and res.thumbnail_mode == "folder"
    assert data["video"]["src"] == "../film.mp4"
    for url in data["thumbs"]:
        assert url.startswith("r_files/") and (out.parent / url).read_bytes()[:2] == b"\xff\xd8"
    # embedded again: the folder this command wrote goes away
    write_review(film / "film.mp4", film / "film.en.srt", film / "film.zh.srt", out, related=0)
    assert not res.files.exists()


def test_glossary_terms_honoured_and_missed(film: Path) -> None:
    (film / "terms.tsv").write_text("river\t河\nbank\t银行\n", encoding="utf-8")
    out = film / "review.html"
    res = write_review(
        film / "film.mp4", film / "film.en.srt", film / "film.zh.srt", out, related=0,
        glossary=film / "terms.tsv",
    )  # fmt: skip
    data = page_data(out.read_text(encoding="utf-8"))
    assert data["gloss"]["0"] == [["river", "河", True]]
    assert data["gloss"]["1"] == [["bank", "银行", False]]  # translated 河岸, not 银行
    assert res.flagged >= 1


@pytest.mark.slow
def test_related_cues_from_the_films_index(film: Path) -> None:
    out = film / "review.html"
    res = write_review(
        film / "film.mp4", film / "film.en.srt", film / "film.zh.srt", out, related=3
    )
    data = page_data(out.read_text(encoding="utf-8"))
    assert res.encoder == "use-multilingual-v3"
    assert len(data["related"]) == 6
    for k, rel in enumerate(data["related"]):
        assert len(rel) == 3 and all(j != k and -1 <= s <= 1 for j, s in rel)
        assert [s for _, s in rel] == sorted((s for _, s in rel), reverse=True)


def test_thumbnails_show_the_frame_on_screen_at_each_time(tmp_path: Path) -> None:
    """One decode pass: each time gets the frame covering it (red for 0-1 s, blue for 1-2 s),
    a time past the end gets none, a frame asked for twice is stored once."""
    import io
    import shutil
    import subprocess

    from PIL import Image

    from vloc.review.thumbs import grab_thumbnails, strip_times_ms

    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    video = tmp_path / "rb.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=red:s=320x180:r=25:d=1",
         "-f", "lavfi", "-i", "color=c=blue:s=320x180:r=25:d=1",
         "-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(video)],
        check=True,
    )  # fmt: skip
    th = grab_thumbnails(video, [300, 800, 800, 1300, 1900, 5000])
    assert 5000 not in th.at_ms and sorted(th.at_ms) == [300, 800, 1300, 1900]
    assert (th.width, th.height) == (160, 90)
    assert len(th.jpegs) == 4  # five requests, 800 twice: four frames decoded and stored

    def rgb(t: int) -> tuple[int, ...]:
        return Image.open(io.BytesIO(th.jpegs[th.at_ms[t]])).convert("RGB").getpixel((80, 45))

    for t in (300, 800):
        r, g, b = rgb(t)
        assert r > 200 and b < 60, (t, r, g, b)
    for t in (1300, 1900):
        r, g, b = rgb(t)
        assert b > 200 and r < 60, (t, r, g, b)
    assert len(strip_times_ms(2.0)) == 10 and len(strip_times_ms(7200.0)) == 120


# ---------------------------------------------------------------- the engine's context log


def test_context_log_round_trip_skips_cut_lines_and_other_subtitles(tmp_path: Path) -> None:
    log = tmp_path / "film.en.srt.zh.context.jsonl"
    texts = [t.rstrip(".") for t in EN]
    a = context_record([1, 2], texts[:2], related=[(5, 0.81), 6], previous=[], frames_ms=[500])
    b = context_record([3, 4], texts[2:4], related=[(1, 0.5)], previous=[1, 2], glossary=["bank"])
    stale = context_record([5], ["an older text"])
    append_context(log, [a])
    with open(log, "ab") as f:
        f.write(b'{"v": 1, "cues": [3')  # a run killed mid-write
    append_context(log, [b, stale])
    records = read_context(log)
    assert records == [a, b, stale]
    by_cue, ignored = context_by_cue(records, texts)
    assert by_cue == {1: a, 2: a, 3: b, 4: b} and ignored == 1
    assert a.related == ((5, 0.81), (6, None))


def test_context_log_is_shown_on_the_page(film: Path) -> None:
    from vloc.text import plain_text

    texts = [plain_text(t) for t in EN]
    log = film / "run.context.jsonl"
    append_context(
        log, [context_record([1, 2, 3], texts[:3], related=[(6, 0.7)], frames_ms=[2500])]
    )
    out = film / "review.html"
    res = write_review(
        film / "film.mp4", film / "film.en.srt", film / "film.zh.srt", out, related=0, context=log
    )
    data = page_data(out.read_text(encoding="utf-8"))
    assert res.context_batches == 1 and res.context_log == log
    assert data["ctx"]["of"] == {"1": 0, "2": 0, "3": 0}
    rec = data["ctx"]["records"][0]
    assert rec["related"] == [[6, 0.7]] and rec["frames"][0] >= 0  # the keyframe's thumbnail


# ---------------------------------------------------------------- the command and bad input


def test_cli_writes_the_page_beside_the_target(film: Path) -> None:
    res = CliRunner().invoke(
        app, ["review", str(film / "film.mp4"), str(film / "film.en.srt"), str(film / "film.zh.srt"), "--related", "0", "--json"]
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout)
    assert obj["output"] == str(film / "film.zh.review.html") and obj["rows"] == 6
    assert (film / "film.zh.review.html").is_file()


def test_mismatched_cue_counts_render_what_matches(film: Path) -> None:
    # cue 3's translation is missing; the others keep their source cue's span
    spans = [(k * 1500, k * 1500 + 1400) for k in (0, 1, 3, 4, 5)]
    write_srt(film / "short.zh.srt", ZH[:2] + ZH[3:], spans)
    out = film / "review.html"
    res = run(
        film / "film.mp4", film / "film.en.srt", film / "short.zh.srt", "-o", out, "--related", "0"
    )
    assert res.exit_code == 0, res.output
    assert (
        "the source has 6 cues, the translation 5; source cues 3 have no translation" in res.output
    )
    data = page_data(out.read_text(encoding="utf-8"))
    assert data["rows"] == [[0, 0, 0], [1, 1, 0], [2, -1, 0], [3, 2, 0], [4, 3, 0], [5, 4, 0]]
    assert any("source cues 3 have no translation" in n[1] for n in data["notes"])


def test_missing_video_gives_a_page_without_player(film: Path) -> None:
    out = film / "review.html"
    res = run(
        film / "gone.mp4", film / "film.en.srt", film / "film.zh.srt", "-o", out, "--related", "0"
    )
    assert res.exit_code == 0, res.output
    assert "gone.mp4: video not found: the page has no player" in res.output
    data = page_data(out.read_text(encoding="utf-8"))
    assert data["video"]["src"] is None and data["thumbs"] == [] and len(data["rows"]) == 6
    assert data["notes"][0][0] == "error"


@pytest.mark.parametrize(
    "content",
    [b"\x89PNG\r\n\x1a\n" + bytes(200), b"just some words\nno cues here\n", b""],
    ids=["binary", "text", "empty"],
)
def test_target_that_is_not_subtitles_fails_in_one_line(film: Path, content: bytes) -> None:
    (film / "bad.zh.srt").write_bytes(content)
    out = film / "review.html"
    res = run(
        film / "film.mp4", film / "film.en.srt", film / "bad.zh.srt", "-o", out, "--related", "0"
    )
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "bad.zh.srt" in lines[0], (
        res.output
    )
    assert "Traceback" not in res.output
    assert not out.exists() and not (film / "review_files").exists()
    assert sorted(p.name for p in film.iterdir()) == [
        "bad.zh.srt",
        "film.en.srt",
        "film.mp4",
        "film.zh.srt",
    ]


def test_output_may_not_replace_an_input(film: Path) -> None:
    res = run(
        film / "film.mp4", film / "film.en.srt", film / "film.zh.srt", "-o", film / "film.zh.srt"
    )
    assert res.exit_code == 1 and "error:" in res.output
    assert (film / "film.zh.srt").read_text(encoding="utf-8").startswith("1\n")


def test_bad_checker_flags_fail_naming_the_file(film: Path) -> None:
    (film / "qc.json").write_text('[{"cue": 99, "rules": ["x"]}]', encoding="utf-8")
    out = film / "review.html"
    res = run(film / "film.mp4", film / "film.en.srt", film / "film.zh.srt", "-o", out, "--qc", film / "qc.json", "--related", "0")  # fmt: skip
    assert res.exit_code == 1 and "qc.json" in res.output and "cue 99" in res.output
    assert not out.exists()


def test_engine_runs_log_what_each_prompt_showed(tmp_path: Path) -> None:
    """The batch loop appends one context record per batch it translates (none for batches
    taken from the journal); the records match the film's texts and carry similarities."""
    import numpy as np
    from scripted_server import MemoryJournal, ScriptedServer

    from vloc.engines import EngineOptions, OpenAISettings, open_engine
    from vloc.engines.runner import EngineRunner, FilmText
    from vloc.glossary.file import GlossaryTerm

    rng = np.random.default_rng(0)
    emb = rng.normal(size=(20, 8)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    texts = [f"Line {i} about the war." for i in range(20)]
    film = FilmText(texts, "en", "zh", embeddings=emb, glossary=(GlossaryTerm("war", "战争"),))
    log = tmp_path / "film.en.srt.zh.0123.context.jsonl"
    journal = MemoryJournal()
    with ScriptedServer() as srv:
        opts = EngineOptions(OpenAISettings(base_url=srv.url, model="tiny"), batch_cues=5)
        eng = open_engine(opts)
        EngineRunner(eng, film, opts, journal, context_log=log).run()
        records = read_context(log)
        assert [r.cues for r in records] == [tuple(range(s + 1, s + 6)) for s in range(0, 20, 5)]
        EngineRunner(eng, film, opts, journal, context_log=log).run()  # all from the journal
        assert read_context(log) == records
    by_cue, ignored = context_by_cue(records, texts)
    assert ignored == 0 and sorted(by_cue) == list(range(1, 21))
    last = records[-1]
    assert last.previous and last.glossary == ("war",) and last.related
    rows = [c - 1 for c in last.cues]
    for n, score in last.related:
        assert score == pytest.approx(float((emb[rows] @ emb[n - 1]).max()), abs=1e-4)


def test_translate_review_shows_what_each_prompt_showed(film: Path) -> None:
    """vloc translate --review: the page beside the output holds the engine run's context
    (related lines with similarities, previous lines, the keyframes sent, as thumbnails)."""
    from scripted_server import ScriptedServer

    out = film / "film.zh.srt"
    out.unlink()
    with ScriptedServer() as srv:
        res = CliRunner().invoke(
            app,
            ["translate", str(film / "film.mp4"), str(film / "film.en.srt"), "--to", "zh",
             "--engine", "openai", "--base-url", srv.url, "--model", "tiny", "--images",
             "--frames", "2", "--batch-cues", "2", "-o", str(out), "--review", "--json"],
        )  # fmt: skip
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout)
    page = film / "film.zh.review.html"
    assert obj["review"]["output"] == str(page) and obj["review"]["context_batches"] == 3
    data = page_data(page.read_text(encoding="utf-8"))
    assert data["ctx"]["of"] == {str(n): (n - 1) // 2 for n in range(1, 7)}
    first, last = data["ctx"]["records"][0], data["ctx"]["records"][2]
    assert first["cues"] == [1, 2] and first["related"] and not first["previous"]
    assert all(n > 2 and isinstance(s, float) for n, s in first["related"])
    assert last["cues"] == [5, 6] and last["previous"] == [1, 2, 3, 4]
    for rec in (first, last):
        assert len(rec["frames_ms"]) == 2 and all(k >= 0 for k in rec["frames"])
    assert data["related"] is not None and len(data["related"]) == 6
