"""``vloc eval translate --engine ...``: score any engine on a manifest split, like vloc's models.

Each documentary of the split is translated as a film, in cue order, through the same batch
loop as ``vloc translate`` (:class:`vloc.engines.runner.EngineRunner`): related lines retrieved
from the whole film (its cues embedded with the default index encoder), previous lines,
glossary, synopsis. Only the split's cues are translated and shown as context. Batches are
journaled under ``journal_dir`` (default ``$VLOC_HOME/eval/``), so an interrupted benchmark
resumes, and a second variant re-translates nothing it shares with the first.

Besides BLEU, chrF and METEOR (:func:`vloc.metrics.translation_scores`) the result reports
*term consistency* (:func:`term_consistency`) over the recurring proper nouns and ranks of each
film — capitalised source words ("Rommel", "Sergeant", "Afrika Korps") found in at least
``MIN_RECURRENCE`` cues, not only as a sentence's first word — whose reference translations
share one rendering (the longest string common to all their reference cues, e.g. 隆美尔):

* ``reference`` — the share of those cues whose hypothesis contains the reference's rendering;
* ``majority`` — the share of those cues whose hypothesis contains the rendering the engine
  itself used most for that term (the string of the reference rendering's length found in
  the most hypotheses): 1.0 when a name is always translated the same way, right or wrong.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from vloc.engines.options import LLM_ENGINES, EngineOptions
from vloc.errors import InputError
from vloc.fileio import file_fingerprint, read_json, stable_hash
from vloc.glossary.terms import common_run, film_terms
from vloc.guard import declare_inputs
from vloc.workspace import vloc_home

ProgressFn = Callable[[str, int, int], None]
MIN_RECURRENCE = 3  # a term must occur in at least this many cues of a film to be measured


def term_consistency(
    sources: Sequence[str], hyps: Sequence[str], refs: Sequence[str], films: Sequence[str]
) -> dict[str, float]:
    """{"terms": T measured, "reference": share, "majority": share} (module docstring)."""
    occ: dict[tuple[str, str], list[int]] = {}
    by_film: dict[str, list[int]] = defaultdict(list)
    for i, film in enumerate(films):
        by_film[film].append(i)
    for film, rows in by_film.items():
        for term, hits in film_terms([sources[i] for i in rows]).items():
            occ[(film, term)] = [rows[k] for k in hits]
    measured = total = ref_hits = majority_hits = 0
    for rows in occ.values():
        if len(rows) < MIN_RECURRENCE:
            continue
        rendering = common_run([refs[i] for i in rows])
        if not rendering:
            continue
        measured += 1
        total += len(rows)
        ref_hits += sum(1 for i in rows if rendering in hyps[i])
        size = len(rendering)
        seen: Counter[str] = Counter()
        for i in rows:
            flat = "".join(hyps[i].split())
            seen.update({flat[s : s + size] for s in range(len(flat) - size + 1)})
        majority_hits += seen.most_common(1)[0][1] if seen else 0
    return {
        "terms": measured,
        "reference": round(ref_hits / total, 4) if total else 0.0,
        "majority": round(majority_hits / total, 4) if total else 0.0,
    }


def evaluate_engine(
    options: EngineOptions,
    data: str | Path,
    *,
    split: str = "test",
    test_films: int = 0,
    journal_dir: str | Path | None = None,
    device: str = "cpu",
    limit: int | None = None,
    draft: bool = False,
    style: str | Path | None = None,
    memory: Sequence[str | Path] = (),
    progress: ProgressFn | None = None,
) -> tuple[str, dict[str, float], dict[str, Any]]:
    """Translate a manifest split with an engine and score it → (row name, scores, details).

    ``limit`` keeps the first N cues of the split (in film order) for quick iterations.
    ``draft`` (LLM engines) first drafts each film's synopsis and glossary from the cues being
    scored, as ``vloc translate --draft`` does, and translates with them unedited: the
    glossary's terms come after ``options.glossary``'s (whose renderings win), the drafted
    synopsis is used where ``options.synopsis`` is empty. Drafts are kept beside the journals.
    ``style`` (a profile name or .toml, :mod:`vloc.style`): LLM prompts carry each cue's budget
    and over-budget replies are asked up to twice to condense, and its punctuation convention applies
    where ``options.punctuation`` is None, as ``vloc translate --style`` does; the details
    then report the shares of hypotheses and references over the profile's
    limits (:func:`vloc.style.budget.limit_shares`) and the first replies over budget.
    ``memory`` (translation memory files, :mod:`vloc.memory.film`) gives each film its exact
    and fuzzy matches verbatim and, for LLM engines, its most similar pairs as examples.
    """
    from vloc.decoding.journal import JOURNAL_FORMAT, Journal
    from vloc.encoders import load_encoder
    from vloc.engines import open_engine
    from vloc.engines.runner import EngineRunner, FilmText
    from vloc.metrics import translation_scores
    from vloc.translator.data import read_manifest
    from vloc.translator.evaluate import select_examples

    if draft and options.kind not in LLM_ENGINES:
        raise InputError(f"--draft takes --engine {' or '.join(LLM_ENGINES)}, not {options.kind!r}")
    t0 = time.perf_counter()
    docs = read_manifest(data)
    lang = docs[0].target_lang
    examples = select_examples(docs, split, {}, test_films)
    if limit is not None:
        examples = examples[:limit]
    if not examples:
        raise InputError(
            f"no cues in split {split!r} (give documentaries a 'split', or --test-films N)",
            path=data,
        )
    glossary: tuple = ()
    if options.glossary:
        from vloc.glossary.file import read_glossary

        glossary = read_glossary(options.glossary)
    profile = None
    if style is not None:
        from vloc.style.profile_file import load_profile

        profile = load_profile(style)
    options = options.with_profile(profile, lang)  # its punctuation, as `vloc translate --style`
    engine = open_engine(options, device=device)
    name = f"{options.kind}:{engine.name}:{options.context}" + (":glossary" if glossary else "")
    name += f":{profile.name}" if profile is not None else ""
    name += ":draft" if draft else ""
    mem = None
    if memory:
        from vloc.memory import open_memory

        mem = open_memory(memory, source_lang=docs[0].source_lang, target_lang=lang)
        name += ":memory"
    mem_counts: Counter[str] = Counter()
    root = Path(journal_dir) if journal_dir else vloc_home() / "eval"
    encoder = load_encoder(None) if options.context == "global" else None
    by_doc: dict[int, list[int]] = defaultdict(list)
    for e in examples:
        by_doc[e.doc].append(e.cue)
    hyps: dict[tuple[int, int], str] = {}
    usage_total: dict[str, int] = Counter()
    done = 0
    try:
        for d, cues in by_doc.items():
            doc = docs[d]
            chosen = set(cues)
            texts = [c.source if k in chosen else "" for k, c in enumerate(doc.cues)]
            emb = encoder.encode(texts) if encoder is not None else None
            synopsis, terms = options.synopsis, glossary
            if draft:
                synopsis, terms = _drafted(engine, doc, texts, root, usage_total, options)
                terms = glossary + tuple(
                    t
                    for t in terms
                    if t.source.casefold() not in {g.source.casefold() for g in glossary}
                )
            fixed, block = {}, ()
            if mem is not None:
                from vloc.memory.film import film_memory

                found = film_memory(
                    mem, texts, source_lang=doc.source_lang, target_lang=doc.target_lang,
                    examples=options.kind in LLM_ENGINES,
                )  # fmt: skip
                fixed, block = found.fixed, found.examples
                mem_counts.update(found.counts.to_json())
            cue_budgets = None
            if profile is not None and options.kind in LLM_ENGINES:
                from vloc.style.budget import budgets

                spans = [(round(c.start * 1000), round(c.end * 1000)) for c in doc.cues]
                cue_budgets = budgets(spans, doc.target_lang, profile)
            film = FilmText(
                texts, doc.source_lang, doc.target_lang, embeddings=emb,
                synopsis=synopsis, glossary=terms, budgets=cue_budgets, fixed=fixed,
                examples=block,
            )  # fmt: skip
            key = stable_hash(
                {
                    "v": JOURNAL_FORMAT,
                    "engine": engine.identity,
                    "data": file_fingerprint(data),
                    "doc": doc.id,
                }
            )
            journal = Journal(root / f"{_safe(doc.id)}.{key[:16]}.jsonl")
            base = done

            def step(
                stage: str, n: int, total: int, base: int = base, size: int = len(cues)
            ) -> None:
                if progress is not None and total and stage == "decode":  # not the last pass
                    progress(name, base + round(size * n / total), len(examples))

            res = EngineRunner(engine, film, options, journal, progress=step).run()
            for k in cues:
                hyps[(d, k)] = fixed[k] if k in fixed else res.translations.get(k, "")
            for field_name, value in res.usage.to_json().items():
                usage_total[field_name] += value
            done += len(cues)
    finally:
        engine.close()
    order = [(e.doc, e.cue) for e in examples]
    out = [hyps[o] for o in order]
    refs = [docs[d].cues[k].target for d, k in order]
    srcs = [docs[d].cues[k].source for d, k in order]
    scores = translation_scores(out, refs, lang)
    consistency = term_consistency(srcs, out, refs, [docs[d].id for d, _ in order])
    seconds = time.perf_counter() - t0
    details = {
        "engine": options.kind,
        "model": engine.name,
        "context": options.context,
        "films": sorted({docs[d].id for d, _ in order}),
        "cues": len(order),
        "seconds": round(seconds, 2),
        "cues_per_s": round(len(order) / seconds, 3) if seconds else None,
        "usage": dict(usage_total),
        "prompt_tokens_per_cue": round(usage_total["prompt_tokens"] / len(order), 1),
        "lost_or_merged": sum(1 for h, s in zip(out, srcs, strict=True) if s.strip() and not h),
        "terms": consistency,
        "memory": dict(mem_counts) if mem is not None else None,
        "hyps": out,
        "refs": refs,
    }
    if profile is not None:
        from vloc.style.budget import budgets, limit_shares

        spans = [
            (round(docs[d].cues[k].start * 1000), round(docs[d].cues[k].end * 1000))
            for d, k in order
        ]
        cue_budgets = budgets(spans, lang, profile)
        details["style"] = {
            "profile": profile.name,
            "hyps": limit_shares(out, cue_budgets, lang),
            "refs": limit_shares(refs, cue_budgets, lang),
            "over_budget_first_replies": usage_total.get("over_budget", 0),
        }
    return name, scores, details


def _drafted(
    engine: Any,
    doc: Any,
    texts: list[str],
    root: Path,
    usage_total: Counter[str],
    options: EngineOptions,
) -> tuple[str, tuple[Any, ...]]:
    """One film's drafted synopsis and glossary terms, from ``root``'s cache or drafted now."""
    import json

    from vloc.engines.base import Usage
    from vloc.engines.draft import DRAFT_VERSION, draft_film
    from vloc.fileio import atomic_write_text
    from vloc.glossary.file import GlossaryTerm

    key = stable_hash({"v": DRAFT_VERSION, "engine": engine.identity, "texts": texts})
    path = root / f"{_safe(doc.id)}.{key[:16]}.draft.json"
    if path.is_file():
        saved = read_json(path, what="draft", require_object=True)
    else:
        usage = Usage()
        synopsis, terms = draft_film(
            texts, engine.backend, source_lang=doc.source_lang, target_lang=doc.target_lang,
            usage=usage,
        )  # fmt: skip
        saved = {"synopsis": synopsis, "terms": terms, "usage": usage.to_json()}
        atomic_write_text(path, json.dumps(saved, ensure_ascii=False, indent=1) + "\n")
        for field_name, value in saved["usage"].items():
            usage_total[f"draft_{field_name}"] += value
    synopsis = options.synopsis or saved["synopsis"]
    return synopsis, tuple(GlossaryTerm(*t) for t in saved["terms"])


def _safe(name: str) -> str:
    from vloc.workspace import safe_name

    return safe_name(name)


def evaluate_engines(
    options: EngineOptions,
    models: Sequence[str],
    data: str | Path,
    *,
    split: str = "test",
    **settings: Any,
) -> Any:
    """One :class:`~vloc.translator.evaluate.EvalResult` row per engine model in ``models``
    (server model ids, .gguf files or seq2seq models), all with ``options``' context;
    ``settings`` are :func:`evaluate_engine`'s (test_films, journal_dir, device, limit, draft,
    style, memory, progress)."""
    from vloc.translator.data import read_manifest
    from vloc.translator.evaluate import EvalResult

    lang = read_manifest(data)[0].target_lang
    declare_inputs([m for m in [*models, options.model] if m], "an engine model")
    result = EvalResult(split=split, lang=lang, rows={})
    for m in models or [options.model or ""]:
        name, scores, details = evaluate_engine(
            options.with_model(m or None),
            data,
            split=split,
            **settings,
        )
        result.rows[name] = scores
        result.details[name] = details
    return result
