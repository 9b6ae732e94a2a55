"""Score summarizers on How2-MCLS rows: BLEU-1..4, ROUGE-1/2/L, METEOR, CIDEr.

One row per model (variant) in a table, as the translator's evaluation prints it::

    result = evaluate_summarizers(["runs/vdf/best", "runs/no-video/best"], "how2/")
    print(result.table())         # markdown, one row per model
    result.to_json()              # the same numbers, plus every summary next to its reference
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vloc.errors import InputError
from vloc.summarizer.decode import summarize_batch
from vloc.summarizer.loading import find_model, load_model_folder
from vloc.summarizer.summarize import SummarizeOptions

WarnFn = Callable[[str], None]
ProgressFn = Callable[[str, int, int], None]  # (model name, done, total)


@dataclass
class EvalResult:
    """Scores per model on the same rows."""

    data: Path  # the How2-MCLS folder
    splits: list[str]  # the splits scored
    scores: dict[str, dict[str, float]]  # model name -> metric -> value (0-100; CIDEr ×10)
    n_examples: dict[str, int]  # model name -> rows scored
    models: dict[str, str]  # model name -> folder
    outputs: dict[str, list[dict[str, str]]]  # model name -> [{id, hypothesis, reference}]
    warnings: list[str] = field(default_factory=list)

    def table(self, digits: int = 2) -> str:
        from vloc.metrics import markdown_table

        return markdown_table(self.scores, digits=digits)

    def to_json(self) -> dict[str, Any]:
        return {
            "data": str(self.data),
            "splits": self.splits,
            "scores": self.scores,
            "n_examples": self.n_examples,
            "models": self.models,
            "outputs": self.outputs,
            "table": self.table(),
        }


def _names(folders: Sequence[Path], names: Sequence[str] | None) -> list[str]:
    if names is not None:
        if len(names) != len(folders):
            raise InputError(f"{len(names)} names for {len(folders)} models")
        return list(names)
    out: list[str] = []
    for f in folders:
        base = f.parent.name if f.name == "best" else f.name
        name, k = base, 2
        while name in out:
            name, k = f"{base}-{k}", k + 1
        out.append(name)
    return out


def evaluate_summarizers(
    models: Sequence[str | Path],
    data: str | Path,
    *,
    splits: Sequence[str] = ("test",),
    options: SummarizeOptions | None = None,
    names: Sequence[str] | None = None,
    warn: WarnFn | None = None,
    progress: ProgressFn | None = None,
) -> EvalResult:
    """Summarize the rows of ``splits`` with every model and score them against the
    references. Each model reads the transcripts in its own source language."""
    from vloc.metrics import summary_scores
    from vloc.summarizer.data import import_how2

    if not models:
        raise InputError("no model to evaluate: pass --model at least once")
    options = options or SummarizeOptions()
    options.check()
    root = Path(data)
    corpus = import_how2(root, splits=list(splits))
    rows = [r for s in splits for r in corpus[s]]
    if not rows:
        raise InputError(f"splits {list(splits)} hold no rows", path=root)
    folders = [find_model(m) for m in models]
    labels = _names(folders, names)
    warnings: list[str] = []

    def _warn(msg: str) -> None:
        warnings.append(msg)
        if warn is not None:
            warn(msg)

    result = EvalResult(root, list(splits), {}, {}, {}, {}, warnings)
    for label, folder in zip(labels, folders, strict=True):
        loaded = load_model_folder(folder, device=options.device)
        lang = loaded.src_lang
        usable = [r for r in rows if lang in r.transcripts]
        if not usable:
            raise InputError(
                f"model {label!r} reads {lang!r} transcripts; splits {list(splits)} have none",
                path=root,
            )
        if len(usable) < len(rows):
            _warn(f"{label}: {len(rows) - len(usable)} rows lack a {lang!r} transcript, skipped")
        c = loaded.model.config
        videos = [r.features if c.uses_video else None for r in usable]
        done = 0

        def on_batch(k: int, label: str = label, total: int = len(usable)) -> None:
            nonlocal done
            done += k
            if progress is not None:
                progress(label, done, total)

        batch = summarize_batch(
            loaded,
            [r.transcripts[lang] for r in usable],
            videos,
            options,
            warn=lambda m, label=label: _warn(f"{label}: {m}"),
            on_batch=on_batch,
        )
        refs = [r.summary for r in usable]
        result.scores[label] = summary_scores(batch.texts, refs, lang=loaded.tgt_lang)
        result.n_examples[label] = len(usable)
        result.models[label] = str(folder)
        result.outputs[label] = [
            {"id": f"{r.split}/{r.video_id}", "hypothesis": h, "reference": r.summary}
            for r, h in zip(usable, batch.texts, strict=True)
        ]
    return result
