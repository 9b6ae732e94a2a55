"""Traditional Chinese from a Simplified translation, through OpenCC (Apache-2.0; the ``opencc``
package, a C++ extension with its dictionaries).

``--to zh-TW`` / ``zh-HK`` / ``zh-Hant``: the engine translates into Simplified Chinese, the
usual and best-trained target, and :func:`to_traditional` converts the result with the OpenCC
configuration of the region (:data:`CONFIGS`):

* ``zh-TW``: ``s2twp`` — Taiwan standard characters *and* Taiwanese phrasing (软件 → 軟體,
  鼠标 → 滑鼠, 出租车 → 計程車, 信息 → 資訊, 视频 → 影片);
* ``zh-HK`` / ``zh-MO``: ``s2hk`` — Hong Kong standard characters (里 → 裏, 着 → 着); OpenCC
  has no Hong Kong phrase table, so vocabulary stays as in the Simplified text;
* ``zh-Hant``: ``s2t`` — OpenCC's standard Traditional characters, no regional phrasing.

A glossary whose targets are in Traditional Chinese is checked against the Simplified text
before conversion: :func:`to_simplified` turns its targets back (``t2s``), so terms match in
either script.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from vloc.errors import InputError
from vloc.text import language_base

# target language tag (lower case) -> OpenCC configuration converting Simplified into it
CONFIGS = {
    "zh-hant": "s2t",
    "zh-tw": "s2twp",
    "zh-hant-tw": "s2twp",
    "zh-hk": "s2hk",
    "zh-hant-hk": "s2hk",
    "zh-mo": "s2hk",
    "zh-hant-mo": "s2hk",
}


@functools.lru_cache(maxsize=8)
def converter(config: str):  # type: ignore[no-untyped-def]
    """An OpenCC converter (``s2t``, ``s2twp``, ``s2hk``, ``t2s`` ...), built once per config."""
    try:
        import opencc
    except ImportError as e:  # pragma: no cover - a dependency of vloc
        raise InputError("Traditional Chinese needs the opencc package: pip install opencc") from e
    return opencc.OpenCC(config)


def traditional_config(lang: str) -> str | None:
    """The OpenCC configuration that turns Simplified Chinese into ``lang``; None when ``lang``
    is not a Traditional Chinese target (``zh``, ``zh-Hans``, ``zh-CN``, ``en`` ...)."""
    tag = lang.strip().lower().replace("_", "-")
    if language_base(tag) != "zh":
        return None
    return CONFIGS.get(tag)


def to_traditional(texts: Sequence[str], lang: str) -> list[str]:
    """Simplified Chinese ``texts`` in the script and phrasing of ``lang`` (``zh-TW`` ...).

    Line breaks, tags, Latin letters and digits pass through unchanged; the character count of
    a line can change only where a regional phrase is longer or shorter (软件 → 軟體 keeps 2,
    出租车 → 計程車 keeps 3; a few phrases differ by one), so lines are checked after converting.
    Raises :class:`InputError` for a ``lang`` that is not a Traditional Chinese target.
    """
    config = traditional_config(lang)
    if config is None:
        valid = ", ".join(("zh-Hant", "zh-TW", "zh-HK", "zh-MO"))
        raise InputError(f"{lang!r} is not a Traditional Chinese target; valid: {valid}")
    conv = converter(config)
    return [conv.convert(t) if t else t for t in texts]


def to_simplified(texts: Sequence[str]) -> list[str]:
    """Traditional (or mixed) Chinese ``texts`` in Simplified characters (OpenCC ``t2s``)."""
    conv = converter("t2s")
    return [conv.convert(t) if t else t for t in texts]
