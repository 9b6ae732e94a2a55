"""The common ground of vloc's two decoders (its own translator, :mod:`vloc.translator`, and the
pretrained engines, :mod:`vloc.engines`), under the film-level job (:mod:`vloc.pipeline`):

* :mod:`vloc.decoding.job` — what a decoder gets (:class:`~vloc.decoding.job.FilmJob`) and
  gives back (:class:`~vloc.decoding.job.Decoded`): the one signature of both;
* :mod:`vloc.decoding.journal` — the translation journal: every finished batch's translations,
  keyed by everything that decided them, so a killed run resumes byte-identically;
* :mod:`vloc.decoding.context_log` — what each engine prompt showed (related and previous lines,
  glossary terms, keyframes), one record per batch, for ``vloc review``.
"""
