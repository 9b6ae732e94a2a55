"""The write stage of ``vloc translate``: the decoder's translations made into the output
file — Traditional Chinese conversion, the memory's lines byte for byte, line breaking and tag
restoration (:func:`vloc.style.cues.render_cue`), bilingual layout, the readability, glossary
and budget reports — then one atomic write that never replaces an input."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.guard import protect_inputs
from vloc.style.cues import check_same_cues, render_cue
from vloc.style.readability import ReadabilityReport, check_readability

if TYPE_CHECKING:
    from vloc.decoding.job import Decoded, WarnFn
    from vloc.memory.film import FilmMemory
    from vloc.pipeline.options import TranslateOptions
    from vloc.style.cues import StyledText
    from vloc.subtitles import Subtitles


@dataclass(frozen=True)
class Written:
    """The reports of the write stage."""

    readability: ReadabilityReport  # line-length and reading-speed violations
    glossary: list[dict[str, Any]] | None  # per term: cues, honoured, missed
    style: dict[str, Any] | None  # --style: cues over budget before and after


def write_translation(
    subs: Subtitles,
    styled: Sequence[StyledText],
    decoded: Decoded,
    options: TranslateOptions,
    *,
    out_path: Path,
    fmt: str,
    profile: Any,
    budgets: Sequence[Any] | None,
    glossary: tuple[Any, ...],
    memory: FilmMemory | None,
    inputs: Sequence[str | Path | None],
    subtitles: Path,
    warn: WarnFn,
) -> Written:
    """Render every cue of ``subs`` from ``decoded`` and write ``out_path`` atomically."""
    from vloc.style.chinese import to_traditional

    n = len(subs.cues)
    translations = dict(decoded.translations)
    if options.converts:
        keys = sorted(translations)
        converted = to_traditional([translations[k] for k in keys], options.to)
        translations = dict(zip(keys, converted, strict=True))
    ass_out = fmt in ("ass", "ssa")
    translations.update(memory.fixed if memory is not None else {})  # the memory's, byte for
    # byte (already in the target script)
    out_texts, shown = [], []
    for i in range(n):
        text, display = render_cue(
            styled[i], translations.get(i, ""), options.to, options.bilingual and not ass_out,
            profile,
        )  # fmt: skip
        if options.bilingual and ass_out and styled[i].plain:
            from vloc.subtitles.ass import bilingual_text

            text = bilingual_text(text, styled[i].body)
        out_texts.append(text)
        shown.append(display)
    out_doc = subs.with_texts(out_texts)
    check_same_cues(subs, out_doc, subtitles)
    spans = [(c.start_ms, c.end_ms) for c in subs.cues]
    readability = check_readability(shown, spans, options.to)
    glossary_json = None
    if glossary:
        from vloc.glossary.file import glossary_report

        texts = [s.plain for s in styled]
        glossary_json = [
            r.to_json()
            for r in glossary_report(  # the script the decoder wrote (before OpenCC)
                texts, [decoded.translations.get(i, "") for i in range(n)], glossary
            )
        ]
    style_json = None
    if profile is not None and budgets is not None:
        style_json = budget_report(profile.name, shown, budgets, options.to, decoded)
        if style_json["over_budget_after"]:
            warn(
                f"{style_json['over_budget_after']} of {n} cues are over their budget under "
                f"the {profile.name} profile (kept; see vloc check)"
            )
    from vloc.subtitles import write_subtitles

    with protect_inputs([*inputs, *options.memory, *(memory.files if memory else ())]):
        write_subtitles(
            out_path, out_doc, format=fmt, keep_indices=True, lang=options.to,
            bilingual=options.bilingual,
        )  # fmt: skip
    return Written(readability, glossary_json, style_json)


def budget_report(
    profile: str, shown: list[str], budgets: Sequence[Any], lang: str, decoded: Decoded
) -> dict[str, Any]:
    """Cues over their budget before (the engine's first replies; engines that are not asked
    again: as written) and after the condense re-asks, as the translations are shown."""
    from vloc.style.budget import over_budget

    after = sum(over_budget(t, b, lang) is not None for t, b in zip(shown, budgets, strict=True))
    usage = decoded.extra.get("usage", {}) if isinstance(decoded.extra, dict) else {}
    asked = "over_budget" in usage
    return {
        "profile": profile,
        "over_budget_before": usage["over_budget"] if asked else after,
        "over_budget_after": after,
        "condense_asked": asked,
    }
