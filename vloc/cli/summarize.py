"""`vloc summarize`, `vloc train summarize` and `vloc eval summarize`.

Thin wrappers: each parses and checks its options, calls one library function of
:mod:`vloc.summarizer` and renders the result (``--json``: one JSON object on stdout).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from vloc.cli import _engine as E
from vloc.cli._ui import JSON_OPTION, UI, Progress, command

BEAM_OPTION = typer.Option(6, "--beam", help="Beam size (paper: 6; 1 = greedy).")
PENALTY_OPTION = typer.Option(
    1.0, "--length-penalty", help="Beam score / length ** penalty (paper: 1)."
)
MAX_LEN_OPTION = typer.Option(100, "--max-len", help="Most summary tokens generated.")
NO_REPEAT_OPTION = typer.Option(
    0, "--no-repeat-ngram", help="Forbid repeating n-grams of this size (0: off)."
)
DEVICE_OPTION = typer.Option("cpu", "--device", help="cpu | cuda.")


class _Bars:
    """Adapt ``progress(name, done, total)`` calls to one UI bar per name."""

    def __init__(self, ui: UI, what: str, unit: str) -> None:
        self.ui, self.what, self.unit = ui, what, unit
        self.bars: dict[str, tuple[Progress, list[int]]] = {}

    def __call__(self, name: str, done: int, total: int) -> None:
        if name not in self.bars:
            bar = self.ui.progress(total, f"{self.what} ({name})", self.unit).__enter__()
            self.bars[name] = (bar, [0])
        bar, seen = self.bars[name]
        if done > seen[0]:
            bar.advance(done - seen[0])
            seen[0] = done

    def close(self) -> None:
        for bar, _ in self.bars.values():
            bar.__exit__(None, None, None)
        self.bars.clear()


@command
def summarize(
    video: Path = typer.Argument(..., help="The video (with --features: used to name the output)."),
    subs: Path = typer.Argument(
        ..., help="Its subtitles (SRT/VTT) in the model's source language."
    ),
    to: str = typer.Option(..., "--to", help="Summary language (the model's target language)."),
    model: str | None = typer.Option(
        None,
        "--model",
        help="Model folder, training output, or name under models/ (default: the one "
        "installed model into --to).",
    ),
    output: Path | None = typer.Option(
        None,
        "-o",
        "--output",
        "--out",
        help="Markdown file (default: <video stem>.<lang>.summary.md).",
    ),
    features: Path | None = typer.Option(
        None, "--features", help="The video's (T, D) clip features as .npy instead of extracting."
    ),
    beam: int = BEAM_OPTION,
    length_penalty: float = PENALTY_OPTION,
    max_len: int = MAX_LEN_OPTION,
    no_repeat_ngram: int = NO_REPEAT_OPTION,
    backbone: str | None = typer.Option(
        None,
        "--backbone",
        help="Feature extractor when --features is not given (default: the model's, else "
        "resnext101_3d).",
    ),
    weights: str | None = typer.Option(
        None, "--weights", help="Backbone checkpoint file or registry name (default: published)."
    ),
    weights_dir: Path | None = typer.Option(
        None, "--weights-dir", help="Cache of published checkpoints (default $VLOC_HOME/weights)."
    ),
    encoding: str | None = typer.Option(None, "--encoding", help="Subtitle encoding."),
    allow_truncated: bool = typer.Option(
        False,
        "--allow-truncated",
        help="Go on with what decodes from a truncated video (warned) instead of failing.",
    ),
    workdir: Path | None = typer.Option(None, "--workdir", help="Parent folder of the workspace."),
    device: str = DEVICE_OPTION,
    strict: bool = typer.Option(
        False,
        "--strict",
        help="Fail (exit 1) instead of warning when the model does not know the transcript's "
        "words (coverage check; for CI).",
    ),
    engine: str | None = E.ENGINE,
    base_url: str | None = E.BASE_URL,
    api_key_env: str | None = E.API_KEY_ENV,
    images: bool | None = E.IMAGES,
    frames: int | None = E.FRAMES,
    source_lang: str | None = E.SOURCE_LANG,
    timeout: float | None = E.TIMEOUT,
    retries: int | None = E.RETRIES,
    n_ctx: int | None = E.N_CTX,
    threads: int | None = E.THREADS,
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

    if engine is not None and engine != "vloc":
        from vloc.engines.summarize import summarize_with_engine

        opts = E.engine_options(
            engine=engine, model=model, base_url=base_url, api_key_env=api_key_env,
            images=images, frames=frames, timeout=timeout, retries=retries, n_ctx=n_ctx,
            threads=threads,
        )  # fmt: skip
        bars = _Bars(ui, "summary", "requests")
        try:
            out = summarize_with_engine(
                video, subs, to=to, options=opts, output=output, source_lang=source_lang,
                encoding=encoding, warn=ui.warn, progress=bars,
            )  # fmt: skip
        finally:
            bars.close()

        def render_engine(console: Any) -> None:
            console.print(out["summary"], markup=False)
            console.print(f"→ {out['output']}", markup=False, style="dim")

        ui.result(out, render_engine)
        return

    options = SummarizeOptions(
        beam=beam,
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
    bars = _Bars(ui, "features", "clips")
    try:
        result = run(
            video,
            subs,
            to=to,
            model=model,
            out=output,
            features=features,
            options=options,
            workdir=workdir,
            warn=ui.warn,
            progress=bars,
        )
    finally:
        bars.close()

    def render(console: Any) -> None:
        console.print(result.summary, markup=False)
        console.print(f"→ {result.output}", markup=False, style="dim")
        if result.coverage is not None:
            c = result.coverage
            console.print(
                f"coverage: {100 * c['unknown_share']:.1f} % of {c['words']:,} words unknown to "
                f"the model (limit {100 * c['limit']:g} %): "
                + ("ok" if c["ok"] else "NOT COVERED"),
                markup=False,
                style="dim",
            )

    ui.result(result.to_json(), render)


@command
def train_summarize(
    data: Path = typer.Option(..., "--data", help="How2-MCLS folder (<split>_art_<lang>.txt ...)."),
    out: Path = typer.Option(..., "--out", help="Output folder (checkpoints/, best/)."),
    stage: str = typer.Option(
        "plain", "--stage", help="plain | 1 (monolingual) | 2 (distil) | 3 (fine-tune)."
    ),
    teacher: Path | None = typer.Option(None, "--teacher", help="Stage 2: the stage-1 model."),
    student: Path | None = typer.Option(None, "--student", help="Stage 3: the stage-2 output."),
    src_lang: str = typer.Option("pt", "--src-lang", help="Source transcript language."),
    tgt_lang: str = typer.Option("en", "--tgt-lang", help="Summary language."),
    teacher_lang: str = typer.Option(
        "en", "--teacher-lang", help="Stage 1 transcripts / the teacher side of stage 2."
    ),
    train_split: list[str] | None = typer.Option(
        None, "--train-split", help="Training split (repeatable; default per stage)."
    ),
    valid_split: str = typer.Option("val", "--valid-split", help="Validation split."),
    variant: str = typer.Option(
        "full", "--variant", help="full | no-forget-fusion | no-cascade | no-video."
    ),
    d_model: int = typer.Option(512, "--d-model", help="Model width (paper: 512)."),
    layers: int = typer.Option(4, "--layers", help="Encoder and decoder layers (paper: 4)."),
    heads: int = typer.Option(8, "--heads", help="Attention heads (paper: 8)."),
    dropout: float = typer.Option(0.1, "--dropout", help="Dropout."),
    vocab_size: int = typer.Option(8000, "--vocab-size", help="BPE ids per language."),
    layer: str = typer.Option(
        "middle", "--layer", help="Stage 2: vocab | middle | final | a layer number."
    ),
    pool_mode: str = typer.Option(
        "to-student", "--pool-mode", help="Stage 2: to-student | to-teacher | fixed."
    ),
    lr: float = typer.Option(1.5e-4, "--lr", help="Peak learning rate (paper: Adam 1.5e-4)."),
    optimizer: str = typer.Option("adam", "--optimizer", help="adam | radam."),
    warmup: int = typer.Option(1000, "--warmup", help="Warm-up steps (0: constant lr)."),
    batch_size: int = typer.Option(8, "--batch-size", help="Videos per batch (paper: 8)."),
    max_steps: int = typer.Option(20000, "--max-steps", help="Stop after this many steps."),
    max_epochs: int | None = typer.Option(None, "--max-epochs", help="Or after these epochs."),
    val_every: int = typer.Option(500, "--val-every", help="Steps between validations."),
    patience: int = typer.Option(10, "--patience", help="Validations without improvement."),
    seed: int = typer.Option(0, "--seed", help="Seed of initialisation, data order, dropout."),
    device: str = DEVICE_OPTION,
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out."),
    json_output: bool = JSON_OPTION,
    *,
    ui: UI,
) -> None:
    """Train the VDF summarizer: plain, or one stage of the triple-stage framework."""
    from vloc.summarizer.train import ModelSize, StageOptions, train_summarizer
    from vloc.training import TrainConfig

    options = StageOptions(
        stage=stage,
        src_lang=src_lang,
        tgt_lang=tgt_lang,
        teacher_lang=teacher_lang,
        train_splits=tuple(train_split) if train_split else None,
        valid_split=valid_split or None,
        teacher=str(teacher) if teacher is not None else None,
        student=str(student) if student is not None else None,
        layer=layer,
        pool_mode=pool_mode,
        size=ModelSize(
            variant=variant,
            d_model=d_model,
            n_heads=heads,
            encoder_layers=layers,
            decoder_layers=layers,
            dropout=dropout,
            vocab_size=vocab_size,
        ),
    )
    config = TrainConfig(
        optimizer=optimizer,
        lr=lr,
        schedule="inverse_sqrt" if warmup > 0 else "constant",
        warmup_steps=warmup,
        max_steps=max_steps,
        max_epochs=max_epochs,
        batch_size=batch_size,
        val_every=val_every,
        patience=patience,
        seed=seed,
        device=device,
    )
    with ui.progress(max_steps, f"train summarize (stage {stage})", "steps") as bar:
        last = [0]

        def on_log(event: dict[str, Any]) -> None:
            if "validation" in event:
                v = event["validation"]
                ui.info(f"step {event['step']}: validation loss {v.get('loss', float('nan')):.4f}")
                return
            bar.advance(event["step"] - last[0], loss=f"{event['loss']:.3f}")
            last[0] = event["step"]

        result = train_summarizer(
            data, out, options, config, resume=resume, on_log=on_log, warn=ui.warn
        )

    def render(console: Any) -> None:
        s = result.state
        console.print(
            f"stage {result.stage}: {s.step} steps ({s.stopped}), best validation loss "
            f"{s.best:.4f} at step {s.best_step} → {result.best}",
            markup=False,
        )

    ui.result(result.to_json(), render)


@command
def eval_summarize(
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
        beam=beam,
        length_penalty=length_penalty,
        max_len=max_len,
        no_repeat_ngram=no_repeat_ngram,
        device=device,
    )
    bars = _Bars(ui, "summarize", "videos")
    try:
        result = evaluate_summarizers(
            model, data, splits=split or ["test"], options=options, warn=ui.warn, progress=bars
        )
    finally:
        bars.close()
    md = result.table()
    if table is not None:
        with protect_inputs(inputs):
            atomic_write_text(table, md + "\n")

    def render(console: Any) -> None:
        console.print(md, markup=False)

    ui.result({**result.to_json(), "table_file": str(table) if table else None}, render)
