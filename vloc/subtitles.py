"""Subtitle files: read and write SRT and WebVTT.

Times are integer milliseconds throughout; a cue covers ``[start_ms, end_ms)``.

Reading is deliberately forgiving about layout and strict about meaning:

* encodings: UTF-8 (with or without BOM), UTF-16/32 with BOM, GB18030/GBK and Big5 without BOM
  (chosen by strict decoding plus a score of common Chinese characters), Windows-1252 for
  Western files; when the bytes fit two encodings equally well the reader refuses to guess;
  a UTF-8 BOM in front of bytes that are not UTF-8 is an error that names the encoding the
  rest of the file reads as (``--encoding cp1252``), and with ``encoding`` given that BOM is
  dropped before decoding;
* cues with no blank line between them stay separate (the parser splits on timing lines);
* overlapping, unsorted, zero-length and reversed cues are kept in file order and reported
  as warnings.

Timing lines are found by shape, then parsed strictly: a line that looks like a timing line
but does not parse is an error naming the file, the 1-based line and the expected form; it is
never read as cue text and never skipped. A line looks like a timing line when

* WebVTT: it contains ``-->`` (the format forbids ``-->`` in cue text, identifiers and notes);
* SRT: it contains ``-->`` and the text before the first ``-->`` is empty, or only digits,
  spaces, signs and ``:.,;`` with at least one digit (``00 : 00 : 01,000``), or one word of
  letters, digits, signs and ``:.,;`` that has a colon or starts with a digit or sign, with a
  digit in it or in the word after the arrow (``-00:00:03,000``, ``00:00:aa,000``,
  ``T00:00:01,000``). Dialogue such as ``A --> B``, ``Win10 --> Win11`` or
  ``Meet at 10:30 --> the bridge`` stays text; the rare ``1 --> 2`` in dialogue is an error;
* both: two timestamps with no ``-->`` between them (``00:00:01,000 -> 00:00:02,000``), or a
  lone ``hh:mm:ss[,mmm]``/``mm:ss,mmm`` right under a cue number that starts a block.

What does not parse: negative times, letters in numbers, a missing start or end, minutes or
seconds >= 60. Accepted: ``00:00:03.5`` (3.5 s), ``,`` or ``.`` before the fraction, hours
past 99, WebVTT ``mm:ss.ttt`` and cue settings after the end time.

Example::

    >>> subs = read_subtitles("film.en.srt")
    >>> subs.encoding, subs.format, len(subs.cues)
    ('utf-8', 'srt', 1483)
    >>> write_subtitles("film.zh.srt", subs.with_texts(translated))
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from vloc.errors import SubtitleError
from vloc.fileio import atomic_write_text

FORMATS = ("srt", "vtt")
MAX_SUBTITLE_BYTES = 64 << 20  # 64 MiB: a 3-hour film has ~200 KB of subtitles; bigger is not one
MAX_WARNINGS_PER_KIND = 10  # per-cue timing warnings listed before summarising the rest

# Detection thresholds for byte strings that are not UTF-8 (see _cjk_score). Correctly decoded
# Chinese subtitles score 0.5-0.8 (common characters and punctuation); the same bytes read with
# the wrong codec score < 0.1 (random characters from the other table).
CJK_MIN_SCORE = 0.25  # a decoding scoring below this is not trusted
CJK_MIN_MARGIN = 2.0  # the winner must score this many times the runner-up
CJK_MIN_SCORED = 4  # fewer scored characters than this cannot tell GBK from Big5

# About 500 of the most frequent Chinese characters (simplified), then the traditional forms of
# those that differ. Used only to score candidate decodings, never to change text.
_COMMON_HANZI = (
    "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过"
    "发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前"
    "开但因只从想实日军者意无力它与长把机十民第公此已工使情明性知全三又关点正业外将两高间由问很最重"
    "并物手应战向头文体政美相见被利什二等产或新己制身果加西斯月话合回特代内信表化老给世位次度门任常"
    "先海通教儿原东声提立及比员解水名真论处走义各入几口认条平系气题活尔更别打女变四神总何电数安少报"
    "才结反受目太量再感建务做接必场件计管期市直德资命山金指克许统区保至队形社便空决治展马科司五基眼"
    "书非则听白却界达光放强即像难且权思王象完设式色路记南品住告类求据程北边死张该交规万取拉格望觉术"
    "领共确传师观清今切院让识候带导争运笑飞风步改收根干造言联持组每济车亲极林服快办议往元英士证近失"
    "转夫令准布始怎呢存未远叫台单影具罗字爱击流备兵连调深商算质团集百需价花党华城石级整府离况亚请技"
    "际约示复病息究线似官火断精满支视消越器容照须九增研写称企八功吗包片史委乎查轻易早曾除农找装广显"
    "吧阿李标谈吃图念六引历首医局突专费号尽另周较注语仅考落青随选列武红响虽推势参希古众构房半节土投"
    "某案黑维革划敌致陈律足态护七兴派孩验责营星够章音跟志底站严巴例防族供效续施留讲型料终答紧黄绝奇"
    "察母京段依批群项故按河米围江织害斗双境客纪采举杀攻父苏密低朝友诉止细愿千值仍男钱破网热助倒育属"
    "坐帝限船脸职速刻乐否刚威毛状率甚独球般普怕弹校苦创假久错承印晚兰试股拿脑预谁益阳若哪微尼继送急"
    "血惊伤素药适波夜省初喜卫源食险待述陆习置居劳财环排福纳欢雷警获模充负云停木游龙树疑层冷洲冲射略"
    "范竟句室异激汉村哈策演简卡罪判担州静退既衣您宗积余痛检差富灵协角占配征修皮挥胜降阶审沉坚善妈刘"
    "读啊超免压银买皇养"
    # traditional forms
    "這個們來為國時說會對於著發後過裡裏種經麼學現當沒動還進樣開從實軍無與長機關點業將兩間問並應戰頭"
    "體見產話給門兒東聲員論處義幾認條氣題爾別變總電數報結務場計資許統區隊決馬書則聽達強難權設記類據"
    "邊張該規萬覺術領確傳師觀讓識帶導爭運飛風聯組濟車親極辦議證轉準遠單羅愛擊備連調質團價黨華級離況"
    "亞請際約復線斷滿視須寫稱嗎輕農裝廣顯標談圖歷醫專費號盡較語僅隨選紅響雖勢參眾構節維劃敵陳態護興"
    "驗責營夠嚴續講終緊黃絕項圍織鬥雙紀舉殺蘇訴細願錢網熱屬臉職樂剛狀獨彈創錯蘭試腦預誰陽繼驚傷藥適"
    "衛險陸習勞財環納歡獲負雲龍樹層衝範異漢簡擔靜積餘檢靈協揮勝階審堅媽劉讀壓銀買養麵髮幹乾"
)
_CJK_PUNCTUATION = "，。！？、；：「」『』（）《》〈〉…—·“”‘’　～"
_COMMON_CJK = frozenset(_COMMON_HANZI + _CJK_PUNCTUATION)


@dataclass(frozen=True)
class Cue:
    """One subtitle: ``[start_ms, end_ms)`` and its text (lines joined by ``\\n``, tags kept)."""

    index: int  # 1-based position as numbered in the file (or assigned in order when absent)
    start_ms: int
    end_ms: int
    text: str


@dataclass(frozen=True)
class Subtitles:
    """A parsed subtitle document."""

    cues: tuple[Cue, ...]  # in file order, never sorted, merged or dropped
    path: Path | None  # the file read, None when parsed from a string
    encoding: str  # codec used to decode ("utf-8", "utf-8-sig", "utf-16", "gb18030", "big5", ...)
    format: str  # "srt" | "vtt"
    warnings: tuple[str, ...] = ()  # timing oddities and ignored lines, each naming file and cue
    vtt_settings: dict[int, str] = field(default_factory=dict)  # cue position (0-based) -> settings
    identifiers: dict[int, str] = field(default_factory=dict)  # cue position -> VTT cue identifier

    def with_texts(self, texts: Sequence[str]) -> Subtitles:
        """The same cues (indices, timing, settings) with new texts, e.g. a translation."""
        if len(texts) != len(self.cues):
            raise SubtitleError(
                f"got {len(texts)} texts for {len(self.cues)} cues; counts must match",
                path=self.path,
            )
        cues = tuple(replace(c, text=t) for c, t in zip(self.cues, texts, strict=True))
        return replace(self, cues=cues)


# ---------------------------------------------------------------- timestamps

_TIMESTAMP_RE = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d+))?")
_SIGNS = "+-\u2212"  # plus, hyphen-minus, Unicode minus: a signed time is a (bad) time
_TIME_PUNCTUATION = ":.,;" + _SIGNS  # what sits between and around the digits of a timestamp
# two timestamps on a line with no '-->' between them ("00:00:01,000 -> 00:00:02,000")
_MISSING_ARROW_RE = re.compile(
    r"\s*[-+\u2212]?\d+:\d{2}[:.,]\d+\S*\s*[-=~>–—]{0,3}\s*[-+\u2212]?\d+:\d{2}[:.,]\d+"
)
# one timestamp alone on its line, with hours or a fraction ("00:00:03,000", "00:03.000"),
# so that a clock time in dialogue ("12:30") never matches
_LONE_TIMESTAMP_RE = re.compile(
    r"\s*[-+\u2212]?(?:\d+:\d{1,2}:\d{1,2}(?:[.,]\d+)?|\d{1,2}:\d{1,2}[.,]\d+)\s*"
)
_NUMBER_RE = re.compile(r"\s*[0-9]+\s*")  # an SRT cue number (ASCII digits only)
# the form a timing line must have, per format, quoted in errors
_TIMING_FORMS = {
    "srt": "'hh:mm:ss,mmm --> hh:mm:ss,mmm'",
    "vtt": "'[hh:]mm:ss.mmm --> [hh:]mm:ss.mmm [settings]'",
}


def parse_timestamp(s: str) -> int:
    """``[hh:]mm:ss[,.]fff`` -> milliseconds. Fraction digits are a decimal fraction.

    ``"00:00:03.5"`` -> 3500, ``"00:00:03,05"`` -> 3050, ``"01:02.003"`` -> 62003; hours may
    exceed 99. Raises :class:`SubtitleError` for anything else (minutes/seconds >= 60 too).
    """
    m = _TIMESTAMP_RE.fullmatch(s.strip())
    if m is None:
        if s.strip()[:1] in tuple(_SIGNS):
            raise SubtitleError(f"malformed timestamp {s.strip()!r}: times cannot be negative")
        raise SubtitleError(f"malformed timestamp {s.strip()!r}")
    hours, minutes, seconds, frac = m.groups()
    if int(minutes) >= 60 or int(seconds) >= 60:
        raise SubtitleError(f"malformed timestamp {s.strip()!r}: minutes and seconds must be < 60")
    ms = 0
    if frac:
        scale = 10 ** len(frac)
        ms = (int(frac) * 1000 + scale // 2) // scale  # decimal fraction, rounded to the ms
    return ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + ms


def format_timestamp(ms: int, fmt: str = "srt") -> str:
    """Milliseconds -> ``hh:mm:ss,mmm`` (SRT) or ``hh:mm:ss.mmm`` (VTT); hours widen past 99."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown subtitle format {fmt!r}; valid: {', '.join(FORMATS)}")
    if not isinstance(ms, int) or ms < 0:
        raise SubtitleError(f"cannot write timestamp {ms!r}: times must be integer ms >= 0")
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    sep = "," if fmt == "srt" else "."
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{sep}{millis:03d}"


