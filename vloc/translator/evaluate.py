"""``vloc eval translate`` as a library function: translate a manifest split and score it.

Scores are corpus BLEU (sacrebleu; its ``zh`` tokenizer for Chinese targets), chrF and METEOR
(:func:`vloc.metrics.translation_scores`), one row per model, so that several variants trained
on the same manifest form the paper's comparison table.

Which cues are scored: documentaries with a ``split`` field in the manifest keep it; for the
others, the split recorded with the model at training time (``translator.json``: the films of
each split and the splitting options) is used, so ``--split test`` scores exactly the films held
out from that model; a model without that record falls back to ``test_films`` (the last N
documentaries by id). ``--split all`` scores every cue.

The model gets what ``vloc translate`` would give it for the same film: each cue's plain source
text (:attr:`vloc.translator.data.Cue.plain`) and its video context from
:func:`vloc.index.film_context` (:class:`vloc.translator.data.FilmContextLoader`, retrieving
with the model's own index encoder), so the scores are measured on the path users run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vloc.errors import InputError, WeightsError
from vloc.fileio import read_json
from vloc.guard import declare_inputs
from vloc.translator.data import (
    INFO_FILE,
    SPLITS,
    Documentary,
    Example,
    FilmContextLoader,
    SplitOptions,
    VideoLoader,
    gather_examples,
    read_manifest,
    split_documentaries,
)
from vloc.translator.options import DEFAULT_BATCH, DEFAULT_BATCH_TOKENS, DEFAULT_BEAM

EVAL_SPLITS = (*SPLITS, "all")

ProgressFn = Callable[[str, int, int], None]  # (model name, cues done, cues total)


@dataclass
class EvalResult:
    """Scores per model on one manifest split."""

    split: str
    lang: str  # target language (decides BLEU's tokenizer)
    rows: dict[str, dict[str, float]]  # model name → {"bleu", "chrf", "meteor"}
    details: dict[str, dict[str, Any]] = field(default_factory=dict)  # name → hyps, refs,
    # films, cues, variant, path, seconds

    def to_json(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "lang": self.lang,
            "models": {
                name: {
                    **{k: round(v, 4) for k, v in self.rows[name].items()},
                    **{k: v for k, v in d.items() if k not in ("hyps", "refs")},
                }
                for name, d in self.details.items()
            },
        }

    def table(self) -> str:
        from vloc.metrics import markdown_table

        return markdown_table(self.rows)


def load_model(name_or_path: str | Path, *, device: str = "cpu") -> Any:
    """A trained translator by name (under ``$VLOC_HOME/models`` or the repository's
    ``models/``) or by path (a model folder or a training run with ``best/``); fails fast
    with the list of installed models. Returns :class:`vloc.translator.loading.LoadedModel`."""
    from vloc.catalogue import TGT_TOKENIZER_DIR, resolve, tokenizer_lang
    from vloc.translator.loading import open_model

    folder = resolve("translator", name_or_path, to="")
    lang = tokenizer_lang(folder, TGT_TOKENIZER_DIR)
    if not lang:
        raise WeightsError("the model's tgt_tokenizer/ records no target language", path=folder)
    return open_model(folder, lang, device=device)


def expand_models(models: Sequence[str | Path]) -> list[str | Path]:
    """``--model`` values with every folder of checkpoints (a folder whose sub-folders are
    models or training runs, but that is neither itself) replaced by those sub-folders."""
    from vloc.catalogue import model_folder

    out: list[str | Path] = []
    for m in models:
        path = Path(m).expanduser()
        if path.is_dir() and model_folder("translator", path) is None:
            subs = [
                p for p in sorted(path.iterdir()) if p.is_dir() and model_folder("translator", p)
            ]
            if not subs:
                raise WeightsError(
                    "neither a model folder (config.json, model.safetensors), a training run "
                    "(best/) nor a folder of them",
                    path=path,
                )
            out.extend(subs)
        else:
            out.append(m)
    if not out:
        raise InputError("give at least one --model")
    return out


def _model_info(folder: Path) -> dict[str, Any]:
    path = folder / INFO_FILE
    if not path.is_file():
        return {}
    data = read_json(path, what="model information", error=WeightsError)
    return data if isinstance(data, dict) else {}


def select_examples(
    docs: list[Documentary], split: str, info: dict[str, Any], test_films: int
) -> list[Example]:
    """The examples of ``split`` (see the module docstring)."""
    if split not in EVAL_SPLITS:
        raise InputError(f"unknown split {split!r}; valid: {', '.join(EVAL_SPLITS)}")
    if split == "all":
        return [
            Example(i, k)
            for i, d in enumerate(docs)
            for k, c in enumerate(d.cues)
            if c.plain and c.target.strip()
        ]
    recorded = info.get("splits") if isinstance(info.get("splits"), dict) else None
    data = info.get("data") if isinstance(info.get("data"), dict) else None
    if data is not None:
        options = SplitOptions(
            int(data.get("test_films", 0)),
            int(data.get("valid_films", 0)),
            float(data.get("valid_fraction", 0.05)),
        )
    else:
        options = SplitOptions(test_films=test_films)
    if recorded is not None and split in ("test", "train") and data is None:
        films = set(recorded.get(split, []))
        docs = [
            d if d.split or d.id not in films else _with_split(d, split)
            for d in docs
        ]  # fmt: skip
        options = SplitOptions(valid_fraction=0.0)
    return split_documentaries(docs, options).examples[split]


def _with_split(doc: Documentary, split: str) -> Documentary:
    from dataclasses import replace

    return replace(doc, split=split)


def evaluate_translators(
    models: Sequence[str | Path],
    data: str | Path,
    *,
    split: str = "test",
    beam: int = DEFAULT_BEAM,
    device: str = "cpu",
    test_films: int = 0,
    batch_size: int = DEFAULT_BATCH,
    batch_tokens: int = DEFAULT_BATCH_TOKENS,
    progress: ProgressFn | None = None,
    video_loader: VideoLoader | None = None,
) -> EvalResult:
    """Translate the ``split`` cues of manifest ``data`` with each model and score them."""
    import time

    from vloc.catalogue import model_name, named_model
    from vloc.metrics import translation_scores
    from vloc.translator.decode import decode_batch, encode_sources, length_batches

    if beam < 1:
        raise InputError(f"--beam must be >= 1, got {beam}")
    docs = read_manifest(data)
    lang = docs[0].target_lang
    result = EvalResult(split=split, lang=lang, rows={})
    expanded = expand_models(models)
    for m in expanded:  # every model's files are inputs, declared before any work
        folder = Path(m) if Path(m).exists() else named_model("translator", str(m))
        declare_inputs([folder], f"model {m}")
    for m in expanded:
        t0 = time.perf_counter()
        loaded = load_model(m, device=device)
        name = model_name(loaded.path)
        if name in result.rows:
            name = str(loaded.path)
        if loaded.target_lang.split("-")[0] != lang.split("-")[0]:
            raise InputError(
                f"model {name!r} translates into {loaded.target_lang!r} but the manifest's "
                f"target language is {lang!r}",
                path=data,
            )
        examples = select_examples(docs, split, _model_info(loaded.path), test_films)
        if not examples:
            raise InputError(
                f"no cues in split {split!r} for model {name!r} (give documentaries a 'split', "
                "or --test-films N)",
                path=data,
            )
        config = loaded.model.config
        loader = video_loader or FilmContextLoader(loaded.index_encoder)
        films: dict[int, Any] = {}  # documentary → its FilmContext
        if config.uses_video:
            films = {d: loader(docs[d], config) for d in sorted({e.doc for e in examples})}
        refs = [docs[e.doc].cues[e.cue].target for e in examples]
        src_ids = encode_sources(loaded, [docs[e.doc].cues[e.cue].plain for e in examples])
        batches = length_batches([len(ids) for ids in src_ids], batch_size, batch_tokens)
        out: list[str] = [""] * len(examples)
        done = 0
        for rows in batches:
            video = mask = None
            if config.uses_video:
                video, mask = gather_examples([examples[i] for i in rows], films.__getitem__)
            texts = decode_batch(
                loaded, [src_ids[i] for i in rows], video, mask, beam_size=beam, device=device
            )
            for i, t in zip(rows, texts, strict=True):
                out[i] = t
            done += len(rows)
            if progress is not None:
                progress(name, done, len(examples))
        hyps = out
        result.rows[name] = translation_scores(hyps, refs, lang)
        result.details[name] = {
            "path": str(loaded.path),
            "variant": config.variant,
            "films": sorted({docs[e.doc].id for e in examples}),
            "cues": len(examples),
            "beam": beam,
            "seconds": round(time.perf_counter() - t0, 2),
            "hyps": hyps,
            "refs": refs,
        }
    return result
