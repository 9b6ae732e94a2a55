"""The review page in a real browser: the Debian chromium, headless, driven by Playwright.

The page is generated for the demo film (``examples/make_film.py``: 102 s, 30 cues) with its
English subtitles and the reference Chinese translation, by the real ``vloc review`` command.
Skipped with a reason when chromium or Playwright is missing (``scripts/setup.sh --test``
installs both).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import shutil
from pathlib import Path

import pytest

from vloc.subtitles import parse_subtitles, read_subtitles

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HOSTILE = [
    "<script>window.__pwned = 1; alert('script')</script>",
    "</textarea><img src=x onerror=\"window.__pwned = 2; alert('img')\">",
    '</script><script>window.__pwned = 3</script><b onmouseover="alert(4)">bold</b>',
    "\u202eevil override\u202c and \u2066isolate\u2069 \u200f",
    "\x1b[31mred ANSI\x1b[0m <!-- comment --> & &amp; ]]>",
]

pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None, reason="chromium is not installed (scripts/setup.sh --test)"
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("playwright") is None,
        reason="playwright is not installed (pip install -e '.[test]')",
    ),
]


def _load_make_film():
    spec = importlib.util.spec_from_file_location("make_film", EXAMPLES / "make_film.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.make_film


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the demo film, its English subtitles and the Chinese reference."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    d = tmp_path_factory.mktemp("demo")
    _load_make_film()(d / "film.mp4")
    shutil.copy(EXAMPLES / "film.en.srt", d / "film.en.srt")
    shutil.copy(EXAMPLES / "film.zh-ref.srt", d / "film.zh.srt")
    return d


def _review(*args: str) -> None:
    from typer.testing import CliRunner

    from vloc.cli.app import app

    res = CliRunner().invoke(app, ["review", *args])
    assert res.exit_code == 0, res.output


@pytest.fixture(scope="module")
def demo_page(demo: Path) -> Path:
    page = demo / "review.html"
    _review(
        str(demo / "film.mp4"), str(demo / "film.en.srt"), str(demo / "film.zh.srt"),
        "-o", str(page), "--related", "0",
    )  # fmt: skip
    return page


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--autoplay-policy=no-user-gesture-required", "--no-sandbox"],
        )
        yield b
        b.close()


class Opened:
    """A page opened in the browser, with every dialog, console error and page error seen."""

    def __init__(self, browser, path: Path) -> None:
        self.context = browser.new_context(accept_downloads=True)
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(path.as_uri())
        self.page.wait_for_selector("html[data-ready='1']", timeout=30_000)

    def close(self) -> None:
        self.context.close()

    def __enter__(self) -> Opened:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reviewed(browser, demo: Path, target: Path, name: str, *flags: str, video="film.mp4"):
    """``vloc review`` of ``demo``'s video (``video``), English subtitles and ``target`` into
    ``NAME.html`` (no related lines), opened in ``browser``."""
    page_path = demo / f"{name}.html"
    _review(
        str(demo / video), str(demo / "film.en.srt"), str(target), "-o", str(page_path),
        "--related", "0", *flags,
    )  # fmt: skip
    return Opened(browser, page_path)


@pytest.fixture
def opened(browser, demo_page: Path):
    o = Opened(browser, demo_page)
    yield o
    o.close()


def test_every_cue_is_in_the_table(opened: Opened, demo: Path) -> None:
    cues = read_subtitles(demo / "film.zh.srt").cues
    rows = opened.page.locator("tr[data-cue]")
    assert rows.count() == len(cues) == 30
    numbers = rows.evaluate_all("rs => rs.map(r => +r.dataset.cue)")
    assert numbers == list(range(1, len(cues) + 1))
    texts = opened.page.locator("tr[data-cue] td.tgt").evaluate_all(
        "ts => ts.map(t => t.firstChild.textContent)"
    )
    assert texts == [c.text for c in cues]
    assert opened.page.locator("video").count() == 1
    assert opened.page.locator("#strip-frames img").count() >= 10  # the timeline strip
    assert opened.page.locator("td.frame img").count() == len(cues)  # one keyframe per cue
    assert opened.errors == [] and opened.dialogs == []


def test_clicking_a_cue_seeks_the_player_into_it(opened: Opened, demo: Path) -> None:
    cues = read_subtitles(demo / "film.zh.srt").cues
    page = opened.page
    page.wait_for_function("document.querySelector('video').readyState >= 1", timeout=30_000)
    for n in (12, 3, 30):
        page.locator(f"tr[data-cue='{n}'] td.src").click()
        page.wait_for_function(
            "([s, e]) => { const v = document.querySelector('video');"
            " return !v.seeking && v.currentTime * 1000 >= s && v.currentTime * 1000 < e; }",
            arg=[cues[n - 1].start_ms, cues[n - 1].end_ms],
            timeout=10_000,
        )
        t = page.evaluate("document.querySelector('video').currentTime") * 1000
        assert cues[n - 1].start_ms <= t < cues[n - 1].end_ms, (n, t)
        assert page.locator(f"tr[data-cue='{n}']").get_attribute("class").count("selected") == 1
    # the player at a cue highlights that cue's row
    page.wait_for_selector("tr[data-cue='30'].current", timeout=10_000)
    assert opened.errors == []


def test_edit_and_export_keeps_cues_and_timings(opened: Opened, demo: Path, tmp_path) -> None:
    before = read_subtitles(demo / "film.zh.srt")
    page = opened.page
    page.locator("tr[data-cue='5'] button.edit").click()
    area = page.locator("tr[data-cue='5'] textarea")
    area.fill("改过的译文\n第二行")
    area.press("Control+Enter")
    assert page.locator("tr[data-cue='5']").get_attribute("class").count("edited") == 1
    with page.expect_download() as dl:
        page.locator("#export").click()
    assert dl.value.suggested_filename == "film.zh.reviewed.srt"
    out = tmp_path / dl.value.suggested_filename
    dl.value.save_as(out)
    after = read_subtitles(out)
    assert after.format == "srt" and len(after.cues) == len(before.cues)
    assert [(c.start_ms, c.end_ms) for c in after.cues] == [
        (c.start_ms, c.end_ms) for c in before.cues
    ]
    assert after.cues[4].text == "改过的译文\n第二行"
    assert [c.text for k, c in enumerate(after.cues) if k != 4] == [
        c.text for k, c in enumerate(before.cues) if k != 4
    ]
    assert opened.errors == []


def test_export_without_edits_is_the_target_byte_for_byte(opened: Opened, demo: Path) -> None:
    text = opened.page.evaluate("window.vlocReview.serialize()")
    assert text == (demo / "film.zh.srt").read_text(encoding="utf-8")


def _hostile_target(src: Path, out: Path) -> None:
    """The translation with hostile texts, written by hand: vloc's own writer would drop the
    control characters a hostile file can carry."""
    from vloc.subtitles.cues import format_timestamp

    cues = list(read_subtitles(src).cues)
    for k, text in enumerate(HOSTILE):
        cues[k] = dataclasses.replace(cues[k], text=text)
    blocks = [
        f"{k}\n{format_timestamp(c.start_ms)} --> {format_timestamp(c.end_ms)}\n{c.text}\n"
        for k, c in enumerate(cues, 1)
    ]
    out.write_text("\n".join(blocks), encoding="utf-8")


def test_hostile_cue_text_is_shown_as_text(browser, demo: Path, tmp_path: Path) -> None:
    target = demo / "hostile.zh.srt"
    _hostile_target(demo / "film.zh.srt", target)
    written = [c.text for c in read_subtitles(target).cues[: len(HOSTILE)]]
    assert written == HOSTILE  # the subtitle files carry the hostile text unchanged
    with _reviewed(browser, demo, target, "hostile", "--thumbnails", "none") as o:
        page = o.page
        for n, text in enumerate(written, 1):
            cell = page.locator(f"tr[data-cue='{n}'] td.tgt")
            # control characters are shown as visible escapes; the rest is the text itself
            shown = cell.evaluate("td => td.textContent.replace(/✎$/, '')")
            visible = "".join(
                f"\\x{ord(ch):02x}" if ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F
                else f"\\u{ord(ch):04x}" if ch in "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
                else ch
                for ch in text
            )  # fmt: skip
            assert shown == visible, n
        # nothing the texts carry became an element
        assert page.locator("td.tgt script, td.tgt img, td.tgt b, td.src script").count() == 0
        assert page.locator("img[src='x']").count() == 0
        # editing the cue that closes a textarea keeps it as text
        page.locator("tr[data-cue='2'] button.edit").click()
        area = page.locator("tr[data-cue='2'] textarea")
        assert area.input_value() == written[1]
        area.press("Control+Enter")
        # the subtitle track shown over the video carries the text, not markup
        page.wait_for_function("document.querySelector('video').textTracks.length === 2")
        page.locator("tr[data-cue='1'] td.num").click()
        page.wait_for_timeout(300)
        assert page.evaluate("window.__pwned === undefined")
        assert o.dialogs == [], o.dialogs
        assert o.errors == [], o.errors


def test_mismatched_cues_are_marked_and_a_missing_video_leaves_no_player(
    browser, demo: Path
) -> None:
    """A translation missing cues 4 and 5, reviewed without the video: every source cue has its
    row, the two without translation are marked and filtered as unmatched, the warnings are on
    the page, and the export still holds exactly the translation's cues."""
    from vloc.subtitles import write_subtitles

    cues = list(read_subtitles(demo / "film.zh.srt").cues)
    short = demo / "short.zh.srt"
    write_subtitles(short, cues[:3] + cues[5:])
    with _reviewed(browser, demo, short, "short", video="missing.mp4") as o:
        page = o.page
        assert page.locator("video").count() == 0
        notes = page.locator("#notes li").all_text_contents()
        assert any("missing.mp4: video not found" in n for n in notes)
        assert any("source cues 4-5 have no translation" in n for n in notes)
        assert page.locator("tr.cue").count() == 30 and page.locator("tr[data-cue]").count() == 28
        marked = page.locator("tr.cue.unmatched").evaluate_all("rs => rs.map(r => +r.dataset.src)")
        assert marked == [4, 5]
        page.select_option("#filter", "unmatched")
        assert page.locator("tr.cue:visible").count() == 2
        exported = parse_subtitles(page.evaluate("window.vlocReview.serialize()"), format="srt")
        assert [(c.start_ms, c.end_ms, c.text) for c in exported.cues] == [
            (c.start_ms, c.end_ms, c.text) for c in cues[:3] + cues[5:]
        ]
        assert o.errors == [] and o.dialogs == []


