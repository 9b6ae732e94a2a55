"""Tiny models built offline for tests: random weights, tokenizers trained on a few sentences —
sentence encoders, CLIP, and the own translator and summarizer (the Hugging Face translation
models are in ``tiny_seq2seq``)."""

from __future__ import annotations

import json
from pathlib import Path

from tiny_subtitles import EN, ZH

import vloc  # noqa: F401  (installs the torchvision compatibility step before transformers)

TINY_SENTENCES = (
    "The lions rest in the shade of the acacia.",
    "A dry waterhole cracks under the sun.",
    "Elephants walk for days to find water.",
    "The river floods the plain every spring.",
    "Scientists measure the ice of the glacier.",
    "Bankers sold houses to families who could not pay.",
    "The market crashed and the factories closed.",
    "Birds migrate south when the winter comes.",
)  # enough words for a WordPiece vocabulary of a few hundred pieces
TINY_HIDDEN = 32  # BERT width: the sentence embedding dimension D
TINY_LAYERS = 2
TINY_VOCAB = 300  # WordPiece vocabulary size target (it stops earlier on so little text)


def build_tiny_sentence_model(
    folder: Path, *, sentences: tuple[str, ...] = TINY_SENTENCES, seed: int = 0
) -> Path:
    """Save a random-init sentence-transformers model (BERT 2 × 32, mean pooling, normalise).

    Loads with ``SentenceTransformer(str(returned folder))`` offline, in well under a second.
    The weights are fixed by ``seed`` but the WordPiece vocabulary order is not, so two builds
    are two different encoders (different content hashes): reuse one folder for one encoder.
    """
    import torch
    from sentence_transformers import SentenceTransformer

    try:  # sentence-transformers >= 6
        from sentence_transformers.sentence_transformer import modules as models
    except ImportError:
        from sentence_transformers import models
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors, trainers
    from tokenizers.models import WordPiece
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = Path(folder)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(
        list(sentences), trainers.WordPieceTrainer(vocab_size=TINY_VOCAB, special_tokens=specials)
    )
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    hf_dir = folder / "hf"
    hf_tok = BertTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=128,
    )
    hf_tok.save_pretrained(str(hf_dir))
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=TINY_HIDDEN,
        num_hidden_layers=TINY_LAYERS,
        num_attention_heads=2,
        intermediate_size=2 * TINY_HIDDEN,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(str(hf_dir))
    st = SentenceTransformer(
        modules=[
            models.Transformer(str(hf_dir), max_seq_length=128),
            models.Pooling(TINY_HIDDEN, pooling_mode="mean"),
            models.Normalize(),
        ],
        device="cpu",
    )
    out = folder / "model"
    st.save(str(out))
    return out


TINY_IMAGE = 32  # px: the tiny vision tower's input
TINY_PROJECTION = 8  # D: the shared space


def build_tiny_clip(folder: Path, *, seed: int = 0) -> Path:
    """Save a random-init CLIPModel (1 layer per tower, width 16) with a character-level BPE
    tokenizer (every printable ASCII character, alone and word-final; no merges)."""
    import torch

    from vloc._compat import install_torchvision_compat

    install_torchvision_compat()
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    chars = [chr(c) for c in range(33, 127)]
    vocab = {t: i for i, t in enumerate([*chars, *(c + "</w>" for c in chars)])}
    for special in ("<|startoftext|>", "<|endoftext|>"):
        vocab[special] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt")).save_pretrained(folder)
    tower = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
             "num_attention_heads": 2}  # fmt: skip
    config = CLIPConfig(
        text_config={**tower, "vocab_size": len(vocab), "max_position_embeddings": 77,
                     "bos_token_id": vocab["<|startoftext|>"],
                     "eos_token_id": vocab["<|endoftext|>"],
                     "pad_token_id": vocab["<|endoftext|>"]},
        vision_config={**tower, "image_size": TINY_IMAGE, "patch_size": 16},
        projection_dim=TINY_PROJECTION,
    )  # fmt: skip
    torch.manual_seed(seed)
    CLIPModel(config).eval().save_pretrained(folder)
    CLIPImageProcessor(
        size={"shortest_edge": TINY_IMAGE}, crop_size={"height": TINY_IMAGE, "width": TINY_IMAGE}
    ).save_pretrained(folder)
    return folder


