"""Subtitle reading and writing: encodings, layouts users really have, timing, atomic writes."""

from __future__ import annotations

import codecs
import os
from collections import defaultdict
from pathlib import Path

import pysrt
import pytest
from tiny_subtitles import SRT, TW_SRT, VTT, ZH_SRT

from vloc.errors import SubtitleError, VlocError
from vloc.subtitles import (
    Cue,
    Subtitles,
    decode_subtitle_bytes,
    dumps_srt,
    dumps_vtt,
    format_timestamp,
    parse_subtitles,
    parse_timestamp,
    read_subtitles,
    write_subtitles,
)


def timings(subs: Subtitles) -> list[tuple[int, int]]:
    return [(c.start_ms, c.end_ms) for c in subs.cues]


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


# ---------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("00:00:03.5", 3500),
        ("00:00:03,05", 3050),
        ("00:00:03.050", 3050),
        ("00:00:03,500", 3500),
        ("01:02:03,004", 3_723_004),
        ("01:02.003", 62_003),  # VTT without hours
        ("123:00:00,001", 442_800_001),  # hours > 99
        ("00:00:01", 1000),
        ("00:00:00,0005", 1),  # rounded to the millisecond
    ],
)
def test_parse_timestamp(text: str, ms: int) -> None:
    assert parse_timestamp(text) == ms


@pytest.mark.parametrize("text", ["00:00:aa,000", "00:75:00,000", "00:00:61,000", "3.5", ""])
def test_parse_timestamp_rejects(text: str) -> None:
    with pytest.raises(SubtitleError, match="malformed timestamp"):
        parse_timestamp(text)


def test_format_timestamp() -> None:
    assert format_timestamp(0) == "00:00:00,000"
    assert format_timestamp(3_723_004) == "01:02:03,004"
    assert format_timestamp(3_723_004, "vtt") == "01:02:03.004"
    assert format_timestamp(442_800_001) == "123:00:00,001"
    for ms in (0, 1, 59_999, 3_599_999, 3_600_000, 442_800_001):
        assert parse_timestamp(format_timestamp(ms, "vtt")) == ms
    with pytest.raises(SubtitleError):
        format_timestamp(-1)
    with pytest.raises(ValueError, match="unknown subtitle format"):
        format_timestamp(0, "ass")


# ---------------------------------------------------------------- SRT layout


def test_parse_well_formed_srt_keeps_tags() -> None:
    subs = parse_subtitles(SRT)
    assert subs.format == "srt"
    assert subs.warnings == ()
    assert subs.cues == (
        Cue(1, 1000, 2500, "Hello there."),
        Cue(2, 3000, 4000, '<i>Two</i> lines,\n<font color="#ff0000">red</font>'),
        Cue(3, 5000, 6250, "{\\an8}On top."),
    )


def test_cues_without_blank_lines_do_not_merge() -> None:
    text = (
        "1\n00:00:01,000 --> 00:00:02,000\nfirst\n"
        "2\n00:00:02,000 --> 00:00:03,000\nsecond\nsecond b\n"
        "3\n00:00:03,000 --> 00:00:04,000\nthird\n"
    )
    subs = parse_subtitles(text)
    assert [c.text for c in subs.cues] == ["first", "second\nsecond b", "third"]
    assert [c.index for c in subs.cues] == [1, 2, 3]
    assert timings(subs) == [(1000, 2000), (2000, 3000), (3000, 4000)]


def test_missing_indices_are_assigned_in_order() -> None:
    text = "00:00:01,000 --> 00:00:02,000\na\n\n00:00:03,000 --> 00:00:04,000\nb\n00:00:05,000 --> 00:00:06,000\nc\n"
    subs = parse_subtitles(text)
    assert [(c.index, c.text) for c in subs.cues] == [(1, "a"), (2, "b"), (3, "c")]


