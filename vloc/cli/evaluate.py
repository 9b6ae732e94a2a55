"""`vloc eval translate|summarize`: score models on a data manifest.

Each sub-command parses and checks its options, calls one library function and renders the
result (``--json``: one JSON object on stdout).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from vloc.cli import _common as C
from vloc.cli import _engine as E
from vloc.cli._ui import DEVICE_OPTION, JSON_OPTION, UI, Bars, command
from vloc.cli.summarize import BEAM_OPTION, MAX_LEN_OPTION, NO_REPEAT_OPTION, PENALTY_OPTION
from vloc.errors import InputError

app = typer.Typer(help="Score a model on a data manifest.", no_args_is_help=True)


@app.command("translate")
@command
@E.flags(*E.ENDPOINT, *E.BATCHING, "glossary", "synopsis", "punctuation", *E.LIMITS)
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
    engine_flags: dict[str, Any] = E.HERE,
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
    style: str | None = C.style_option(
        "Engines (also: the shares of hypotheses and references over its limits)"
    ),
    memory: list[Path] = C.memory_option("Engines"),
    json_output: bool = JSON_OPTION,
    *,
    ui: UI,
) -> None:
    """Translate a manifest split and score it: BLEU, chrF, METEOR (one row per model or
    engine model); engines also report term consistency, tokens and cues per second."""
    from vloc.translator.evaluate import EVAL_SPLITS, evaluate_translators

    if split not in EVAL_SPLITS:
        raise InputError(f"--split must be one of {', '.join(EVAL_SPLITS)}, got {split!r}")
    kind = E.chosen(engine_flags)
    opts = None
    if kind != "vloc":
        opts = E.from_params(engine_flags, engine=kind, model=model[0] if model else None)
    with Bars(ui, "translating ({})", "cues") as progress:
        if opts is not None:
            from vloc.engines.evaluate import evaluate_engines

            result = evaluate_engines(
                opts, model, data, split=split, test_films=test_films, journal_dir=journal_dir,
                device=device, limit=limit, draft=draft, style=style, progress=progress,
                memory=[str(p) for p in memory],
            )  # fmt: skip
        elif memory:
            raise InputError("--memory takes --engine (vloc's own models: use vloc translate)")
        elif draft:
            raise InputError("--draft takes --engine openai or gguf")
        elif style is not None:
            raise InputError(
                "--style takes --engine openai, gguf or seq2seq (vloc's models: "
                "run vloc check on their output)"
            )
        elif not model:
            raise InputError("--model is required with vloc's own models (or pass --engine)")
        else:
            result = evaluate_translators(
                model, data, split=split, beam=beam, device=device, test_films=test_films,
                progress=progress,
            )  # fmt: skip
    text = result.table()
    _write_table(table, text)
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
    from vloc.summarizer.evaluate import evaluate_summarizers
    from vloc.summarizer.summarize import SummarizeOptions

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
    _write_table(table, md)

    def render(console: Any) -> None:
        console.print(md, markup=False)

    ui.result({**result.to_json(), "table_file": str(table) if table else None}, render)


def _write_table(table: Path | None, text: str) -> None:
    """Write the markdown table to ``--table`` (when given), atomically. @command has checked
    it against the run's inputs (the manifest, the model folders) and protects those."""
    from vloc.fileio import atomic_write_text

    if table is not None:
        atomic_write_text(table, text + "\n")
