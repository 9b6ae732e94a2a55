"""Which text encoding a subtitle file's bytes are in (:func:`decode_subtitle_bytes`): UTF-8,
UTF-16/32 with BOM, GB18030/GBK and Big5 without BOM (strict decoding plus a score of common
Chinese characters), Windows-1252 for Western files; refuses to guess between two equally good
readings (rules in :mod:`vloc.subtitles`).
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from vloc.errors import SubtitleError

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