def test_times_in_text_are_text() -> None:
    text = "1\n00:00:01,000 --> 00:00:02,000\n12:30:00 and 13:00:00\nsee 1:00:00 -> later\n"
    assert parse_subtitles(text).cues[0].text == "12:30:00 and 13:00:00\nsee 1:00:00 -> later"


def test_number_lines_are_text_unless_a_timestamp_follows() -> None:
    text = (
        "7\n00:00:01,000 --> 00:00:02,000\nChapter\n42\n\n8\n00:00:03,000 --> 00:00:04,000\n1984\n"
    )
    subs = parse_subtitles(text)
    assert [(c.index, c.text) for c in subs.cues] == [(7, "Chapter\n42"), (8, "1984")]


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_line_endings(eol: str) -> None:
    subs = parse_subtitles(SRT.replace("\n", eol))
    assert subs.cues == parse_subtitles(SRT).cues


def test_malformed_timestamp_names_file_and_line(tmp_path: Path) -> None:
    bad = SRT.replace("00:00:03,000 --> 00:00:04,000", "00:00:aa,000 --> 00:00:04,000")
    path = write(tmp_path, "broken.srt", bad.replace("\n", "\r\n"))
    with pytest.raises(SubtitleError) as err:
        read_subtitles(path)
    message = str(err.value)
    assert "broken.srt" in message and "line 6" in message and "00:00:aa,000" in message


@pytest.mark.parametrize(
    ("timing_line", "reason"),
    [
        ("00:00:03,000 -->", "lacks a start or an end"),
        ("--> 00:00:04,000", "lacks a start or an end"),
        ("00:00:03,000 -> 00:00:04,000", "without '-->'"),
        ("00:00:03,000 00:00:04,000", "without '-->'"),
        ("00:61:03,000 --> 00:00:04,000", "must be < 60"),
    ],
)
def test_malformed_timing_lines(tmp_path: Path, timing_line: str, reason: str) -> None:
    path = write(tmp_path, "x.srt", SRT.replace("00:00:03,000 --> 00:00:04,000", timing_line))
    with pytest.raises(SubtitleError, match=reason) as err:
        read_subtitles(path)
    assert "x.srt" in str(err.value) and "line 6" in str(err.value)


# where the timing line is expected: the document, the file it is written to (SRT with CRLF
# line ends), and the form the error names
TIMING_FORMS = {
    "srt": (SRT, "bad times.srt", "\r\n", "expected 'hh:mm:ss,mmm --> hh:mm:ss,mmm'"),
    "vtt": (VTT, "bad.vtt", "\n", "expected '[hh:]mm:ss.mmm --> [hh:]mm:ss.mmm [settings]'"),
}
# per format: (old, new, line, reason): the timing text changed, the line and reason reported
BAD_TIMINGS = {
    "srt": [
        # mid-file: before, this cue (timing line included) became text of cue 1
        ("00:00:03,000 -->", "-00:00:03,000 -->", 6, "cannot be negative"),
        # first cue: before, it was dropped with only a warning
        ("00:00:01,000 -->", "-00:00:01,000 -->", 2, "cannot be negative"),
        ("00:00:01,000 -->", "aa:00:01,000 -->", 2, "'aa:00:01,000'"),
        ("00:00:03,000 -->", "00:00:aa,000 -->", 6, "'00:00:aa,000'"),
        ("00:00:03,000 -->", "T00:00:03,000 -->", 6, "'T00:00:03,000'"),
        ("00:00:05,000 -->", "00:61:05,000 -->", 11, "must be < 60"),
        ("--> 00:00:06,250", "--> 00:00:06,2x0", 11, "'00:00:06,2x0'"),
        ("00:00:03,000 --> 00:00:04,000", "00:00:03,000", 6, "without '-->' and an end"),
        ("00:00:03,000 --> 00:00:04,000", "-00:00:03,000 00:00:04,000", 6, "without '-->'"),
    ],
    "vtt": [
        ("00:00:03.000 -->", "-00:00:03.000 -->", 18, "cannot be negative"),
        ("00:01.000 -->", "00:xx.000 -->", 15, "'00:xx.000'"),
        ("00:00:05.000 --> 00:00:06.000 line:0", "00:00:05.000 --> line:0", 25, "'line:0'"),
        ("00:00:05.000 -->", "00:00:75.000 -->", 25, "must be < 60"),
        ("00:00:05.000 -->", "A -->", 25, "'A'"),  # WebVTT text may not hold '-->'
    ],
}


