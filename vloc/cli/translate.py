"""`vloc translate`: translate a film's subtitles with the video as context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from vloc.cli import _common as C
from vloc.cli import _engine as E
from vloc.cli._ui import DEVICE_OPTION, JSON_OPTION, UI, Bars, command, coverage_line
from vloc.translator.options import DEFAULT_BATCH, DEFAULT_BATCH_TOKENS, DEFAULT_BEAM

STAGE_UNITS = {
    "features": "clips",
    "index": "cues",
    "decode": "batches",
    "leftovers": "lines",
    "shortening": "lines",
}


@command
@E.flags(
    *E.ENDPOINT, "images", *E.BATCHING, "frames", "frame_select", "glossary", "synopsis",
    "punctuation", "source_lang", *E.LIMITS,
)  # fmt: skip
def translate(
    video: Path = typer.Argument(..., help="The video (mp4, mkv, webm, avi)."),
    subs: Path = typer.Argument(
        ..., help="Its subtitles (SRT/WebVTT/ASS/SSA) in the source language."
    ),
    to: str = typer.Option(
        ...,
        "--to",
        help="Target language code; must be the model's. zh-TW, zh-HK, zh-Hant: translated "
        "into Simplified Chinese, then converted by OpenCC (Taiwan phrasing for zh-TW).",
    ),
    model: str | None = C.model_option(
        "vloc: model name (in models/ or $VLOC_HOME/models) or folder (default: the "
        "installed model into --to, a demo only on subtitles it covers); openai: the server's "
        "model id; gguf: a .gguf file; seq2seq: a model folder or hub name.",
    ),
    output: Path | None = C.output_option("Output file (default: film.<to>.srt beside SUBS)."),
    beam: int = typer.Option(DEFAULT_BEAM, "--beam", help="Beam width (1 = greedy)."),
    fmt: str | None = typer.Option(
        None, "--format", help="srt | vtt | ass | ssa | ttml (default: from -o, else the input's)."
    ),
    bilingual: bool = typer.Option(
        False,
        "--bilingual",
        help="Each cue holds the translation over the source line(s) (ASS: the source in its "
        "own style).",
    ),
    traditional: str = typer.Option(
        "convert",
        "--traditional",
        help="--to zh-TW/zh-HK/zh-Hant: convert (translate into Simplified, then OpenCC with "
        "regional phrasing) | direct (an LLM engine writes Traditional Chinese itself).",
    ),
    encoding: str | None = C.ENCODING_OPTION,
    allow_truncated: bool = C.ALLOW_TRUNCATED_OPTION,
    workdir: Path | None = C.WORKDIR_OPTION,
    device: str = DEVICE_OPTION,
    backbone_path: str = C.BACKBONE_PATH_OPTION,
    batch_size: int = typer.Option(DEFAULT_BATCH, "--batch-size", help="Cues per decoding batch."),
    batch_tokens: int = typer.Option(
        DEFAULT_BATCH_TOKENS,
        "--batch-tokens",
        help="Padded source tokens per decoding batch at most (cues x the longest): bounds "
        "memory on films with long lines.",
    ),
    strict: bool = C.strict_option("the subtitles'"),
    style: str | None = C.style_option(
        "Engines (its punctuation replaces --punctuation's default)"
    ),
    memory: list[Path] = C.memory_option("Every decoder"),
    memory_examples: int = typer.Option(
        600,  # vloc.memory.lookup.EXAMPLE_TOKENS (not imported: `vloc --help` stays light)
        "--memory-examples",
        min=0,
        help="LLM engines: most tokens of similar memory pairs shown in the prompt (0: none).",
    ),
    engine_flags: dict[str, Any] = E.HERE,
    draft: bool = typer.Option(
        False,
        "--draft",
        help="LLM engines: draft a synopsis and a glossary of the film's names and terms into "
        "the workspace for you to edit, then stop (pass them back with --glossary/--synopsis).",
    ),
    review: bool = typer.Option(
        False,
        "--review",
        help="Also write the review page (vloc review) beside the output: film.<to>.review.html.",
    ),
    json_output: bool = JSON_OPTION,
    *,
    ui: UI,
) -> None:
    """Translate subtitles using the video as context; same cues, same timing, written atomically.

    Features and the index are cached in the workspace; a killed run resumes where it stopped.

    The shipped model, synth-en-zh, is a demo: it knows only vloc's synthetic documentaries (scripts/demo.sh shows it working) and turns real subtitles into nonsense.

    Before translating, vloc measures the share of the subtitles' words that the model never learned (limit 35 %). Without --model the demo runs only on text it knows; any model warns on text it does not know, and --strict makes that an error. For real films, train a model on subtitles like yours with `vloc train translate` and pass --model DIR.
    """
    from vloc.pipeline import TranslateOptions, translate_subtitles

    decoder = E.decoder(
        engine_flags, model=model, beam_size=beam, batch_size=batch_size,
        batch_tokens=batch_tokens, strict=strict,
        allow_truncated=allow_truncated, backbone_path=backbone_path,
    )  # fmt: skip
    source_lang = engine_flags["source_lang"]
    if draft:
        from vloc.engines.draft import draft_context

        out = draft_context(
            video, subs, to=to, options=decoder, source_lang=source_lang, encoding=encoding,
            workdir=workdir, warn=ui.warn,
        )  # fmt: skip

        def render_draft(console: Any) -> None:
            console.print(f"drafted {out['terms']} terms → {out['glossary']}", markup=False)
            console.print(f"drafted synopsis → {out['synopsis']}", markup=False)
            console.print(
                f"edit them, then: vloc translate {video} {subs} --to {to} --engine "
                f"{decoder.kind} --glossary {out['glossary']} --synopsis @{out['synopsis']}",
                markup=False,
            )

        ui.result(out, render_draft)
        return
    options = TranslateOptions(
        to=to,
        decoder=decoder,
        source_lang=source_lang,
        output=output,
        format=fmt,
        bilingual=bilingual,
        traditional=traditional,
        encoding=encoding,
        workdir=workdir,
        device=device,
        style=style,
        memory=tuple(str(p) for p in memory),
        memory_examples=memory_examples,
    )
    with Bars(ui, "{}", STAGE_UNITS) as bars:
        result = translate_subtitles(video, subs, options, progress=bars, warn=ui.warn)
    payload: dict[str, Any] = result.to_json()
    payload.pop("warnings", None)  # ui.result adds the warnings it printed
    page = None
    if review:
        page = _review_page(video, subs, result, engine_flags, encoding, workdir, ui)
        payload["review"] = page.to_json()

    def render(console: Any) -> None:
        v = result.readability
        hits = ", ".join(
            f"{k} {'cached' if hit else 'computed'}"
            for k, hit in result.cache.items()
            if hit is not None
        )
        console.print(f"wrote {result.output}")
        console.print(
            f"{result.cues} cues: {result.translated} translated, {result.reused} from an "
            f"earlier run, {result.empty} empty" + (f"; {hits}" if hits else "")
        )
        if result.memory is not None:
            m = result.memory
            console.print(
                f"memory: {m['exact']} exact, {m['fuzzy']} fuzzy (of {m['pairs']:,} pairs)"
            )
        stages = ", ".join(f"{k} {s:.1f} s" for k, s in result.timings.items())
        console.print(f"time: {stages}")
        console.print(
            f"{v.line_violations} cue(s) over {v.max_chars} chars × {v.max_lines} lines, "
            f"{v.speed_violations} over {v.max_cps:g} chars/s ({v.lang})"
        )
        if result.engine != "vloc":
            u, ctx = result.extra.get("usage", {}), result.extra.get("context", {})
            console.print(
                f"engine {result.engine} ({result.model}), context {ctx.get('mode')}: "
                f"{u.get('prompt_tokens', 0):,} prompt + {u.get('completion_tokens', 0):,} "
                f"completion tokens, {u.get('requests', 0)} requests, {u.get('retries', 0)} "
                f"retries, {u.get('reasks', 0)} re-asks"
                + (f", {u['leftovers']} line(s) mended word by word" if u.get("leftovers") else "")
                + (f", {u['shortened']} shortened" if u.get("shortened") else "")
            )
        for term in result.glossary or []:
            if term["cues"]:
                console.print(
                    f"glossary {term['source']} → {term['target']}: {term['honoured']}/"
                    f"{term['cues']} cues"
                    + (f", missed in {term['missed']}" if term["missed"] else "")
                )
        if result.style is not None:
            st = result.style
            console.print(
                f"style {st['profile']}: {st['over_budget_before']} cue(s) over budget "
                + ("in the first replies, " if st["condense_asked"] else "")
                + f"{st['over_budget_after']} after",
                markup=False,
            )
        if result.coverage is not None:
            console.print(coverage_line(result.coverage, result.model))
        if page is not None:
            console.print(f"review page: {page.output}", markup=False)

    ui.result(payload, render)


def _review_page(
    video: Path, subs: Path, result: Any, engine_flags: dict[str, Any], encoding: str | None,
    workdir: Path | None, ui: UI,
) -> Any:  # fmt: skip
    """``vloc review`` of the translation just written, beside it."""
    from vloc.cli.review import STAGE_LABELS, default_output
    from vloc.cli.review import STAGE_UNITS as REVIEW_UNITS
    from vloc.guard import next_run
    from vloc.review import write_review

    with next_run(), Bars(ui, "review: {}", REVIEW_UNITS) as bars:
        return write_review(
            video, subs, result.output, default_output(result.output), workdir=workdir,
            glossary=engine_flags.get("glossary"), encoding=encoding,
            source_lang=result.source_lang, target_lang=result.target_lang,
            progress=lambda s, d, t: bars(STAGE_LABELS[s], d, t), warn=ui.warn,
        )  # fmt: skip