# ---------------------------------------------------------------- the own models, in memory

# both own models: 2 + 2 layers, d = 32 (milliseconds per decoder step on a CPU)
_TINY_LAYERS = dict(
    d_model=32, ffn_dim=64, n_heads=4, encoder_layers=2, decoder_layers=2, dropout=0.0
)
TINY_TRANSLATOR = dict(
    _TINY_LAYERS,
    src_vocab_size=40,
    tgt_vocab_size=30,
    video_dim=12,  # D_v
    video_regions=4,  # R
    visual_dim=16,
    segments=6,  # P
    select_k=3,
)
TINY_SUMMARIZER = dict(
    _TINY_LAYERS,
    src_vocab_size=24,
    tgt_vocab_size=20,
    video_dim=16,  # D_v
    max_source_len=32,
    max_video_len=16,
    max_target_len=16,
)


def tiny_translator_config(variant: str = "full", **overrides):
    """A :class:`TranslatorConfig` of :data:`TINY_TRANSLATOR`'s sizes, ``overrides`` applied."""
    from vloc.translator import TranslatorConfig

    return TranslatorConfig(**{**TINY_TRANSLATOR, "variant": variant, **overrides})


def tiny_translator(variant: str = "full", seed: int = 0, **overrides):
    """A random-weight :class:`Translator` (``torch.manual_seed(seed)``) in eval mode."""
    import torch

    from vloc.translator import Translator

    torch.manual_seed(seed)
    return Translator(tiny_translator_config(variant, **overrides)).eval()


def tiny_summarizer_config(variant: str = "full", **overrides):
    """A :class:`SummarizerConfig` of :data:`TINY_SUMMARIZER`'s sizes, ``overrides`` applied."""
    from vloc.summarizer import SummarizerConfig

    return SummarizerConfig(**{**TINY_SUMMARIZER, "variant": variant, **overrides})


# ---------------------------------------------------------------- the own translator, saved

TINY_FEATURES = {  # a 1/16-width I3D with random weights: D = 128, grid 2 × 2 = 4 regions
    "backbone": "i3d_r50",
    "weights": "random",
    "seed": 0,
    "width": 1 / 16,
    "fps": 8.0,
    "clip_len": 8,
    "size": 32,
    "grid": 2,
}
TINY_DIM, TINY_REGIONS = 128, 4


def build_tiny_translator(
    folder: Path, *, variant: str = "full", encoder: Path | None = None, lang: str = "zh"
) -> Path:
    """A random-weight translator folder (1 + 1 layers, d = 16) with tokenizers trained on
    :data:`tiny_subtitles.EN` / ``ZH`` and inference settings for :data:`TINY_FEATURES`."""
    import torch

    from vloc.tokenization import train_tokenizer
    from vloc.translator import Translator

    src = train_tokenizer(EN, vocab_size=320, lang="en")
    tgt = train_tokenizer(ZH, vocab_size=320, lang=lang)
    torch.manual_seed(0)
    cfg = tiny_translator_config(
        variant, src_vocab_size=src.vocab_size, tgt_vocab_size=tgt.vocab_size, d_model=16,
        ffn_dim=32, n_heads=2, encoder_layers=1, decoder_layers=1, video_dim=TINY_DIM,
        video_regions=TINY_REGIONS, segments=4, select_k=2, max_target_len=12,
    )  # fmt: skip
    Translator(cfg).save(folder)
    src.save(folder / "src_tokenizer")
    tgt.save(folder / "tgt_tokenizer")
    inference = {"features": TINY_FEATURES}
    if encoder is not None:
        inference["index"] = {"encoder": str(encoder)}
    (folder / "translator.json").write_text(json.dumps(inference))
    return folder