@pytest.mark.parametrize(
    ("fmt", "old", "new", "line", "reason"),
    [(fmt, *case) for fmt, cases in BAD_TIMINGS.items() for case in cases],
)
def test_unparsable_timing_lines_are_errors_never_text(
    tmp_path: Path, fmt: str, old: str, new: str, line: int, reason: str
) -> None:
    doc, name, eol, expected = TIMING_FORMS[fmt]
    assert old in doc
    path = write(tmp_path, name, doc.replace(old, new).replace("\n", eol))
    with pytest.raises(SubtitleError, match=reason) as err:
        read_subtitles(path)
    message = str(err.value)
    assert message.startswith(f"{path}: line {line}: ")
    assert expected in message


def test_arrows_and_clock_times_in_dialogue_stay_text() -> None:
    lines = ["A --> B", "Win10 --> Win11", "Meet at 10:30 --> the bridge", "♪ --> ♪", "7", "12:30"]
    text = "1\n00:00:01,000 --> 00:00:02,000\n" + "\n".join(lines) + "\n"
    subs = parse_subtitles(text)
    assert [c.text for c in subs.cues] == ["\n".join(lines)] and subs.warnings == ()


def test_timing_oddities_are_kept_in_order_with_warnings(tmp_path: Path) -> None:
    text = (
        "1\n00:00:05,000 --> 00:00:06,000\nlate\n\n"
        "2\n00:00:01,000 --> 00:00:03,000\nearly\n\n"  # unsorted
        "3\n00:00:02,000 --> 00:00:04,000\noverlap\n\n"  # overlaps 2
        "4\n00:00:07,000 --> 00:00:07,000\nzero\n\n"  # zero length
        "5\n00:00:09,000 --> 00:00:08,000\nreversed\n\n"  # end before start
    )
    subs = read_subtitles(write(tmp_path, "odd.srt", text))
    assert [c.text for c in subs.cues] == ["late", "early", "overlap", "zero", "reversed"]
    assert timings(subs)[4] == (9000, 8000)
    assert len(subs.warnings) == 4
    assert all("odd.srt" in w for w in subs.warnings)
    joined = "\n".join(subs.warnings)
    for expected in (
        "cue 2 (line 6) starts before the previous cue",
        "cue 3 (line 10) overlaps cue 2",
        "cue 4 (line 14) has zero length",
        "cue 5 (line 18) ends before it starts",
    ):
        assert expected in joined


def test_many_warnings_are_summarised() -> None:
    cues = [Cue(k + 1, 1000, 1000, f"z{k}") for k in range(25)]
    subs = parse_subtitles(dumps_srt(cues))
    assert len(subs.cues) == 25
    zero = [w for w in subs.warnings if "zero length" in w]
    assert len(zero) == 10
    assert "... and 15 more like the above" in subs.warnings


def test_text_after_blank_line_is_kept_with_warning() -> None:
    text = "1\n00:00:01,000 --> 00:00:02,000\nline one\n\nstray line\n\n2\n00:00:03,000 --> 00:00:04,000\nb\n"
    subs = parse_subtitles(text)
    assert [c.text for c in subs.cues] == ["line one\nstray line", "b"]
    assert any("continues after a blank line" in w for w in subs.warnings)