def test_webvtt_export_keeps_identifiers_and_settings(browser, demo: Path) -> None:
    """A WebVTT translation exports as WebVTT, with its cue identifiers and settings, exactly
    as vloc writes it."""
    from vloc.subtitles import write_subtitles
    from vloc.subtitles.write import dumps_vtt

    subs = read_subtitles(demo / "film.zh.srt")
    target = demo / "film.zh.vtt"
    write_subtitles(
        target, subs.cues, vtt_settings={0: "line:10% align:start", 4: "position:20%"},
        identifiers={0: "intro", 7: "cue-8"},
    )  # fmt: skip
    with _reviewed(browser, demo, target, "vtt", "--thumbnails", "none") as o:
        got = o.page.evaluate("window.vlocReview.serialize()")
        back = read_subtitles(target)
        assert got == dumps_vtt(back.cues, back.vtt_settings, back.identifiers)
        assert got == target.read_text(encoding="utf-8") and got.startswith("WEBVTT\n\n")
        with o.page.expect_download() as dl:
            o.page.locator("#export").click()
        assert dl.value.suggested_filename == "film.zh.reviewed.vtt"
        assert o.errors == []


def test_what_informed_a_line_shows_the_engine_context(browser, demo: Path) -> None:
    """An engine run's context log: the cue's details list the related lines with their
    similarity and translation, the previous lines and the keyframes the prompt carried; a
    related line's time seeks the player to it."""
    from vloc.review import append_context, context_record
    from vloc.style.cues import split_style

    src = read_subtitles(demo / "film.en.srt").cues
    texts = [split_style(c.text).plain for c in src]
    log = demo / "run.context.jsonl"
    log.unlink(missing_ok=True)
    append_context(
        log,
        [context_record([3, 4], texts[2:4], related=[(17, 0.67), (26, 0.5)], previous=[1, 2],
                        glossary=["current"], frames_ms=[8000, 42000])],
    )  # fmt: skip
    with _reviewed(browser, demo, demo / "film.zh.srt", "ctx", "--context", str(log)) as o:
        page = o.page
        assert page.locator("tr[data-cue='1'] button.more").count() == 0  # nothing to show
        page.locator("tr[data-cue='3'] button.more").click()
        box = page.locator("tr.details").first
        text = box.inner_text()
        assert "what the engine was shown with this batch (cues 3–4)" in text
        assert "0.67" in text and src[16].text in text and src[0].text in text
        assert "glossary terms: current" in text
        assert box.locator(".frames img").count() == 2
        page.wait_for_function("document.querySelector('video').readyState >= 1")
        box.locator(".at").first.click()  # cue 17's time
        page.wait_for_function(
            f"Math.abs(document.querySelector('video').currentTime * 1000 - {src[16].start_ms}) < 5"
        )
        assert o.errors == [] and o.dialogs == []
