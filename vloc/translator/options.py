"""How vloc's own translator decodes a film (``--engine vloc``, the default decoder)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_BEAM = 5  # beam width (the translator paper decodes with beam search; 5 is fairseq's)
DEFAULT_BATCH = 32  # cues per decoding batch: large enough to amortise the step overhead
DEFAULT_BATCH_TOKENS = 2048  # padded source tokens per batch (cues × the batch's longest): the
# beam search keeps (cues × beam × tokens × d_model) keys and values per layer, so this bounds a
# batch's memory by a constant instead of by the film's longest line (32 cues of up to 64 tokens)


@dataclass(frozen=True)
class OwnModel:
    """vloc's own global-context video-guided translator and how it runs."""

    model: str | None = None  # model name (under the model folders) or folder; None: the only
    # installed model translating into --to (a demo only on subtitles it covers)
    beam_size: int = DEFAULT_BEAM  # beam width (1 = greedy)
    batch_size: int = DEFAULT_BATCH  # cues per decoding batch at most
    batch_tokens: int = DEFAULT_BATCH_TOKENS  # padded source tokens per batch at most (a cue
    # longer than this still gets a batch of its own)
    strict: bool = False  # a failed coverage check is an error instead of a warning
    allow_truncated: bool = False  # features of a truncated video: go on with what decodes
    backbone_path: str = "auto"  # how the video backbone runs: "auto" | "eager" | "jit" |
    # "compile" (vloc.features.execution; FeatureOptions.backbone_path)

    kind = "vloc"  # the decoder's name in reports and on the command line (--engine vloc)
