"""Tiny models built offline for tests: random weights, tokenizers trained on a few sentences."""

from __future__ import annotations

from pathlib import Path

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