@pytest.mark.parametrize("content", ["", "\n\n", "\ufeff", "   \r\n"])
def test_empty_file_gives_zero_cues_and_a_warning(tmp_path: Path, content: str) -> None:
    subs = read_subtitles(write(tmp_path, "empty.srt", content))
    assert subs.cues == ()
    assert len(subs.warnings) == 1 and "empty.srt" in subs.warnings[0]


def test_text_without_timestamps_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SubtitleError, match=r"notes\.srt.*is this an SRT/WebVTT file"):
        read_subtitles(write(tmp_path, "notes.srt", "Just some notes\nabout a film\n"))


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(SubtitleError, match="nope.srt: subtitle file not found"):
        read_subtitles(tmp_path / "nope.srt")
    (tmp_path / "dir.srt").mkdir()
    with pytest.raises(
        SubtitleError, match="dir.srt: the subtitle file is a folder, not a regular"
    ):
        read_subtitles(tmp_path / "dir.srt")


def test_binary_file_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "movie.srt", b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4)
    with pytest.raises(SubtitleError, match="movie.srt"):
        read_subtitles(path)


# ---------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    ("text", "codec", "expected"),
    [
        (SRT, "utf-8", "utf-8"),
        (ZH_SRT, "utf-8", "utf-8"),
        (ZH_SRT, "utf-8-sig", "utf-8-sig"),
        (ZH_SRT, "utf-16", "utf-16"),  # BOM + little-endian
        (TW_SRT, "utf-16", "utf-16"),
        (ZH_SRT, "gbk", "gb18030"),
        (ZH_SRT, "gb18030", "gb18030"),
        (TW_SRT, "gbk", "gb18030"),  # traditional characters in a GBK file
        (TW_SRT, "big5", "big5"),
    ],
)
def test_encoding_detection(tmp_path: Path, text: str, codec: str, expected: str) -> None:
    subs = read_subtitles(write(tmp_path, "a.srt", text.replace("\n", "\r\n").encode(codec)))
    assert subs.encoding == expected
    assert subs.cues == parse_subtitles(text).cues
    assert not subs.cues[0].text.startswith("\ufeff")


def test_utf16_big_endian_and_without_bom() -> None:
    for data in (b"\xfe\xff" + ZH_SRT.encode("utf-16-be"), ZH_SRT.encode("utf-16-le")):
        text, codec = decode_subtitle_bytes(data)
        assert text == ZH_SRT and codec.startswith("utf-16")


def test_western_windows_1252() -> None:
    french = "1\n00:00:01,000 --> 00:00:02,000\nL'été à Noël, déjà « très » réussi.\n"
    assert decode_subtitle_bytes(french.encode("cp1252")) == (french, "cp1252")


def test_ambiguous_gbk_big5_refuses_to_guess(tmp_path: Path) -> None:
    # These bytes are four common words in GBK (安把常程) and four in Big5 (假參都最).
    line = "安把常程"
    data = f"1\n00:00:01,000 --> 00:00:02,000\n{line}\n".encode("gbk")
    assert data.decode("big5").endswith("假參都最\n")
    path = write(tmp_path, "which.srt", data)
    with pytest.raises(SubtitleError) as err:
        read_subtitles(path)
    message = str(err.value)
    assert "which.srt" in message and "--encoding gbk" in message and "--encoding big5" in message
    assert read_subtitles(path, encoding="gbk").cues[0].text == line
    assert read_subtitles(path, encoding="big5").cues[0].text == "假參都最"


def test_explicit_encoding(tmp_path: Path) -> None:
    path = write(tmp_path, "a.srt", ZH_SRT.encode("gbk"))
    assert read_subtitles(path, encoding="GBK").encoding == "gbk"
    with pytest.raises(SubtitleError, match="unknown encoding 'xyz'"):
        read_subtitles(path, encoding="xyz")
    with pytest.raises(SubtitleError, match=r"a\.srt: not valid utf-8"):
        read_subtitles(path, encoding="utf-8")
    bom = write(tmp_path, "bom.srt", ZH_SRT.encode("utf-8-sig"))
    subs = read_subtitles(bom, encoding="utf-8")
    assert subs.cues[0].text.startswith("罗马") and subs.encoding == "utf-8-sig"


