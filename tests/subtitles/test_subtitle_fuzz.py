"""The subtitle parser and writer under random and mutated input: no input hangs or crashes
the parser (each parse is bounded in time), and whatever parses writes back to a file that
parses to the same cues."""

from __future__ import annotations

import random
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from tiny_subtitles import SRT, TW_SRT, VTT, ZH_SRT

from vloc.errors import SubtitleError
from vloc.subtitles import (
    Cue,
    Subtitles,
    decode_subtitle_bytes,
    dumps_srt,
    dumps_vtt,
    parse_subtitles,
)
from vloc.text import without_controls

PARSE_LIMIT_S = 2.0  # one parse of a few KB takes milliseconds; a hang is caught here
CASES = 400  # random + mutated documents per run (about a second in all)
REAL_CUES = 60  # cues of each real film taken as a seed


def written_text(text: str, fmt: str = "srt") -> str:
    """The writer's rules for a text (imported late: older trees lack it)."""
    from vloc.subtitles.write import written_text as rules

    return rules(text, fmt)


# each first line of a NOTE/STYLE/REGION block holds '-->': the parser once looped forever
HANG_VTT = "WEBVTT\n\nNOTE a --> b\n\n00:00:01.000 --> 00:00:02.000\nHi\n"
HOSTILE_VTT = [
    HANG_VTT,
    "WEBVTT\n\nSTYLE --> x\n\n00:00:01.000 --> 00:00:02.000\nHi\n",
    "WEBVTT\n\nREGION\nid --> x\n\n00:00:01.000 --> 00:00:02.000\nHi\n",
    "WEBVTT\nNOTE -->\n00:00:01.000 --> 00:00:02.000\nHi\n",
    "NOTE --> \n",
]
# pieces that steer the parser into its special cases
PALETTE = [
    "", "", "", "1", "2", "42", "0", "WEBVTT", "WEBVTT header", "NOTE", "NOTE -->", "STYLE",
    "REGION", "STYLE x --> y", "-->", " --> ", "00:00:01,000 --> 00:00:02,000",
    "00:00:01.000 --> 00:00:02.000 align:start", "00:01.000 --> 00:02.000",
    "00:00:01,000 -> 00:00:02,000", "00:00:01,000", "00:00:aa,000 --> 00:00:02,000",
    "-00:00:01,000 --> 00:00:02,000", "00:00:61,000 --> 00:01:00,000",
    "99 00:00:00,000 --> 00:00:01,000", "000 --> 00:00:01,000", "low --> high", "A --> B",
    "1 --> 2", "Meet at 10:30 --> the bridge", "Hello there.", "<i>tag</i> text", "{\\an8}top",
    "罗马是古代世界", "\ufeff", "\r", "\r\n", "\t", "   ", "\x1b[2J", "\x07", "\x00", "\x85",
    "\u2028", "\u3000", "--&gt;", "<i></i>00:00:01,000 --> 00:00:02,000",
    "00:00:01,000 --> 00:00:02,000 --> 00:00:03,000", "::cue", "999999999999999999999",
    "123:00:00,001 --> 124:00:00,000", "00:00:01,0000000000000000000000000001 --> 00:00:02,0",
]  # fmt: skip


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise TimeoutError in the block after ``seconds`` (a signal alarm on the main thread;
    elsewhere only a check after the fact)."""
    start = time.perf_counter()
    if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():

        def _expired(*_: object) -> None:
            raise TimeoutError(f"parse ran for more than {seconds} s")

        old = signal.signal(signal.SIGALRM, _expired)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    else:
        yield
    if time.perf_counter() - start > seconds:
        raise TimeoutError(f"parse ran for more than {seconds} s")


def bounded_parse(text: str, **kwargs: object) -> Subtitles | SubtitleError:
    """The parse's result or its SubtitleError; any other exception, or a parse that does not
    end within PARSE_LIMIT_S, fails the test naming the input."""
    try:
        with time_limit(PARSE_LIMIT_S):
            return parse_subtitles(text, **kwargs)  # type: ignore[arg-type]
    except SubtitleError as e:
        assert "\n" not in str(e), f"a multi-line error for {text[:300]!r}: {e}"
        return e
    except TimeoutError:
        pytest.fail(f"the parser hangs on {text[:300]!r}")
    except Exception as e:  # noqa: BLE001 - any other exception is a crash
        pytest.fail(f"the parser crashed ({type(e).__name__}: {e}) on {text[:300]!r}")


def assert_round_trip(subs: Subtitles, source: str) -> None:
    """Written in its own format, the parsed document reads back to the same cues, each text
    as :func:`written_text` writes it."""
    if subs.format == "vtt":
        text = dumps_vtt(subs.cues, subs.vtt_settings, subs.identifiers)
    else:
        text = dumps_srt(subs.cues, keep_indices=True)
    back = bounded_parse(text, format=subs.format)
    assert isinstance(back, Subtitles), f"{back} — written from {source[:300]!r} as {text[:300]!r}"
    want = [(c.start_ms, c.end_ms, written_text(c.text, subs.format)) for c in subs.cues]
    assert [(c.start_ms, c.end_ms, c.text) for c in back.cues] == want, source[:300]
    if subs.format == "srt":
        assert [c.index for c in back.cues] == [c.index for c in subs.cues]
    else:
        # identifiers and settings lose control characters too
        for got, had in (
            (back.identifiers, subs.identifiers),
            (back.vtt_settings, subs.vtt_settings),
        ):
            assert got == {k: w for k, v in had.items() if (w := without_controls(v).strip())}


def _mutations(rng: random.Random, seeds: list[str]) -> list[Callable[[list[str]], list[str]]]:
    def insert(lines: list[str]) -> list[str]:
        k = rng.randrange(len(lines) + 1)
        return lines[:k] + [rng.choice(PALETTE)] + lines[k:]

    def delete(lines: list[str]) -> list[str]:
        k = rng.randrange(len(lines)) if lines else 0
        return lines[:k] + lines[k + 1 :]

    def duplicate(lines: list[str]) -> list[str]:
        k = rng.randrange(len(lines)) if lines else 0
        return lines[: k + 1] + lines[k:]

    def swap(lines: list[str]) -> list[str]:
        if len(lines) > 1:
            a, b = rng.sample(range(len(lines)), 2)
            lines = list(lines)
            lines[a], lines[b] = lines[b], lines[a]
        return lines

    def poke(lines: list[str]) -> list[str]:  # one character of one line changed
        if not lines:
            return lines
        k = rng.randrange(len(lines))
        line = lines[k]
        at = rng.randrange(len(line) + 1)
        piece = rng.choice([*"0123456789:.,->< \t", "-->", "\x1b", "\u2212", "\ufeff", ""])
        return [*lines[:k], line[:at] + piece + line[at + 1 :], *lines[k + 1 :]]

    def splice(lines: list[str]) -> list[str]:  # a run of another document's lines
        other = rng.choice(seeds).split("\n")
        a = rng.randrange(len(other))
        k = rng.randrange(len(lines) + 1)
        return lines[:k] + other[a : a + rng.randint(1, 6)] + lines[k:]

    def prefix_vtt(lines: list[str]) -> list[str]:
        return ["WEBVTT", *lines] if rng.random() < 0.5 else lines[1:]

    return [insert, delete, duplicate, swap, poke, splice, prefix_vtt]


def _real_seeds(shared: Path | None) -> list[str]:
    """The start of the real multilingual film and of a TopicVD documentary, as SRT text."""
    if shared is None:
        return []
    out = []
    msrt = shared / "multilingual-srt" / "pepper-and-carrot-ep06.msrt"
    if msrt.is_file():
        blocks = msrt.read_text(encoding="utf-8").split("\n\n")
        out.append("\n\n".join(blocks[: REAL_CUES + 1]))
    info = shared / "topicvd-valid" / "valid.info"
    if info.is_file():
        rows = info.read_text(encoding="utf-8").splitlines()[:REAL_CUES]
        texts = (shared / "topicvd-valid" / "valid.zh").read_text(encoding="utf-8").splitlines()
        out.append(
            "".join(
                f"{k + 1}\n{row.split(chr(9))[1]} --> {row.split(chr(9))[2]}\n{texts[k]}\n\n"
                for k, row in enumerate(rows)
            )
        )
    return out


@pytest.fixture
def seeds(request: pytest.FixtureRequest) -> list[str]:
    from tiny_films import SHARED_DATA

    real = _real_seeds(SHARED_DATA if SHARED_DATA.is_dir() else None)
    return [SRT, ZH_SRT, TW_SRT, VTT, *HOSTILE_VTT, *real]


@pytest.mark.parametrize("text", HOSTILE_VTT)
def test_vtt_blocks_holding_an_arrow_are_one_clear_error(text: str, tmp_path: Path) -> None:
    result = bounded_parse(text, path=tmp_path / "hang.vtt")
    assert isinstance(result, SubtitleError)
    assert str(tmp_path / "hang.vtt") in str(result) and "line " in str(result)
    assert "-->" in str(result)


def test_seeds_parse_and_round_trip(seeds: list[str]) -> None:
    parsed = [s for s in map(bounded_parse, seeds) if isinstance(s, Subtitles)]
    assert len(parsed) >= 4  # the well-formed seeds; the hostile ones are errors
    for subs, source in zip(parsed, seeds, strict=False):
        assert_round_trip(subs, source)


@pytest.mark.parametrize("seed", [0, 1])
def test_mutated_documents_never_hang_or_crash(seeds: list[str], seed: int) -> None:
    rng = random.Random(seed)
    mutations = _mutations(rng, seeds)
    outcomes = {"parsed": 0, "refused": 0}
    start = time.perf_counter()
    for _ in range(CASES // 2):
        lines = rng.choice(seeds).split("\n")
        for _ in range(rng.randint(1, 6)):
            lines = rng.choice(mutations)(lines)
        text = "\n".join(lines)
        result = bounded_parse(text)
        if isinstance(result, Subtitles):
            outcomes["parsed"] += 1
            assert_round_trip(result, text)
        else:
            outcomes["refused"] += 1
    assert outcomes["parsed"] > 20 and outcomes["refused"] > 20, outcomes  # both paths fuzzed
    assert time.perf_counter() - start < 30


def test_random_documents_never_hang_or_crash() -> None:
    rng = random.Random(7)
    for _ in range(CASES // 2):
        text = "\n".join(rng.choice(PALETTE) for _ in range(rng.randint(0, 40)))
        for fmt in (None, "vtt"):
            result = bounded_parse(text, format=fmt)
            if isinstance(result, Subtitles):
                assert_round_trip(result, text)


def test_mutated_bytes_decode_or_fail_cleanly(seeds: list[str]) -> None:
    """Bytes flipped in encoded files: decoding either works or is one SubtitleError."""
    rng = random.Random(3)
    for _ in range(CASES // 4):
        codec = rng.choice(["utf-8", "utf-8-sig", "utf-16", "gb18030", "big5"])
        data = bytearray(rng.choice(seeds).encode(codec, errors="replace"))
        for _ in range(rng.randint(1, 8)):
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            with time_limit(PARSE_LIMIT_S):
                text, _ = decode_subtitle_bytes(bytes(data))
        except SubtitleError:
            continue
        except TimeoutError:
            pytest.fail(f"decoding hangs on {bytes(data[:200])!r}")
        bounded_parse(text)


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_random_texts_are_written_so_that_they_read_back(fmt: str) -> None:
    """Cue texts made of the pieces above (timing lines, arrows, numbers, block words,
    controls): the written document parses back to the same cues, each text as
    :func:`written_text` gives it."""
    rng = random.Random(11)
    pieces = [*PALETTE, *(p + " " + q for p, q in zip(PALETTE, reversed(PALETTE), strict=True))]
    for _ in range(CASES // 4):
        texts = [
            "\n".join(rng.choices(pieces, k=rng.randint(0, 5))) for _ in range(rng.randint(1, 8))
        ]
        cues = tuple(Cue(k + 1, 1000 * k, 1000 * k + 500, t) for k, t in enumerate(texts))
        doc = Subtitles(cues, None, "utf-8", fmt)
        assert_round_trip(doc, repr(texts))