def _looks_like_timing(line: str, fmt: str) -> bool:
    """Is this line meant as a ``start --> end`` line? (The rule is in the module docstring.)"""
    if "-->" not in line:
        return False
    if fmt == "vtt":
        return True
    left, _, right = line.partition("-->")
    left = left.strip()
    if not left:
        return True
    if all(ch.isdecimal() or ch.isspace() or ch in _TIME_PUNCTUATION for ch in left):
        return any(ch.isdecimal() for ch in left)  # "00 : 00 : 01,000"
    if not all(ch.isalnum() or ch in _TIME_PUNCTUATION for ch in left):
        return False  # several words, or symbols no timestamp has: dialogue
    right_words = right.split(None, 1)
    has_digit = any(ch.isdecimal() for ch in left + (right_words[0] if right_words else ""))
    return has_digit and (":" in left or left[0].isdecimal() or left[0] in _SIGNS)


def _parse_timing_line(line: str) -> tuple[int, int, str]:
    """``start --> end [settings]`` -> (start_ms, end_ms, settings). Raises SubtitleError."""
    left, _, right = line.partition("-->")
    parts = right.split(None, 1)
    if not left.strip() or not parts:
        raise SubtitleError(f"timing line {line.strip()!r} lacks a start or an end time")
    settings = parts[1].strip() if len(parts) > 1 else ""
    return parse_timestamp(left), parse_timestamp(parts[0]), settings


