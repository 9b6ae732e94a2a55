"""TMX 1.4b translation memories: read the pairs of two languages, write pairs.

Reading (:func:`read_tmx`):

* the file is parsed with ``defusedxml`` (XML entity expansion and external references are
  refused, so a hostile file cannot exhaust memory or read local files); any encoding XML
  declares or marks with a byte-order mark (UTF-8, UTF-16) is read;
* a ``<tu>``'s languages come from its ``<tuv>``'s ``xml:lang`` (or the TMX 1.1 ``lang``)
  and match the requested ones by :func:`vloc.memory.text.language_matches` (``en`` takes
  ``en-US``; ``zh`` takes ``zh-CN`` and ``zh-Hans``, never ``zh-TW``). The header's
  ``srclang`` is not needed: a memory serves either direction. Where a unit holds two
  variants of one language, the first is used;
* a ``<seg>``'s text is its character data and that of ``<hi>`` (highlighted text); the
  native codes inside ``<bpt>``, ``<ept>``, ``<ph>``, ``<it>`` and ``<ut>`` (``<i>``,
  ``{\\an8}``) are dropped; then tags and line breaks go as for subtitle cues
  (:func:`vloc.memory.text.clean_text`);
* units lacking either language or with an empty segment are skipped and counted; a file
  with no unit of the two languages is an error naming the languages it holds.

Writing (:func:`write_tmx`): TMX 1.4b, UTF-8, ``segtype="block"`` (a subtitle cue is not
always a sentence), one ``<tu>`` per pair with its film and cue numbers as ``<prop
type="x-film">`` / ``<prop type="x-cue">`` (read back as the pair's origin) and no dates, so
the same pairs always give the same bytes. Characters XML 1.0 cannot hold (C0 controls but
tab and newline) are left out.

Why not translate-toolkit (whose ``translate.storage.tmx`` reads and writes TMX): it is
GPL-2.0-or-later (vloc is MIT), brings lxml, ruamel.yaml and tomlkit for the one format vloc
needs, and its reader exposes one language pair per unit by its own rules. TMX 1.4b as vloc
uses it (``<tu>``/``<tuv xml:lang>``/``<seg>``, props) is a few dozen lines of the standard
library's ElementTree; ``defusedxml`` (PSF licence, pure Python) makes the parser safe on
files from elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vloc.errors import InputError
from vloc.memory.text import clean_text, language_matches

MAX_TMX_BYTES = 512 * 1024 * 1024  # refuse larger files (a series' memory is a few MB)
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
CODE_ELEMENTS = frozenset({"bpt", "ept", "ph", "it", "ut"})  # native codes, not text
PROP_FILM = "x-film"  # <prop type=...> naming the film a unit comes from
PROP_CUE = "x-cue"  # ... and its cue numbers there
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class TmxUnit:
    """One unit of the two requested languages."""

    source: str  # clean source text
    target: str  # clean target text
    number: int  # 1-based position of the <tu> in the file
    film: str  # its x-film prop, or "" when it has none
    cue: str  # its x-cue prop, else its tuid, else ""


@dataclass(frozen=True)
class TmxRead:
    """What :func:`read_tmx` found."""

    units: tuple[TmxUnit, ...]
    skipped: int  # units without both languages, or with an empty segment
    languages: tuple[str, ...]  # every xml:lang seen, sorted


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _seg_text(seg: Any) -> str:
    """Character data of a <seg> and its <hi>/<sub>-free descendants; native codes dropped."""
    parts: list[str] = [seg.text or ""]
    for child in seg:
        name = _local(child.tag)
        if name not in CODE_ELEMENTS and name != "sub":
            parts.append(_seg_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _parse(path: Path) -> Any:
    """The root element of an XML file, or one clear InputError."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        size = path.stat().st_size
        if size > MAX_TMX_BYTES:
            raise InputError(
                f"{size} bytes is too large for a TMX file (limit {MAX_TMX_BYTES})", path=path
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("TMX file not found", path=path) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a TMX file", path=path) from None
    except OSError as e:
        raise InputError(f"cannot read the TMX file: {e.strerror or e}", path=path) from None
    if not data.strip():
        raise InputError("the TMX file is empty", path=path)
    try:
        return fromstring(data)
    except ParseError as e:
        line, col = getattr(e, "position", (0, 0))
        reason = str(e).split(":", 1)[0]
        raise InputError(
            f"not a TMX file: not well-formed XML ({reason} at line {line}, column {col + 1})",
            path=path,
        ) from None
    except DefusedXmlException as e:
        raise InputError(
            f"not read: the TMX file uses XML entities or external references ({e}), which "
            "vloc does not expand",
            path=path,
        ) from None


def read_tmx(path: str | Path, *, source_lang: str, target_lang: str) -> TmxRead:
    """The ``source_lang`` → ``target_lang`` units of a TMX file (module docstring)."""
    path = Path(path)
    root = _parse(path)
    if _local(root.tag) != "tmx":
        raise InputError(
            f"not a TMX file: the root element is <{_local(root.tag)}>, expected <tmx>",
            path=path,
        )
    body = next((e for e in root if _local(e.tag) == "body"), None)
    if body is None:
        raise InputError("not a TMX file: it has no <body>", path=path)
    units: list[TmxUnit] = []
    skipped = 0
    seen: set[str] = set()
    for number, tu in enumerate((e for e in body if _local(e.tag) == "tu"), start=1):
        src = tgt = None
        props = {p.get("type"): (p.text or "").strip() for p in tu if _local(p.tag) == "prop"}
        for tuv in tu:
            if _local(tuv.tag) != "tuv":
                continue
            lang = tuv.get(XML_LANG) or tuv.get("lang") or ""
            seen.add(lang)
            seg = next((e for e in tuv if _local(e.tag) == "seg"), None)
            if seg is None:
                continue
            if src is None and language_matches(source_lang, lang):
                src = clean_text(_seg_text(seg))
            elif tgt is None and language_matches(target_lang, lang):
                tgt = clean_text(_seg_text(seg))
        if not src or not tgt:
            skipped += 1
            continue
        cue = props.get(PROP_CUE) or tu.get("tuid") or ""
        units.append(TmxUnit(src, tgt, number, props.get(PROP_FILM, ""), cue))
    if not units:
        held = ", ".join(sorted(x for x in seen if x)) or "none"
        raise InputError(
            f"the TMX file holds no {source_lang}→{target_lang} units (its languages: {held})",
            path=path,
        )
    return TmxRead(tuple(units), skipped, tuple(sorted(seen)))


def tmx_languages(path: str | Path) -> tuple[str, tuple[str, ...]]:
    """(the header's ``srclang`` or "", every ``xml:lang`` of its units, sorted)."""
    path = Path(path)
    root = _parse(path)
    header = next((e for e in root if _local(e.tag) == "header"), None)
    src = (header.get("srclang") or "") if header is not None else ""
    langs = {
        tuv.get(XML_LANG) or tuv.get("lang") or ""
        for tuv in root.iter()
        if _local(tuv.tag) == "tuv"
    }
    return ("" if src == "*all*" else src), tuple(sorted(x for x in langs if x))


@dataclass(frozen=True)
class TmxPair:
    """One pair to write."""

    source: str
    target: str
    film: str = ""  # written as <prop type="x-film">
    cue: str = ""  # written as <prop type="x-cue">


def dumps_tmx(pairs: Sequence[TmxPair], *, source_lang: str, target_lang: str) -> str:
    """The TMX 1.4b document of ``pairs`` (module docstring)."""
    import xml.etree.ElementTree as ET

    from vloc import __version__

    root = ET.Element("tmx", version="1.4")
    ET.SubElement(
        root,
        "header",
        {
            "creationtool": "vloc",
            "creationtoolversion": __version__,
            "datatype": "plaintext",
            "segtype": "block",
            "adminlang": "en",
            "srclang": source_lang,
            "o-tmf": "vloc",
        },
    )
    body = ET.SubElement(root, "body")
    for n, p in enumerate(pairs, start=1):
        tu = ET.SubElement(body, "tu", tuid=str(n))
        for kind, value in ((PROP_FILM, p.film), (PROP_CUE, p.cue)):
            if value:
                ET.SubElement(tu, "prop", type=kind).text = _xml_text(value)
        for lang, text in ((source_lang, p.source), (target_lang, p.target)):
            tuv = ET.SubElement(tu, "tuv", {XML_LANG: lang})
            ET.SubElement(tuv, "seg").text = _xml_text(text)
    ET.indent(root, space=" ")
    body_text = ET.tostring(root, encoding="unicode")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE tmx SYSTEM "tmx14.dtd">\n'
        + body_text
        + "\n"
    )


def write_tmx(
    path: str | Path, pairs: Sequence[TmxPair], *, source_lang: str, target_lang: str
) -> Path:
    """Write ``pairs`` as a TMX file, atomically."""
    from vloc.fileio import atomic_write_text

    if not pairs:
        raise InputError("nothing to write: no pairs", path=path)
    text = dumps_tmx(pairs, source_lang=source_lang, target_lang=target_lang)
    atomic_write_text(path, text)
    return Path(path)


def _xml_text(text: str) -> str:
    return _XML_INVALID.sub("", text)
