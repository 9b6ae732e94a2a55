"""Corpus-level text metrics for translation and summarization, on a 0–100 scale.

* BLEU and chrF: sacrebleu (``tokenize="zh"`` for Chinese targets, ``13a`` otherwise);
  BLEU-1..4 are sacrebleu's BLEU with ``max_ngram_order`` n (cumulative, brevity penalty).
* METEOR: nltk's implementation (exact and Porter-stem matching). Its WordNet synonym
  module needs a corpus download that offline machines cannot make, so synonym matching
  is switched off here; scores are therefore slightly lower than METEOR 1.5 with synonyms.
* ROUGE-1/2/L: Google's ``rouge-score`` (F-measure, Porter stemming for English).
* CIDEr: CIDEr-D as in the coco-caption toolkit (n = 4, σ = 6, clipped counts, ×10),
  document frequencies from the references of the evaluated corpus.

Chinese (and other CJK) text is scored per character for METEOR, ROUGE and CIDEr, the usual
practice when no word segmenter is assumed; sacrebleu's ``zh`` tokenizer does the same.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from vloc.errors import InputError
from vloc.text import CJK_LETTERS, language_base

CIDER_N = 4  # n-gram orders 1..4
CIDER_SIGMA = 6.0  # Gaussian length penalty width of CIDEr-D
CIDER_SCALE = 10.0  # CIDEr-D multiplies by 10

_TOKEN = re.compile(rf"[{CJK_LETTERS}]|[^\s{CJK_LETTERS}]+")  # one CJK letter, or a run
_PUNCT = re.compile(r"^[\W_]+$", re.UNICODE)


def is_cjk_language(lang: str) -> bool:
    return language_base(lang) in {"zh", "ja", "ko", "cmn", "yue"}


def tokenize(text: str, lang: str = "en") -> list[str]:
    """Lower-cased tokens: CJK characters one by one, other runs split on spaces and
    punctuation (punctuation-only tokens dropped)."""
    text = text.lower()
    if not is_cjk_language(lang):
        text = re.sub(r"([^\w\s])", r" \1 ", text)
    return [t for t in _TOKEN.findall(text) if not _PUNCT.match(t)]


def _check(hyps: Sequence[str], refs: Sequence[str]) -> None:
    if len(hyps) != len(refs):
        raise InputError(f"{len(hyps)} hypotheses but {len(refs)} references: they must pair up")
    if not hyps:
        raise InputError("nothing to score: no hypotheses")


def bleu(hyps: Sequence[str], refs: Sequence[str], lang: str = "en", max_order: int = 4) -> float:
    """Corpus BLEU (sacrebleu), cumulative up to ``max_order``-grams."""
    from sacrebleu.metrics import BLEU

    _check(hyps, refs)
    tok = "zh" if is_cjk_language(lang) else "13a"
    return float(
        BLEU(tokenize=tok, max_ngram_order=max_order).corpus_score(list(hyps), [list(refs)]).score
    )


def chrf(hyps: Sequence[str], refs: Sequence[str]) -> float:
    from sacrebleu.metrics import CHRF

    _check(hyps, refs)
    return float(CHRF().corpus_score(list(hyps), [list(refs)]).score)


class _NoSynonyms:
    """Stands in for nltk's WordNet reader: no synonym matches (see the module docstring)."""

    @staticmethod
    def synsets(word: str, *args: object, **kwargs: object) -> list:
        return []


def meteor(hyps: Sequence[str], refs: Sequence[str], lang: str = "en") -> float:
    """Mean sentence METEOR (exact + stem matching), ×100."""
    from nltk.stem.porter import PorterStemmer
    from nltk.translate.meteor_score import meteor_score

    _check(hyps, refs)
    stemmer = PorterStemmer()
    total = 0.0
    for h, r in zip(hyps, refs, strict=True):
        ht, rt = tokenize(h, lang), tokenize(r, lang)
        if ht and rt:
            total += meteor_score([rt], ht, stemmer=stemmer, wordnet=_NoSynonyms())
    return 100.0 * total / len(hyps)


