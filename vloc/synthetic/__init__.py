"""Synthetic documentaries whose subtitles can only be fully localized with the video.

* :mod:`vloc.synthetic.translation` — EN→ZH films where some words' translation depends on the
  film's visual topic (``make_translation_set``, ``ambiguous_accuracy``);
* :mod:`vloc.synthetic.summarization` — ZH (and parallel EN) transcripts that hide the topic,
  English summaries that name it (``make_summarization_set``);
* :mod:`vloc.synthetic.films` — the visual shots and the one-ffmpeg-call film renderer;
* :mod:`vloc.synthetic.lexicon` — the parallel sentence templates.
"""

from __future__ import annotations

from vloc.synthetic.films import RenderOptions, Shot, TimingOptions, lay_out, render_film
from vloc.synthetic.summarization import (
    SummarizationSetOptions,
    SummaryFilm,
    make_summarization_set,
    plan_summary_film,
)
from vloc.synthetic.translation import (
    CueTruth,
    FilmTruth,
    TranslationSetOptions,
    ambiguous_accuracy,
    ambiguous_correct,
    ambiguous_scores,
    films_to_records,
    load_truth,
    make_translation_set,
    plan_film,
)

__all__ = [
    "CueTruth",
    "FilmTruth",
    "RenderOptions",
    "Shot",
    "SummarizationSetOptions",
    "SummaryFilm",
    "TimingOptions",
    "TranslationSetOptions",
    "ambiguous_accuracy",
    "ambiguous_correct",
    "ambiguous_scores",
    "films_to_records",
    "lay_out",
    "load_truth",
    "make_summarization_set",
    "make_translation_set",
    "plan_film",
    "plan_summary_film",
    "render_film",
]
