"""`vloc summarize`: summarize a video's subtitles in another language.

A thin wrapper: it parses and checks its options, calls one library function of
:mod:`vloc.summarizer` (or :mod:`vloc.engines.summarize`) and renders the result (``--json``:
one JSON object on stdout). Training and scoring summarizers: :mod:`vloc.cli.train`,
:mod:`vloc.cli.evaluate`; the decoding options below are shared with `vloc eval summarize`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from vloc.cli import _common as C
from vloc.cli import _engine as E
from vloc.cli._ui import DEVICE_OPTION, JSON_OPTION, UI, Bars, command, coverage_line
from vloc.summarizer.config import PAPER_BEAM
from vloc.summarizer.summarize import DEFAULT_MAX_SUMMARY_TOKENS

BEAM_OPTION = typer.Option(PAPER_BEAM, "--beam", help="Beam size (paper: 6; 1 = greedy).")
PENALTY_OPTION = typer.Option(
    1.0, "--length-penalty", help="Beam score / length ** penalty (paper: 1)."
)
MAX_LEN_OPTION = typer.Option(
    DEFAULT_MAX_SUMMARY_TOKENS, "--max-len", help="Most summary tokens generated."
)
NO_REPEAT_OPTION = typer.Option(
    0, "--no-repeat-ngram", help="Forbid repeating n-grams of this size (0: off)."
)


@command
@E.flags(*E.ENDPOINT, "images", "frames", "source_lang", *E.LIMITS)
def summarize(
    video: Path = typer.Argument(..., help="The video (with --features: used to name the output)."),
    subs: Path = typer.Argument(
        ..., help="Its subtitles (SRT/VTT) in the model's source language."
    ),
    to: str = typer.Option(..., "--to", help="Summary language (the model's target language)."),
    model: str | None = C.model_option(
        "Model folder, training output, or name under models/ (default: the one "
        "installed model into --to).",
    ),
    output: Path | None = C.output_option(
        "Markdown file (default: <video stem>.<lang>.summary.md).", aliases=("--out",)
    ),
    features: Path | None = typer.Option(
        None, "--features", help="The video's (T, D) clip features as .npy instead of extracting."
    ),
    beam: int = BEAM_OPTION,
    length_penalty: float = PENALTY_OPTION,
    max_len: int = MAX_LEN_OPTION,
    no_repeat_ngram: int = NO_REPEAT_OPTION,
    backbone: str | None = C.backbone_option(
        "without --features; default: the model's, else resnext101_3d"
    ),
    weights: str | None = C.weights_option(random=False),
    weights_dir: Path | None = C.WEIGHTS_DIR_OPTION,
    encoding: str | None = C.ENCODING_OPTION,
    allow_truncated: bool = C.ALLOW_TRUNCATED_OPTION,
    workdir: Path | None = C.WORKDIR_OPTION,
    device: str = DEVICE_OPTION,
    strict: bool = C.strict_option("the transcript's"),
    engine_flags: dict[str, Any] = E.HERE,
    json_output: bool = JSON_OPTION,
    *,
    ui: UI,
) -> None:
    """Summarize a video's subtitles in another language (cross-lingual, video-guided).

    --engine openai|gguf: an LLM summarizes the whole transcript (map-reduce over parts of
    the film), with keyframes where the endpoint takes images.

    The shipped model, synth-zh-en-summary, is a demo that knows only vloc's synthetic documentaries. Without --model it runs only on a transcript whose words it knows (coverage check, limit 35 % unknown); any model warns on a transcript it does not know, and --strict makes that an error. For real videos, train a model with `vloc train summarize` and pass --model DIR.
    """
    from vloc.summarizer.summarize import SummarizeOptions
    from vloc.summarizer.summarize import summarize as run

    if engine_flags["engine"] not in (None, "vloc"):
        from vloc.engines.summarize import summarize_with_engine

        opts = E.from_params(engine_flags, model=model)
        with Bars(ui, "summary ({})", "requests") as bars:
            out = summarize_with_engine(
                video, subs, to=to, options=opts, output=output,
                source_lang=engine_flags["source_lang"], encoding=encoding, warn=ui.warn,
                progress=bars,
            )  # fmt: skip

        def render_engine(console: Any) -> None:
            console.print(out["summary"], markup=False)
            console.print(f"→ {out['output']}", markup=False, style="dim")

        ui.result(out, render_engine)
        return

    options = SummarizeOptions(
        to=to,
        model=model,
        output=output,
        features=features,
        workdir=workdir,
        beam_size=beam,
        length_penalty=length_penalty,
        max_len=max_len,
        no_repeat_ngram=no_repeat_ngram,
        device=device,
        backbone=backbone,
        weights=weights,
        weights_dir=str(weights_dir) if weights_dir is not None else None,
        encoding=encoding,
        strict=strict,
        allow_truncated=allow_truncated,
    )
    with Bars(ui, "features ({})", "clips") as bars:
        result = run(video, subs, options, warn=ui.warn, progress=bars)

    def render(console: Any) -> None:
        console.print(result.summary, markup=False)
        console.print(f"→ {result.output}", markup=False, style="dim")
        if result.coverage is not None:
            line = coverage_line(result.coverage, "the model")
            console.print(line, markup=False, style="dim")

    ui.result(result.to_json(), render)