def test_undecodable_bytes_ask_for_an_encoding(tmp_path: Path) -> None:
    data = "1\n00:00:01,000 --> 00:00:02,000\nこんにちは、世界。\n".encode("shift_jis")
    with pytest.raises(
        SubtitleError, match=r"sjis\.srt: cannot tell the (text )?encoding.*--encoding"
    ):
        read_subtitles(write(tmp_path, "sjis.srt", data))


def test_utf8_bom_on_windows_1252_names_the_encoding_that_reads_it(tmp_path: Path) -> None:
    body = "1\r\n00:00:01,000 --> 00:00:02,000\r\nUn café à Noël.\r\n".encode("cp1252")
    path = write(tmp_path, "mislabelled.srt", codecs.BOM_UTF8 + body)
    with pytest.raises(SubtitleError) as err:
        read_subtitles(path)
    message = str(err.value)
    assert message.startswith(f"{path}: starts with a UTF-8 BOM but is not valid UTF-8")
    assert message.endswith("pass --encoding cp1252")
    # and the advice works: the BOM is dropped, the first cue keeps its number
    subs = read_subtitles(path, encoding="cp1252")
    assert subs.cues == (Cue(1, 1000, 2000, "Un café à Noël."),) and subs.warnings == ()


def test_utf8_bom_on_unknown_bytes_asks_for_the_encoding(tmp_path: Path) -> None:
    body = "1\n00:00:01,000 --> 00:00:02,000\nこんにちは、世界。\n".encode("shift_jis")
    with pytest.raises(SubtitleError, match=r"not valid UTF-8; .*pass --encoding with the real"):
        read_subtitles(write(tmp_path, "jp.srt", codecs.BOM_UTF8 + body))


# ---------------------------------------------------------------- WebVTT


def test_parse_vtt() -> None:
    subs = parse_subtitles(VTT)
    assert subs.format == "vtt" and subs.warnings == ()
    assert subs.cues == (
        Cue(1, 1000, 2500, "<v Roger>Hello</v>"),
        Cue(2, 3000, 4000, "Two\nlines"),
        Cue(3, 5000, 6000, "Last"),
    )
    assert subs.vtt_settings == {0: "align:start position:10%", 2: "line:0"}
    assert subs.identifiers == {0: "intro", 2: "7"}


def test_vtt_round_trip_is_byte_identical(tmp_path: Path) -> None:
    canonical = dumps_vtt(parse_subtitles(VTT).cues, *_side(parse_subtitles(VTT)))
    path = write(tmp_path, "film.vtt", canonical.replace("\n", "\r\n"))
    subs = read_subtitles(path)
    out = tmp_path / "out.vtt"
    write_subtitles(out, subs)
    assert out.read_bytes() == canonical.encode("utf-8")
    assert canonical.startswith("WEBVTT\n\nintro\n00:00:01.000 --> 00:00:02.500 align:start")


def _side(subs: Subtitles) -> tuple[dict[int, str], dict[int, str]]:
    return subs.vtt_settings, subs.identifiers


def test_srt_round_trip_is_byte_identical(tmp_path: Path) -> None:
    path = write(tmp_path, "film.srt", SRT.replace("\n", "\r\n").encode("utf-8-sig"))
    out = tmp_path / "out.srt"
    write_subtitles(out, read_subtitles(path))
    assert out.read_bytes() == SRT.encode("utf-8")