class _Tokenizer:
    """rouge-score tokenizer interface over :func:`tokenize` (its own drops non-ASCII text)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.stemmer = None
        if not is_cjk_language(lang):
            from nltk.stem.porter import PorterStemmer

            self.stemmer = PorterStemmer()

    def tokenize(self, text: str) -> list[str]:
        toks = tokenize(text, self.lang)
        if self.stemmer is not None:
            toks = [self.stemmer.stem(t) if len(t) > 3 else t for t in toks]
        return toks


def rouge(hyps: Sequence[str], refs: Sequence[str], lang: str = "en") -> dict[str, float]:
    """Mean ROUGE-1/2/L F-measures, ×100."""
    from rouge_score.rouge_scorer import RougeScorer

    _check(hyps, refs)
    scorer = RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=_Tokenizer(lang))
    sums = Counter()
    for h, r in zip(hyps, refs, strict=True):
        for k, s in scorer.score(r, h).items():
            sums[k] += s.fmeasure
    return {k: 100.0 * sums[k] / len(hyps) for k in ("rouge1", "rouge2", "rougeL")}


def _ngrams(tokens: list[str], n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def cider_d(
    hyps: Sequence[str], refs: Sequence[Sequence[str]] | Sequence[str], lang: str = "en"
) -> float:
    """CIDEr-D (coco-caption's definition); ``refs`` may give several references per item."""
    refs_lists = [[r] if isinstance(r, str) else list(r) for r in refs]
    _check(hyps, refs_lists)
    hyp_ng = [[_ngrams(tokenize(h, lang), n) for n in range(1, CIDER_N + 1)] for h in hyps]
    ref_ng = [
        [[_ngrams(tokenize(r, lang), n) for n in range(1, CIDER_N + 1)] for r in rs]
        for rs in refs_lists
    ]
    hyp_len = [len(tokenize(h, lang)) for h in hyps]
    ref_len = [[len(tokenize(r, lang)) for r in rs] for rs in refs_lists]
    df: Counter = Counter()
    for rs in ref_ng:
        seen = set()
        for per_n in rs:
            for counts in per_n:
                seen.update(counts)
        df.update(seen)
    log_n_docs = math.log(float(len(hyps)))

    def vec(per_n: list[Counter]) -> tuple[list[dict], list[float]]:
        vecs, norms = [], []
        for counts in per_n:
            v = {g: tf * (log_n_docs - math.log(max(1.0, df[g]))) for g, tf in counts.items()}
            vecs.append(v)
            norms.append(math.sqrt(sum(x * x for x in v.values())))
        return vecs, norms

    total = 0.0
    for i in range(len(hyps)):
        hv, hn = vec(hyp_ng[i])
        score = [0.0] * CIDER_N
        for j, r in enumerate(ref_ng[i]):
            rv, rn = vec(r)
            delta = hyp_len[i] - ref_len[i][j]
            for n in range(CIDER_N):
                dot = sum(min(val, rv[n][g]) * rv[n][g] for g, val in hv[n].items() if g in rv[n])
                if hn[n] and rn[n]:
                    score[n] += dot / (hn[n] * rn[n]) * math.exp(-(delta**2) / (2 * CIDER_SIGMA**2))
        total += sum(s / CIDER_N for s in score) / len(ref_ng[i]) * CIDER_SCALE
    return total / len(hyps)


def translation_scores(hyps: Sequence[str], refs: Sequence[str], lang: str) -> dict[str, float]:
    """BLEU, chrF and METEOR, the translator's table."""
    return {
        "bleu": bleu(hyps, refs, lang),
        "chrf": chrf(hyps, refs),
        "meteor": meteor(hyps, refs, lang),
    }


def summary_scores(hyps: Sequence[str], refs: Sequence[str], lang: str = "en") -> dict[str, float]:
    """BLEU-1..4, ROUGE-1/2/L, METEOR and CIDEr, the summarizer's table."""
    scores = {f"bleu{n}": bleu(hyps, refs, lang, max_order=n) for n in range(1, 5)}
    scores.update(rouge(hyps, refs, lang))
    scores["meteor"] = meteor(hyps, refs, lang)
    scores["cider"] = cider_d(hyps, refs, lang)
    return scores


def markdown_table(rows: dict[str, dict[str, float]], digits: int = 2) -> str:
    """A markdown table with one row per variant and one column per metric."""
    if not rows:
        return ""
    keys = list(next(iter(rows.values())))
    lines = ["| variant | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for name, vals in rows.items():
        lines.append(
            f"| {name} | "
            + " | ".join(f"{vals.get(k, float('nan')):.{digits}f}" for k in keys)
            + " |"
        )
    return "\n".join(lines)