# ---------------------------------------------------------------- encodings


def _cjk_score(text: str) -> tuple[float, int]:
    """(fraction of non-ASCII characters that are common hanzi or CJK punctuation, their count)."""
    scored = hits = 0
    for ch in text:
        if ch <= "\x7f" or ch.isspace():
            continue
        scored += 1
        hits += ch in _COMMON_CJK
    return (hits / scored if scored else 0.0), scored


def _looks_western(text: str) -> bool:
    """True when every non-ASCII char is a letter or typographic mark standing alone in a word.

    Chinese bytes read as Windows-1252 give runs of two or more accented letters ("Ã€Â");
    real Western text puts single accented letters between ASCII letters ("été", "Größe").
    """
    runs = re.findall(r"[^\x00-\x7f]+", text)
    if not runs:
        return False
    if not all(ch.isalpha() or ch in "’‘“”–—…«»°€£¡¿·" for run in runs for ch in run):
        return False
    return sum(len(run) == 1 for run in runs) >= 0.9 * len(runs)


def _strict_decode(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return None


def _mislabelled_bom_hint(rest: bytes) -> str:
    """For a UTF-8 BOM on non-UTF-8 bytes: what the bytes after the BOM read as, as advice.

    Runs the same detection as a file without BOM, so the encoding named is one that
    ``--encoding`` accepts and that reads the file; when detection cannot tell, says so.
    """
    try:
        _, codec = decode_subtitle_bytes(rest)
    except SubtitleError:
        return (
            "; the rest is no encoding vloc can tell, "
            "pass --encoding with the real one (e.g. cp1252, gbk, big5)"
        )
    return f"; the rest reads as {codec}: pass --encoding {codec}"


def decode_subtitle_bytes(
    data: bytes, *, path: str | Path | None = None, encoding: str | None = None
) -> tuple[str, str]:
    """Decode a subtitle file's bytes -> (text without BOM, codec used).

    With ``encoding`` the bytes are decoded strictly with it (a UTF-8 BOM is dropped).
    Without, in order: BOM (UTF-8, UTF-32, UTF-16); UTF-16 without BOM (NUL-byte pattern);
    strict UTF-8; GB18030 vs Big5 by a score of common Chinese characters; Windows-1252 when
    the text looks like a Western language. Raises :class:`SubtitleError` rather than guess.
    """
    if encoding is not None:
        try:
            codec = codecs.lookup(encoding).name
        except LookupError:
            raise SubtitleError(
                f"unknown encoding {encoding!r}; try utf-8, utf-16, gbk, gb18030, big5 or cp1252",
                path=path,
            ) from None
        if data.startswith(codecs.BOM_UTF8):
            if codec == "utf-8":
                codec = "utf-8-sig"
            elif not codec.startswith(("utf-16", "utf-32")):
                # a UTF-8 BOM on a file in another encoding is a mislabel, not text: as
                # cp1252 it would read "ï»¿" and hide the first cue number or WEBVTT header
                data = data[len(codecs.BOM_UTF8) :]
        try:
            text = data.decode(codec)
        except UnicodeDecodeError as e:
            raise SubtitleError(
                f"not valid {encoding} (byte {e.start}: {data[e.start : e.start + 4]!r}); "
                "omit --encoding to detect it, or pass the right one",
                path=path,
            ) from None
        return text.removeprefix("\ufeff"), codec

    for bom, codec in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16: FF FE 00 00 starts with FF FE
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            text = _strict_decode(data, codec)
            if text is None:
                hint = _mislabelled_bom_hint(data[len(bom) :]) if bom == codecs.BOM_UTF8 else ""
                name = codec.upper().removesuffix("-SIG")  # "UTF-8", "UTF-16", "UTF-32"
                raise SubtitleError(
                    f"starts with a {name} BOM but is not valid {name}{hint}", path=path
                )
            return text.removeprefix("\ufeff"), codec

    if b"\x00" in data:
        # ASCII in UTF-16 has a NUL high byte: odd offsets for LE, even offsets for BE.
        half = max(len(data) // 2, 1)
        for codec, nuls in (("utf-16-le", data[1::2]), ("utf-16-be", data[0::2])):
            if nuls.count(0) > 0.3 * half and (text := _strict_decode(data, codec)) is not None:
                return text, codec
        raise SubtitleError("contains NUL bytes: a binary file, not a subtitle file", path=path)

    text = _strict_decode(data, "utf-8")
    if text is not None:
        return text, "utf-8"

    # GB18030 (a superset of GBK and GB2312) and Big5 accept many of each other's byte pairs;
    # strict decoding rules out some, the common-character score decides the rest.
    candidates: dict[str, tuple[str, float, int]] = {}
    for codec in ("gb18030", "big5", "cp950"):
        if codec == "cp950" and "big5" in candidates:
            continue  # cp950 extends Big5: only needed when plain Big5 fails
        decoded = _strict_decode(data, codec)
        if decoded is not None:
            candidates[codec] = (decoded, *_cjk_score(decoded))
    ranked = sorted(candidates.items(), key=lambda kv: kv[1][1], reverse=True)
    best_score = ranked[0][1][1] if ranked else 0.0
    runner_up = ranked[1][1][1] if len(ranked) > 1 else 0.0
    if (
        best_score >= CJK_MIN_SCORE
        and ranked[0][1][2] >= CJK_MIN_SCORED
        and best_score >= CJK_MIN_MARGIN * runner_up
    ):
        return ranked[0][1][0].removeprefix("\ufeff"), ranked[0][0]

    western = _strict_decode(data, "cp1252")
    if western is not None and _looks_western(western):
        return western, "cp1252"
    if len(ranked) > 1 and best_score >= CJK_MIN_SCORE:
        raise SubtitleError(
            "cannot tell the encoding: the text decodes as both GBK/GB18030 and Big5 "
            f"with no clear winner (common-character scores {ranked[0][0]} {best_score:.2f}, "
            f"{ranked[1][0]} {runner_up:.2f}); pass --encoding gbk or --encoding big5",
            path=path,
        )
    tried = ", ".join(f"{c} {s:.2f}" for c, (_, s, _) in ranked) or "none decodes"
    raise SubtitleError(
        "cannot tell the text encoding: not UTF-8/UTF-16, and no GB18030/Big5/Windows-1252 "
        f"reading looks like real text (common-character scores: {tried}); "
        "pass --encoding (e.g. gbk, big5, cp1252, shift_jis)",
        path=path,
    )


# ---------------------------------------------------------------- parsing

_VTT_SKIPPED_BLOCKS = ("NOTE", "STYLE", "REGION")


def _sniff_format(text: str, path: Path | None) -> str:
    if text.lstrip("\ufeff \t\n").startswith("WEBVTT"):
        return "vtt"
    suffix = path.suffix.lower().lstrip(".") if path is not None else ""
    return suffix if suffix in FORMATS else "srt"


def _vtt_skipped_lines(lines: list[str]) -> list[bool]:
    """Mark the WEBVTT header block and NOTE/STYLE/REGION blocks (up to the next blank line)."""
    skip = [False] * len(lines)
    header = next((i for i, line in enumerate(lines) if line.strip()), 0)
    i = 0
    while i < len(lines):
        word = lines[i].split(None, 1)[0] if lines[i].strip() else ""
        at_block_start = i == 0 or not lines[i - 1].strip()
        if (word == "WEBVTT" and i == header) or (at_block_start and word in _VTT_SKIPPED_BLOCKS):
            while i < len(lines) and lines[i].strip() and "-->" not in lines[i]:
                skip[i] = True
                i += 1
        else:
            i += 1
    return skip


def _is_label(lines: list[str], j: int, skip: list[bool], fmt: str, lowest: int) -> bool:
    """Is line ``j`` (just before a timing line) the cue's number (SRT) or identifier (VTT)?"""
    if j < lowest or skip[j] or not lines[j].strip():
        return False
    if _NUMBER_RE.fullmatch(lines[j]):
        return True
    # A VTT identifier starts its block; a line right under another cue's text is that text.
    return fmt == "vtt" and (j == 0 or not lines[j - 1].strip() or skip[j - 1])


def parse_subtitles(
    text: str,
    *,
    path: str | Path | None = None,
    format: str | None = None,
    encoding: str = "utf-8",
) -> Subtitles:
    """Parse already-decoded SRT or WebVTT text (any of CRLF/CR/LF line ends).

    ``format`` defaults to the ``WEBVTT`` header, then ``path``'s extension, then SRT.
    ``encoding`` is only recorded in the result. Raises :class:`SubtitleError` with the
    1-based line number and the expected form for any line that looks like a timing line but
    does not parse (see the module docstring), and when non-empty text has no cue at all.
    """
    path = Path(path) if path is not None else None
    text = text.replace("\r\n", "\n").replace("\r", "\n").removeprefix("\ufeff")
    fmt = format or _sniff_format(text, path)
    if fmt not in FORMATS:
        raise SubtitleError(f"unknown subtitle format {fmt!r}; valid: srt, vtt", path=path)
    where = f"{path}: " if path is not None else ""
    lines = text.split("\n")
    skip = _vtt_skipped_lines(lines) if fmt == "vtt" else [False] * len(lines)

    expected = _TIMING_FORMS[fmt]
    timing: list[int] = []  # line index of each cue's timing line
    spans: list[tuple[int, int, str]] = []  # (start_ms, end_ms, settings) per timing line
    for i, line in enumerate(lines):
        if skip[i]:
            continue
        if _looks_like_timing(line, fmt):
            try:
                spans.append(_parse_timing_line(line))
            except SubtitleError as e:
                raise SubtitleError(f"line {i + 1}: {e}; expected {expected}", path=path) from None
            timing.append(i)
        elif _MISSING_ARROW_RE.match(line):
            raise SubtitleError(
                f"line {i + 1}: timing line without '-->': {line.strip()!r}; expected {expected}",
                path=path,
            )
        elif (
            _LONE_TIMESTAMP_RE.fullmatch(line)
            and i > 0
            and _NUMBER_RE.fullmatch(lines[i - 1])
            and (i == 1 or not lines[i - 2].strip() or skip[i - 2])
        ):
            raise SubtitleError(
                f"line {i + 1}: timing line without '-->' and an end time: {line.strip()!r}; "
                f"expected {expected}",
                path=path,
            )

    warnings: list[str] = []
    if not timing:
        if any(line.strip() and not skip[i] for i, line in enumerate(lines)):
            raise SubtitleError(
                "no subtitle cues found (no 'hh:mm:ss,mmm --> hh:mm:ss,mmm' line); "
                "is this an SRT/WebVTT file?",
                path=path,
            )
        warnings.append(f"{where}no subtitle cues (empty file)")
        return Subtitles((), path, encoding, fmt, tuple(warnings))

    # label[k]: line index of cue k's number/identifier, or None
    labels: list[int | None] = []
    for k, t in enumerate(timing):
        lowest = timing[k - 1] + 1 if k else 0
        labels.append(t - 1 if _is_label(lines, t - 1, skip, fmt, lowest) else None)
    first = labels[0] if labels[0] is not None else timing[0]
    stray = [i + 1 for i in range(first) if lines[i].strip() and not skip[i]]
    if stray:
        warnings.append(f"{where}lines {stray[0]}-{stray[-1]} before the first cue ignored")

    cues: list[Cue] = []
    settings: dict[int, str] = {}
    identifiers: dict[int, str] = {}
    for k, t in enumerate(timing):
        start, end, cue_settings = spans[k]
        if k + 1 < len(timing):
            stop = labels[k + 1] if labels[k + 1] is not None else timing[k + 1]
        else:
            stop = len(lines)
        body = [lines[i] for i in range(t + 1, stop) if not skip[i]]
        blank = next((j for j, line in enumerate(body) if not line.strip()), len(body))
        extra = [line for line in body[blank:] if line.strip()]
        if extra:
            warnings.append(
                f"{where}cue {len(cues) + 1} (line {t + 1}): text continues after a blank line; "
                "kept in the cue"
            )
        label = lines[labels[k]].strip() if labels[k] is not None else ""
        index = int(label) if fmt == "srt" and label else len(cues) + 1
        if fmt == "vtt" and label:
            identifiers[len(cues)] = label
        if cue_settings:
            settings[len(cues)] = cue_settings
        cues.append(Cue(index, start, end, "\n".join(body[:blank] + extra)))

    warnings += _timing_warnings(cues, [t + 1 for t in timing], where)
    return Subtitles(tuple(cues), path, encoding, fmt, tuple(warnings), settings, identifiers)


def _timing_warnings(cues: list[Cue], line_numbers: list[int], where: str) -> list[str]:
    """Reversed, zero-length, unsorted and overlapping cues (kept as they are), summarised."""
    found: dict[str, list[str]] = {"reversed": [], "zero": [], "unsorted": [], "overlap": []}
    for k, cue in enumerate(cues):
        at = f"cue {cue.index} (line {line_numbers[k]})"
        if cue.end_ms < cue.start_ms:
            found["reversed"].append(f"{where}{at} ends before it starts")
        elif cue.end_ms == cue.start_ms:
            found["zero"].append(f"{where}{at} has zero length")
        if k:
            prev = cues[k - 1]
            if cue.start_ms < prev.start_ms:
                found["unsorted"].append(f"{where}{at} starts before the previous cue")
            elif cue.start_ms < prev.end_ms:
                found["overlap"].append(f"{where}{at} overlaps cue {prev.index}")
    if any(c.index != k + 1 for k, c in enumerate(cues)):
        found["unsorted"].append(f"{where}cue numbers are not 1..{len(cues)} in order")
    out: list[str] = []
    for items in found.values():
        out += items[:MAX_WARNINGS_PER_KIND]
        if len(items) > MAX_WARNINGS_PER_KIND:
            out.append(f"{where}... and {len(items) - MAX_WARNINGS_PER_KIND} more like the above")
    return out


def read_subtitles(path: str | Path, encoding: str | None = None) -> Subtitles:
    """Read an SRT or WebVTT file (format from ``.srt``/``.vtt``, else the ``WEBVTT`` header).

    ``encoding`` overrides detection (see :func:`decode_subtitle_bytes`). Raises
    :class:`SubtitleError` naming the file for missing/unreadable files and bad content.
    """
    path = Path(path)
    if not path.exists():
        raise SubtitleError("subtitle file not found", path=path)
    if path.is_dir():
        raise SubtitleError("is a directory, not a subtitle file", path=path)
    try:
        size = path.stat().st_size
        if size > MAX_SUBTITLE_BYTES:
            raise SubtitleError(
                f"{size} bytes is too large for a subtitle file (limit {MAX_SUBTITLE_BYTES})",
                path=path,
            )
        data = path.read_bytes()
    except OSError as e:
        raise SubtitleError(f"cannot read: {e.strerror or e}", path=path) from e
    text, codec = decode_subtitle_bytes(data, path=path, encoding=encoding)
    return parse_subtitles(text, path=path, encoding=codec)


# ---------------------------------------------------------------- writing


def _text_lines(cue: Cue) -> str:
    # A blank line would end the cue in both formats, so blank lines inside a text are dropped.
    return "\n".join(line for line in cue.text.split("\n") if line.strip())


def dumps_srt(cues: Sequence[Cue], *, keep_indices: bool = False) -> str:
    """SRT text: cues numbered 1..N in order (or their own ``index``), ``\\n`` line ends."""
    blocks = []
    for k, cue in enumerate(cues):
        number = cue.index if keep_indices else k + 1
        span = f"{format_timestamp(cue.start_ms)} --> {format_timestamp(cue.end_ms)}"
        blocks.append(f"{number}\n{span}\n{_text_lines(cue)}\n\n")
    return "".join(blocks)


def dumps_vtt(
    cues: Sequence[Cue],
    settings: dict[int, str] | None = None,
    identifiers: dict[int, str] | None = None,
) -> str:
    """WebVTT text with a ``WEBVTT`` header; ``settings``/``identifiers`` keyed by cue position."""
    settings = settings or {}
    identifiers = identifiers or {}
    blocks = ["WEBVTT\n\n"]
    for k, cue in enumerate(cues):
        span = f"{format_timestamp(cue.start_ms, 'vtt')} --> {format_timestamp(cue.end_ms, 'vtt')}"
        if settings.get(k):
            span += f" {settings[k]}"
        ident = f"{identifiers[k]}\n" if identifiers.get(k) else ""
        blocks.append(f"{ident}{span}\n{_text_lines(cue)}\n\n")
    return "".join(blocks)


def write_subtitles(
    path: str | Path,
    cues: Subtitles | Sequence[Cue],
    *,
    format: str | None = None,
    vtt_settings: dict[int, str] | None = None,
    identifiers: dict[int, str] | None = None,
    keep_indices: bool = False,
) -> None:
    """Write cues atomically as UTF-8 (no BOM) SRT or WebVTT, chosen by ``format`` or the suffix.

    Given a :class:`Subtitles`, its VTT settings and identifiers are used unless overridden.
    """
    path = Path(path)
    if isinstance(cues, Subtitles):
        vtt_settings = cues.vtt_settings if vtt_settings is None else vtt_settings
        identifiers = cues.identifiers if identifiers is None else identifiers
        cues = cues.cues
    fmt = format or path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise SubtitleError(
            f"cannot tell the subtitle format from {path.suffix or 'no extension'!r}; "
            "use a .srt or .vtt file name or pass format='srt'/'vtt'",
            path=path,
        )
    try:
        if fmt == "srt":
            text = dumps_srt(cues, keep_indices=keep_indices)
        else:
            text = dumps_vtt(cues, vtt_settings, identifiers)
    except SubtitleError as e:
        raise SubtitleError(str(e), path=path) from None
    atomic_write_text(path, text)
