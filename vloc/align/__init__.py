"""Search by what is seen: a video–text alignment model in the MKTVR mould.

* :mod:`vloc.align.model` — projection heads from clip features and from the multilingual text
  encoder's sentence embeddings into one L2-normalised space; symmetric InfoNCE; LECCR's
  softened matching under English guidance; the model folder (catalogue kind ``align``);
* :mod:`vloc.align.data` — the training manifest of described moments (English plus
  translations) and their clip features;
* :mod:`vloc.align.train` — the training loop (``vloc train align``);
* :mod:`vloc.align.clip` — a CLIP image–text model as a ready-made align model
  (``clip:NAME``, English-only queries).

Indexes store the projected clip embeddings beside the subtitle ones
(``vloc index FILM SUBS --align MODEL|clip:NAME``, :mod:`vloc.index.clips`), and ``vloc search
--by seen|both`` queries them through the text head or CLIP's text tower (:mod:`vloc.search`).
Heavy imports (torch, safetensors) happen inside the functions.
"""

from __future__ import annotations

from vloc.align.data import AlignData, Moment, load_moments, read_manifest, write_manifest
from vloc.align.model import (
    AlignConfig,
    LoadedAlign,
    info_nce,
    load_align,
    read_align_info,
    resolve_align,
    save_model,
    soft_matching,
)
from vloc.align.train import AlignTrainOptions, AlignTrainResult, train_align

__all__ = [
    "AlignConfig",
    "AlignData",
    "AlignTrainOptions",
    "AlignTrainResult",
    "LoadedAlign",
    "Moment",
    "info_nce",
    "load_align",
    "load_moments",
    "read_align_info",
    "read_manifest",
    "resolve_align",
    "save_model",
    "soft_matching",
    "train_align",
    "write_manifest",
]
