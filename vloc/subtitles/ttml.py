"""TTML output in the IMSC 1.1 Text profile, through ttconv (BSD-2-Clause; Sandflow's
reference converter, used by the W3C's IMSC tests).

The cues are rendered as SRT (vloc's own writer), read into ttconv's document model by its SRT
reader (``<i>``, ``<b>``, ``<u>`` and ``<font color>`` become TTML styling; line breaks become
``<br/>``) and written by its IMSC writer, with ``xml:lang`` set to the cues' language.

Why ttconv and not pysubs2 (both installed): pysubs2 (1.8) writes TTML too, but as plain
``<p>`` elements with one flat style and no layout — not an IMSC document; ttconv writes a
region, an IMSC profile-conformant document and validates its model on the way. pysubs2
reads the result back, which the tests use as the second, independent parser.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import replace

from vloc.errors import SubtitleError
from vloc.subtitles.cues import Cue

_ASS_BLOCK = re.compile(r"\{\\[^}]*\}")


def dumps_ttml(cues: Sequence[Cue], lang: str | None = None) -> str:
    """TTML (IMSC 1.1 Text) text of ``cues``; ``lang`` fills ``xml:lang`` (BCP 47)."""
    import xml.etree.ElementTree as ET

    import ttconv.imsc.writer as imsc_writer
    import ttconv.srt.reader as srt_reader

    from vloc.subtitles.write import dumps_srt

    # ttconv's SRT reader needs at least one cue with text; an empty cue carries no <p>;
    # ASS override blocks ({\an8}) have no TTML form here and are dropped
    shown = [
        replace(c, text=_ASS_BLOCK.sub("", c.text))
        for c in cues
        if _ASS_BLOCK.sub("", c.text).strip()
    ]
    try:
        model = srt_reader.to_model(io.StringIO(dumps_srt(shown)))
        if model is None:
            raise ValueError("no cue with text")
        model.set_lang(lang or "")
        tree = imsc_writer.from_model(model)
    except Exception as e:  # ttconv raises plain exceptions for content it cannot model
        raise SubtitleError(f"cannot write TTML: {e}") from None
    xml = ET.tostring(tree.getroot(), encoding="unicode", xml_declaration=False)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + xml + "\n"