def test_srt_to_vtt_to_srt(tmp_path: Path) -> None:
    text = SRT + "4\n123:59:59,999 --> 124:00:00,000\nlong film\n\n"
    subs = parse_subtitles(text)
    write_subtitles(tmp_path / "a.vtt", subs)
    vtt = read_subtitles(tmp_path / "a.vtt")
    assert vtt.format == "vtt" and vtt.cues == subs.cues
    write_subtitles(tmp_path / "b.srt", vtt)
    assert (tmp_path / "b.srt").read_text(encoding="utf-8") == text


def test_srt_indices_renumbered_unless_kept() -> None:
    subs = parse_subtitles(SRT.replace("1\n00:00:01", "10\n00:00:01"))
    assert "cue numbers are not 1..3 in order" in "\n".join(subs.warnings)
    assert dumps_srt(subs.cues).startswith("1\n")
    assert dumps_srt(subs.cues, keep_indices=True).startswith("10\n")


def test_format_sniffing_and_override(tmp_path: Path) -> None:
    assert read_subtitles(write(tmp_path, "a.txt", VTT)).format == "vtt"
    assert read_subtitles(write(tmp_path, "b.txt", SRT)).format == "srt"
    subs = parse_subtitles(SRT)
    with pytest.raises(
        SubtitleError, match=r"out\.txt.*use a \.srt, \.vtt, \.ass, \.ssa or \.ttml"
    ):
        write_subtitles(tmp_path / "out.txt", subs)
    write_subtitles(tmp_path / "out.txt", subs, format="vtt")
    assert (tmp_path / "out.txt").read_text(encoding="utf-8").startswith("WEBVTT\n")


def test_with_texts() -> None:
    subs = parse_subtitles(VTT)
    zh = subs.with_texts(["你好", "两行", "最后"])
    assert timings(zh) == timings(subs) and zh.vtt_settings == subs.vtt_settings
    assert [c.text for c in zh.cues] == ["你好", "两行", "最后"]
    with pytest.raises(SubtitleError, match="got 1 texts for 3 cues"):
        subs.with_texts(["x"])


def test_writer_drops_blank_lines_inside_a_text() -> None:
    text = dumps_srt([Cue(1, 0, 1000, "a\n\nb\n")])
    assert text == "1\n00:00:00,000 --> 00:00:01,000\na\nb\n\n"
    assert parse_subtitles(text).cues == (Cue(1, 0, 1000, "a\nb"),)


# ---------------------------------------------------------------- atomic writes


