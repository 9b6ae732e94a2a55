"""Language codes of pretrained seq2seq MT models (:class:`LanguageCodes`): vloc's language
tags mapped to NLLB-200 codes (:data:`NLLB_CODES`), M2M100 codes and Marian target tokens
(:data:`ISO3`), with one clear error when a model cannot translate a pair.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.engines.base import EngineError

if TYPE_CHECKING:
    pass

WarnFn = Callable[[str], None]


_OPUS_PAIR = re.compile(r"opus-mt-(?:tc-[\w]+-)?([a-z]{2,3})-([a-z]{2,3})(?![a-z])", re.IGNORECASE)


# vloc's two-letter language codes -> NLLB-200 codes (FLORES-200)
NLLB_CODES = {
    "en": "eng_Latn",
    "zh": "zho_Hans",
    "fr": "fra_Latn",
    "de": "deu_Latn",
    "es": "spa_Latn",
    "pt": "por_Latn",
    "ja": "jpn_Jpan",
    "ru": "rus_Cyrl",
    "it": "ita_Latn",
    "ko": "kor_Hang",
    "ar": "arb_Arab",
    "nl": "nld_Latn",
    "pl": "pol_Latn",
    "tr": "tur_Latn",
    "uk": "ukr_Cyrl",
    "vi": "vie_Latn",
    "hi": "hin_Deva",
    "id": "ind_Latn",
    "sv": "swe_Latn",
    "cs": "ces_Latn",
}
NLLB_TRADITIONAL_CHINESE = "zho_Hant"
_TRADITIONAL = ("hant", "tw", "hk", "mo")  # zh-Hant, zh-TW, zh_HK: traditional script
# two-letter codes -> ISO 639-3, as Marian tokenizers and target tokens name languages
ISO3 = {
    "en": "eng",
    "zh": "zho",
    "fr": "fra",
    "de": "deu",
    "es": "spa",
    "pt": "por",
    "ja": "jpn",
    "ru": "rus",
    "it": "ita",
    "ko": "kor",
    "ar": "ara",
    "nl": "nld",
    "pl": "pol",
    "tr": "tur",
    "uk": "ukr",
    "vi": "vie",
    "hi": "hin",
    "id": "ind",
    "sv": "swe",
    "cs": "ces",
}
_MARIAN_ALIASES = {"zh": ("cmn_Hans", "cmn", "zho_Hans")}  # opus-mt multi-target Chinese tokens


def _lang_parts(tag: str) -> tuple[str, str]:
    """("zh", "hant") from "zh-Hant" / "zh_TW"; ("en", "") from "en"."""
    parts = re.split(r"[-_]", tag.strip().lower(), maxsplit=1)
    return parts[0], (parts[1] if len(parts) > 1 else "")


class LanguageCodes:
    """A loaded model's codes for vloc language tags, per model family: NLLB-200 codes
    (``eng_Latn``), M2M100's two-letter codes, a Marian model's target token (``>>fra<<``,
    multi-target models only) after checking the pair it was trained for; ``other`` models
    take none. Resolved pairs are remembered."""

    def __init__(self, tokenizer: Any, family: str, name: str, folder: Path) -> None:
        self.tokenizer = tokenizer  # the model's transformers tokenizer
        self.family = family  # "marian" | "nllb" | "m2m100" | "other"
        self.name = name  # the model as the user named it (error messages)
        self.folder = folder  # its local folder (Marian pair from the folder name)
        self._cache: dict[tuple[str, str], tuple[str | None, str | None]] = {}

    def resolve(self, source: str, target: str) -> tuple[str | None, str | None]:
        """The model's codes for a pair of vloc language tags (None where the model takes
        none), or an :class:`EngineError` saying the model cannot translate that pair."""
        key = (source, target)
        if key not in self._cache:
            self._cache[key] = self._resolve(source, target)
        return self._cache[key]

    def _resolve(self, source: str, target: str) -> tuple[str | None, str | None]:
        if self.family == "nllb":
            return self._nllb_code(source), self._nllb_code(target)
        if self.family == "m2m100":
            return self._m2m_code(source), self._m2m_code(target)
        if self.family == "marian":
            self._check_marian_pair(source, target)
            return None, self._marian_target_token(target)
        return None, None

    def _known(self, token: str) -> bool:
        return token in self.tokenizer.get_vocab()

    def _nllb_code(self, tag: str) -> str:
        base, region = _lang_parts(tag)
        if self._known(tag.strip()):  # already an NLLB code, e.g. "zho_Hant"
            return tag.strip()
        code = NLLB_CODES.get(base)
        if base == "zh" and region in _TRADITIONAL:
            code = NLLB_TRADITIONAL_CHINESE
        if code is None or not self._known(code):
            raise EngineError(
                f"{self.name}: no NLLB language code for {tag!r}; known: "
                f"{', '.join(sorted(NLLB_CODES))} (or pass an NLLB code such as zho_Hant)"
            )
        return code

    def _m2m_code(self, tag: str) -> str:
        base, _ = _lang_parts(tag)
        codes = getattr(self.tokenizer, "lang_code_to_id", {}) or {}
        if base not in codes:
            raise EngineError(
                f"{self.name}: M2M100 has no language {tag!r}; it knows: "
                f"{', '.join(sorted(codes)[:30])}, ..."
            )
        return base

    def _marian_pair(self) -> tuple[str | None, str | None]:
        """The pair a Marian model was trained for, from its tokenizer config or its name."""
        src = getattr(self.tokenizer, "source_lang", None)
        tgt = getattr(self.tokenizer, "target_lang", None)
        if not (src and tgt):
            m = _OPUS_PAIR.search(self.name) or _OPUS_PAIR.search(self.folder.name)
            if m:
                src, tgt = m.group(1), m.group(2)
        return (str(src).lower() if src else None), (str(tgt).lower() if tgt else None)

    def _check_marian_pair(self, source: str, target: str) -> None:
        known = set(ISO3) | set(ISO3.values())
        model_pair = self._marian_pair()
        for side, asked, have in zip(
            ("source", "target"), (source, target), model_pair, strict=True
        ):
            base, _ = _lang_parts(asked)
            if have is None or have not in known or base not in ISO3:
                continue  # a language group (mul, roa, ...) or a language vloc does not map
            if have not in (base, ISO3[base]):
                raise EngineError(
                    f"{self.name} translates {model_pair[0]} to {model_pair[1]}, but the {side} "
                    f"language is {asked!r}: use a model for this pair (e.g. "
                    f"Helsinki-NLP/opus-mt-{_lang_parts(source)[0]}-{_lang_parts(target)[0]})"
                )

    def _marian_target_token(self, target: str) -> str | None:
        codes = list(getattr(self.tokenizer, "supported_language_codes", None) or [])
        if not codes:
            return None
        base, _ = _lang_parts(target)
        names = [target.strip(), base, ISO3.get(base, base), *_MARIAN_ALIASES.get(base, ())]
        for n in names:
            if f">>{n}<<" in codes:
                return f">>{n}<<"
        raise EngineError(
            f"{self.name} is a multi-target model without a target token for {target!r}; "
            f"it has: {', '.join(codes[:20])}{', ...' if len(codes) > 20 else ''}"
        )
