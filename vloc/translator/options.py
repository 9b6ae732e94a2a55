"""How vloc's own translator decodes a film (``--engine vloc``, the default decoder)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_BEAM = 5  # beam width (the translator paper decodes with beam search; 5 is fairseq's)
DEFAULT_BATCH = 32  # cues per decoding batch: large enough to amortise the step overhead


@dataclass(frozen=True)
class OwnModel:
    """vloc's own global-context video-guided translator and how it runs."""

    model: str | None = None  # model name (under the model folders) or folder; None: the only
    # installed model translating into --to (a demo only on subtitles it covers)
    beam_size: int = DEFAULT_BEAM  # beam width (1 = greedy)
    batch_size: int = DEFAULT_BATCH  # cues per decoding batch (also the journal's unit)
    strict: bool = False  # a failed coverage check is an error instead of a warning
    allow_truncated: bool = False  # features of a truncated video: go on with what decodes
    backbone_path: str = "auto"  # how the video backbone runs: "auto" | "eager" | "jit" |
    # "compile" (vloc.features.execution; FeatureOptions.backbone_path)

    kind = "vloc"  # the decoder's name in reports and on the command line (--engine vloc)
