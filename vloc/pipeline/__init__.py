"""The film-level job of ``vloc translate``, above both decoders.

Subtitles in → (features, index, context inside the decoder) → vloc's own translator or a
pretrained engine → line breaking, reports → subtitles out::

    from vloc.engines import EngineOptions, GGUFSettings
    from vloc.pipeline import TranslateOptions, translate_subtitles

    result = translate_subtitles("film.mp4", "film.en.srt", TranslateOptions(to="zh"))
    engine = EngineOptions(GGUFSettings(model="qwen.gguf"), batch_cues=20)
    translate_subtitles("film.mp4", "film.en.srt", TranslateOptions(to="zh", decoder=engine))

* :mod:`vloc.pipeline.options` — :class:`TranslateOptions` (``decoder``: an
  :class:`~vloc.translator.options.OwnModel` or an :class:`~vloc.engines.options.EngineOptions`)
  and :class:`TranslateResult`;
* :mod:`vloc.pipeline.decoders` — the two decoders behind one interface;
* :mod:`vloc.pipeline.translate` — :func:`translate_subtitles`, stage by stage;
* :mod:`vloc.pipeline.output` — the write stage.
"""

from __future__ import annotations

from vloc.pipeline.options import TranslateOptions, TranslateResult
from vloc.pipeline.translate import translate_subtitles
from vloc.translator.options import OwnModel

__all__ = [
    "OwnModel",
    "TranslateOptions",
    "TranslateResult",
    "translate_subtitles",
]