def test_failed_write_leaves_no_partial_file(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "film.zh.srt"
    out.write_text("previous version\n", encoding="utf-8")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(VlocError, match="No space left"):
        write_subtitles(out, parse_subtitles(SRT))
    assert out.read_text(encoding="utf-8") == "previous version\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["film.zh.srt"]


def test_bad_cue_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "neg.srt"
    with pytest.raises(SubtitleError, match=r"neg\.srt.*integer ms >= 0"):
        write_subtitles(out, [Cue(1, -5, 10, "x")])
    assert list(tmp_path.iterdir()) == []


def test_unwritable_destination(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("x", encoding="utf-8")
    with pytest.raises(VlocError, match="cannot write here"):
        write_subtitles(not_a_folder / "a.srt", parse_subtitles(SRT))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "a.srt").write_text("old\n", encoding="utf-8")
    folder.chmod(0o555)
    try:
        with pytest.raises(VlocError, match="cannot write"):
            write_subtitles(folder / "a.srt", parse_subtitles(SRT))
        assert sorted(p.name for p in folder.iterdir()) == ["a.srt"]
        assert (folder / "a.srt").read_text(encoding="utf-8") == "old\n"
    finally:
        folder.chmod(0o755)


# ---------------------------------------------------------------- cross-check with pysrt


def test_agrees_with_pysrt_on_well_formed_files(tmp_path: Path) -> None:
    cues = [
        Cue(k + 1, 997 * k, 997 * k + 1500 + (k % 3) * 10, f"line {k}\n<i>second</i> {k}")
        for k in range(50)
    ]
    cues.append(Cue(51, 360_000_000, 360_000_001, "{\\an8}hours past 99"))
    path = tmp_path / "x.srt"
    write_subtitles(path, cues)
    ours = read_subtitles(path)
    theirs = pysrt.open(str(path), encoding="utf-8")
    assert len(theirs) == len(ours.cues) == 51
    for mine, other in zip(ours.cues, theirs, strict=True):
        assert (mine.index, mine.start_ms, mine.end_ms, mine.text) == (
            other.index,
            other.start.ordinal,
            other.end.ordinal,
            other.text,
        )


# ---------------------------------------------------------------- real documentary subtitles


def _topicvd_film(shared: Path, lang: str) -> list[Cue]:
    """The longest TopicVD validation film as cues, ordered by their index."""
    folder = shared / "topicvd-valid"
    rows = (folder / "valid.info").read_text(encoding="utf-8").splitlines()
    texts = (folder / f"valid.{lang}").read_text(encoding="utf-8").splitlines()
    films: dict[str, list[Cue]] = defaultdict(list)
    for row, text in zip(rows, texts, strict=True):
        video, start, end, index = row.split("\t")[:4]
        cue = Cue(int(index), parse_timestamp(start), parse_timestamp(end), text.strip())
        films[video].append(cue)
    longest = max(films.values(), key=len)
    return sorted(longest, key=lambda c: c.index)


@pytest.mark.realdata
def test_real_film_round_trips_through_encodings(shared_data: Path, tmp_path: Path) -> None:
    cues = _topicvd_film(shared_data, "zh")
    assert len(cues) > 1000
    text = dumps_srt(cues, keep_indices=True)
    for codec in ("utf-8", "utf-16", "gb18030"):
        path = tmp_path / f"film.{codec}.srt"
        path.write_bytes(text.replace("\n", "\r\n").encode(codec))
        subs = read_subtitles(path)
        assert path.read_bytes().decode(subs.encoding).removeprefix("\ufeff") == text.replace(
            "\n", "\r\n"
        )
        assert subs.cues == tuple(cues), codec
        out = tmp_path / "out.srt"
        write_subtitles(out, subs, keep_indices=True)
        assert out.read_text(encoding="utf-8") == text


@pytest.mark.realdata
def test_real_english_film_agrees_with_pysrt(shared_data: Path, tmp_path: Path) -> None:
    cues = _topicvd_film(shared_data, "en")
    path = tmp_path / "film.en.srt"
    write_subtitles(path, cues)
    ours = read_subtitles(path)
    theirs = pysrt.open(str(path), encoding="utf-8")
    assert [(c.start_ms, c.end_ms, c.text) for c in ours.cues] == [
        (s.start.ordinal, s.end.ordinal, s.text) for s in theirs
    ]


@pytest.mark.realdata
def test_real_multilingual_file_and_traditional_chinese(shared_data: Path, tmp_path: Path) -> None:
    subs = read_subtitles(shared_data / "multilingual-srt" / "pepper-and-carrot-ep06.msrt")
    assert subs.format == "srt" and subs.encoding == "utf-8"
    assert len(subs.cues) == 98
    assert [w for w in subs.warnings if "before the first cue ignored" in w]
    assert all(c.start_ms < c.end_ms for c in subs.cues)
    taiwan = [
        Cue(c.index, c.start_ms, c.end_ms, line.removeprefix("[zhtw]").strip())
        for c in subs.cues
        for line in c.text.split("\n")
        if line.startswith("[zhtw]")
    ]
    assert len(taiwan) == 98
    text = dumps_srt(taiwan)
    for codec, expected in (("big5", "big5"), ("gb18030", "gb18030"), ("utf-16", "utf-16")):
        path = tmp_path / f"tw.{codec}.srt"
        path.write_bytes(text.encode(codec))
        tw = read_subtitles(path)
        assert tw.encoding == expected and tw.cues == tuple(taiwan)
