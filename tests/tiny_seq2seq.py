"""Tiny Hugging Face translation models built offline: MarianMT, NLLB and M2M100 with real
SentencePiece / BPE tokenizers trained on a few sentences and random weights (1 + 1 layers,
d_model 16), so translations are noise but loading, language codes and batching are real."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

EN = (
    "The lions rest in the shade of the acacia.",
    "A dry waterhole cracks under the sun.",
    "Elephants walk for days to find water.",
    "The river floods the plain every spring.",
    "Rommel attacked at dawn with his tanks.",
    "Montgomery waited for the supplies.",
)
ZH = (
    "狮子在金合欢树的树荫下休息。",
    "干涸的水坑在阳光下龟裂。",
    "大象走了好几天去找水。",
    "每年春天河水都会淹没平原。",
    "隆美尔在黎明时率坦克进攻。",
    "蒙哥马利在等待补给。",
)
TINY_D = 16  # d_model
TINY_SPM_VOCAB = 120  # SentencePiece target size (it stops earlier on so little text)
TINY_POSITIONS = 64
TINY_INIT_STD = 1.0  # large random weights: outputs depend on the input (0.02 gives one output)
M2M_MADEUP_WORDS = 8  # M2M100Tokenizer's num_madeup_words


def _train_spm(sentences: tuple[str, ...], size: int = TINY_SPM_VOCAB) -> bytes:
    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=buf,
        vocab_size=size,
        hard_vocab_limit=False,
        character_coverage=1.0,
        model_type="unigram",
        bos_id=-1,
        eos_id=1,
        unk_id=0,
        pad_id=-1,
        minloglevel=2,
    )
    return buf.getvalue()


def _tiny_layers() -> dict[str, int | float]:
    return dict(
        d_model=TINY_D,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=2 * TINY_D,
        decoder_ffn_dim=2 * TINY_D,
        max_position_embeddings=TINY_POSITIONS,
        init_std=TINY_INIT_STD,
    )


def save_tiny_marian_weights(folder: Path, seed: int) -> None:
    """(Re)write random Marian weights for the tokenizer already in ``folder``."""
    import torch
    from transformers import MarianConfig, MarianMTModel

    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    pad = vocab["<pad>"]
    config = MarianConfig(
        vocab_size=len(vocab),
        pad_token_id=pad,
        eos_token_id=vocab["</s>"],
        decoder_start_token_id=pad,
        forced_eos_token_id=vocab["</s>"],
        **_tiny_layers(),
    )
    torch.manual_seed(seed)
    MarianMTModel(config).save_pretrained(str(folder))


def build_tiny_marian(
    folder: Path, *, seed: int = 0, pair: tuple[str, str] = ("eng", "zho")
) -> Path:
    """A random-init MarianMT en→zh model: source.spm / target.spm / vocab.json + 1+1 layers."""
    import sentencepiece as spm
    from transformers import MarianTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    src, tgt = _train_spm(EN), _train_spm(ZH)
    (folder / "source.spm").write_bytes(src)
    (folder / "target.spm").write_bytes(tgt)
    vocab = {"</s>": 0, "<unk>": 1}
    for blob in (src, tgt):  # one shared vocabulary, as opus-mt models have
        sp = spm.SentencePieceProcessor(model_proto=blob)
        for i in range(sp.get_piece_size()):
            vocab.setdefault(sp.id_to_piece(i), len(vocab))
    vocab["<pad>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    with warnings.catch_warnings():  # its advice to install sacremoses (punctuation normaliser)
        warnings.simplefilter("ignore", UserWarning)
        tok = MarianTokenizer(
            str(folder / "source.spm"),
            str(folder / "target.spm"),
            str(folder / "vocab.json"),
            source_lang=pair[0],
            target_lang=pair[1],
        )
    tok.save_pretrained(str(folder))
    save_tiny_marian_weights(folder, seed)
    return folder


def _m2m_config(vocab_size: int):
    from transformers import M2M100Config

    return M2M100Config(
        vocab_size=vocab_size,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
        **_tiny_layers(),
    )


def build_tiny_nllb(folder: Path, *, seed: int = 0) -> Path:
    """A random-init NLLB-style model: NllbTokenizer over a character vocabulary + M2M100."""
    import torch
    from transformers import M2M100ForConditionalGeneration, NllbTokenizer

    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "▁": 4}
    for ch in sorted(set("".join(EN + ZH).replace(" ", ""))):
        vocab.setdefault(ch, len(vocab))
        vocab.setdefault("▁" + ch, len(vocab))
    tok = NllbTokenizer(vocab=vocab, merges=[], src_lang="eng_Latn")
    tok.save_pretrained(str(folder))
    torch.manual_seed(seed)
    M2M100ForConditionalGeneration(_m2m_config(len(tok))).save_pretrained(str(folder))
    return folder


def build_tiny_m2m100(folder: Path, *, seed: int = 0) -> Path:
    """A random-init M2M100 model: its SentencePiece tokenizer with the __xx__ language tokens."""
    import sentencepiece as spm
    import torch
    from transformers import M2M100ForConditionalGeneration, M2M100Tokenizer

    folder.mkdir(parents=True, exist_ok=True)
    blob = _train_spm(EN + ZH, 2 * TINY_SPM_VOCAB)
    (folder / "sentencepiece.bpe.model").write_bytes(blob)
    sp = spm.SentencePieceProcessor(model_proto=blob)
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for i in range(sp.get_piece_size()):
        vocab.setdefault(sp.id_to_piece(i), len(vocab))
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tok = M2M100Tokenizer(
        str(folder / "vocab.json"), str(folder / "sentencepiece.bpe.model"), src_lang="en"
    )
    tok.save_pretrained(str(folder))
    # the language ids (__en__ ...) and 8 made-up words come after the pieces
    size = max(tok.lang_code_to_id.values()) + 1 + M2M_MADEUP_WORDS
    torch.manual_seed(seed)
    M2M100ForConditionalGeneration(_m2m_config(size)).save_pretrained(str(folder))
    return folder
