"""`vloc eval translate|summarize`: score models on a data manifest.

Each sub-command parses and checks its options, calls one library function and renders the
result (``--json``: one JSON object on stdout).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from vloc.cli import _engine as E
from vloc.cli._ui import DEVICE_OPTION, JSON_OPTION, UI, Bars, command
from vloc.cli.summarize import BEAM_OPTION, MAX_LEN_OPTION, NO_REPEAT_OPTION, PENALTY_OPTION
from vloc.errors import InputError

app = typer.Typer(help="Score a model on a data manifest.", no_args_is_help=True)


@app.command("translate")
@command
def translate(
    model: list[str] = typer.Option(
        [],
        "--model",
        help="vloc: model name, model folder, training run, or a folder of them; engines: the "
        "server's model id, a .gguf file or a seq2seq model (repeatable; one row each).",
    ),
    data: Path = typer.Option(..., "--data", help="Manifest (JSON Lines)."),
    split: str = typer.Option("test", "--split", help="train | valid | test | all."),
    beam: int = typer.Option(5, "--beam", help="Beam size (1 = greedy)."),
    test_films: int = typer.Option(
        0, "--test-films", help="Models without a recorded split: the last N films are 'test'."
    ),
    table: Path | None = typer.Option(None, "--table", help="Also write the markdown table here."),
    device: str = DEVICE_OPTION,
    engine: str | None = E.ENGINE,
    base_url: str | None = E.BASE_URL,
    api_key_env: str | None = E.API_KEY_ENV,
    batch_cues: int | None = E.BATCH_CUES,
    context: str | None = E.CONTEXT,
    related: int | None = E.RELATED,
    previous: int | None = E.PREVIOUS,
    lag: int | None = E.LAG,
    concurrency: int | None = E.CONCURRENCY,
    glossary: Path | None = E.GLOSSARY,
    synopsis: str | None = E.SYNOPSIS,
    punctuation: str | None = E.PUNCTUATION,
    timeout: float | None = E.TIMEOUT,
    retries: int | None = E.RETRIES,
    n_ctx: int | None = E.N_CTX,
    threads: int | None = E.THREADS,
    limit: int | None = typer.Option(
        None, "--limit", help="Engines: score only the first N cues of the split (quick runs)."
    ),
    journal_dir: Path | None = typer.Option(
        None, "--journal-dir", help="Engines: resumable journals (default $VLOC_HOME/eval)."
    ),
    draft: bool = typer.Option(
        False,
        "--draft",
        help="LLM engines: first draft each film's synopsis and glossary (as translate --draft "
        "does) and translate with them unedited; --glossary terms win over drafted ones.",
    ),
    json_output: bool = JSON_OPTION,
    *,
    ui: UI,
) -> None:
    """Translate a manifest split and score it: BLEU, chrF, METEOR (one row per model or
    engine model); engines also report term consistency, tokens and cues per second."""
    from vloc.fileio import atomic_write_text, check_output, protect_inputs
    from vloc.translator.evaluate import EVAL_SPLITS, evaluate_translators

    inputs = [data, *(m for m in model if Path(m).exists())]
    if table is not None:
        check_output(table, inputs, what="--table file")
    if split not in EVAL_SPLITS:
        raise InputError(f"--split must be one of {', '.join(EVAL_SPLITS)}, got {split!r}")
    opts = E.from_params(locals(), model=model[0] if model else None)
    with Bars(ui, "translating ({})", "cues") as progress:
        if opts.kind != "vloc":
            from vloc.engines.evaluate import evaluate_engines

            result = evaluate_engines(
                opts, model, data, split=split, test_films=test_films, journal_dir=journal_dir,
                device=device, limit=limit, draft=draft, progress=progress,
            )  # fmt: skip
        elif draft:
            raise InputError("--draft takes --engine openai or gguf")
        elif not model:
            raise InputError("--model is required with vloc's own models (or pass --engine)")
        else:
            result = evaluate_translators(
                model, data, split=split, beam=beam, device=device, test_films=test_films,
                progress=progress,
            )  # fmt: skip
    text = result.table()
    if table is not None:
        with protect_inputs(inputs):
            atomic_write_text(table, text + "\n")
    payload: dict[str, Any] = {**result.to_json(), "table": text}
    if table is not None:
        payload["table_file"] = str(table)
    ui.result(payload, lambda console: console.print(text, markup=False, highlight=False))


@app.command("summarize")
@command
def summarize(
    model: list[str] = typer.Option(..., "--model", help="Model folder or name (repeatable)."),
    data: Path = typer.Option(..., "--data", help="How2-MCLS folder."),
    split: list[str] | None = typer.Option(
        None, "--split", help="Split(s) to score (repeatable; default test)."
    ),
    table: Path | None = typer.Option(None, "--table", help="Also write the markdown table here."),
    beam: int = BEAM_OPTION,
    length_penalty: float = PENALTY_OPTION,
    max_len: int = MAX_LEN_OPTION,
    no_repeat_ngram: int = NO_REPEAT_OPTION,
    device: str = DEVICE_OPTION,
    json_output: bool = JSON_OPTION,
    *,
    ui: UI,
) -> None:
    """Score summarizers: BLEU-1..4, ROUGE-1/2/L, METEOR, CIDEr (one row per model)."""
    from vloc.fileio import atomic_write_text, check_output, protect_inputs
    from vloc.summarizer.evaluate import evaluate_summarizers
    from vloc.summarizer.summarize import SummarizeOptions

    inputs = [data, *(m for m in model if Path(m).exists())]
    if table is not None:
        check_output(table, inputs, what="--table file")
    options = SummarizeOptions(
        beam_size=beam,
        length_penalty=length_penalty,
        max_len=max_len,
        no_repeat_ngram=no_repeat_ngram,
        device=device,
    )
    with Bars(ui, "summarize ({})", "videos") as bars:
        result = evaluate_summarizers(
            model, data, splits=split or ["test"], options=options, warn=ui.warn, progress=bars
        )
    md = result.table()
    if table is not None:
        with protect_inputs(inputs):
            atomic_write_text(table, md + "\n")

    def render(console: Any) -> None:
        console.print(md, markup=False)

    ui.result({**result.to_json(), "table_file": str(table) if table else None}, render)
