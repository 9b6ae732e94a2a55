"""Subword tokenizers that vloc trains on its own training corpus.

One BPE tokenizer per language (the translator has a source and a target tokenizer): English
and Chinese share almost no symbols, so a joint vocabulary would only add rows to both
embedding tables, and separate ones let each side be sized for its language.

How text is cut, so that decoding gives the text back:

* NFC normalisation only (NFKC would turn Chinese full-width punctuation ``，`` into ``,``);
* spaces become ``▁`` (SentencePiece's metaspace) glued to the following word, so English
  decodes with its spaces; CJK characters and CJK/full-width punctuation are split into single
  characters and carry no ``▁``, so Chinese decodes without spurious spaces; other punctuation
  is isolated, which keeps ``dry.`` and ``dry,`` from becoming separate words;
* BPE merges are learned inside these pieces (deterministically: same texts, same vocabulary);
* byte fallback: a character that did not make it into the vocabulary (a rare hanzi, an emoji)
  is encoded as its UTF-8 bytes ``<0xE5><0xB9>...`` instead of ``<unk>``, and decodes back.

Fixed ids: ``<pad>`` 0, ``<s>`` (BOS) 1, ``</s>`` (EOS) 2, ``<unk>`` 3, the 256 byte tokens
4–259, then the learned symbols.

Example::

    tok = train_tokenizer(["Their tiny puddle, almost dry."], vocab_size=400, lang="en")
    ids = tok.encode("almost dry")          # list[int]
    tok.decode(ids)                         # "almost dry"
    tok.save("model/src_tokenizer"); Tokenizer.load("model/src_tokenizer")
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from vloc.errors import InputError
from vloc.fileio import atomic_write_json, atomic_write_text, read_json
from vloc.text import CJK_PATTERN  # split into single characters before BPE

PAD_ID = 0
BOS_ID = 1
EOS_ID = 2
UNK_ID = 3
SPECIAL_TOKENS = ("<pad>", "<s>", "</s>", "<unk>")  # in id order
BYTE_TOKENS = tuple(f"<0x{b:02X}>" for b in range(256))  # byte-fallback symbols, ids 4..259
N_RESERVED = len(SPECIAL_TOKENS) + len(BYTE_TOKENS)  # 260 ids before the learned symbols
METASPACE = "▁"  # U+2581, stands for a space before a word
MERGE_SHARE = 4  # at least 1/4 of the learned symbols are merges, the rest may be characters
MIN_PAIR_FREQUENCY = 2  # a pair seen once is not worth a vocabulary entry
BACKEND_FILE = "tokenizer.json"  # the `tokenizers` library's own format
META_FILE = "vloc_tokenizer.json"  # vloc's metadata: format version, language, special ids
FORMAT_VERSION = 1


def _pipeline(backend: Any) -> None:
    """Attach vloc's normaliser, pre-tokeniser and decoder to a `tokenizers.Tokenizer`."""
    from tokenizers import Regex, decoders, normalizers, pre_tokenizers

    backend.normalizer = normalizers.NFC()
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True),
            pre_tokenizers.Split(Regex(CJK_PATTERN), behavior="isolated"),
            pre_tokenizers.Punctuation(behavior="isolated"),
        ]
    )
    backend.decoder = decoders.Sequence(
        [
            decoders.Replace(METASPACE, " "),
            decoders.ByteFallback(),
            decoders.Fuse(),
            decoders.Strip(" ", 1, 0),  # the space that the first word's ▁ stands for
        ]
    )


class Tokenizer:
    """A trained subword tokenizer for one language (see the module docstring)."""

    pad_id = PAD_ID
    bos_id = BOS_ID
    eos_id = EOS_ID
    unk_id = UNK_ID

    def __init__(self, backend: Any, *, lang: str) -> None:
        self._backend = backend  # a `tokenizers.Tokenizer`
        self.lang = lang  # language code of the texts it was trained on ("en", "zh", ...)

    @property
    def vocab_size(self) -> int:
        """Number of ids (specials and byte tokens included)."""
        return int(self._backend.get_vocab_size(with_added_tokens=True))

    def encode(self, text: str, *, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        """Token ids of ``text``; BOS/EOS only when asked for."""
        ids = list(self._backend.encode(text, add_special_tokens=False).ids)
        return [BOS_ID] * add_bos + ids + [EOS_ID] * add_eos

    def encode_batch(
        self, texts: Sequence[str], *, add_bos: bool = False, add_eos: bool = False
    ) -> list[list[int]]:
        """:meth:`encode` for many texts (in parallel inside `tokenizers`)."""
        encodings = self._backend.encode_batch(list(texts), add_special_tokens=False)
        return [[BOS_ID] * add_bos + list(e.ids) + [EOS_ID] * add_eos for e in encodings]

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids``; pad/BOS/EOS/unk ids are dropped."""
        return str(self._backend.decode([int(i) for i in ids], skip_special_tokens=True))

    def decode_batch(self, batch: Sequence[Iterable[int]]) -> list[str]:
        return [self.decode(ids) for ids in batch]

    def id_to_token(self, i: int) -> str | None:
        return self._backend.id_to_token(int(i))

    def token_to_id(self, token: str) -> int | None:
        return self._backend.token_to_id(token)

    def split_words(self, text: str) -> list[str]:
        """``text`` cut into the pieces BPE works inside, before any merge: words with their
        ``▁``, single CJK characters, punctuation marks (see the module docstring)."""
        normalized = self._backend.normalizer.normalize_str(text)
        return [piece for piece, _ in self._backend.pre_tokenizer.pre_tokenize_str(normalized)]

    def piece_ids(self, piece: str) -> list[int]:
        """The ids BPE spells one piece of :meth:`split_words` with (byte ids 4–259 where a
        character is not in the vocabulary)."""
        return [t.id for t in self._backend.model.tokenize(piece)]

    def to_str(self) -> str:
        """The backend's JSON (used to compare tokenizers and to save them)."""
        return str(self._backend.to_str())

    def save(self, folder: str | Path) -> Path:
        """Write ``tokenizer.json`` and ``vloc_tokenizer.json`` into ``folder`` (atomically)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / BACKEND_FILE, self.to_str())
        meta = {
            "format": FORMAT_VERSION,
            "lang": self.lang,
            "special_tokens": {t: i for i, t in enumerate(SPECIAL_TOKENS)},
            "vocab_size": self.vocab_size,
        }
        atomic_write_json(folder / META_FILE, meta)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> Tokenizer:
        """Read a tokenizer written by :meth:`save`."""
        from tokenizers import Tokenizer as Backend

        folder = Path(folder)
        meta_path, backend_path = folder / META_FILE, folder / BACKEND_FILE
        for path in (meta_path, backend_path):
            if not path.is_file():
                raise InputError(
                    f"not a vloc tokenizer folder: {path.name} is missing "
                    f"(expected {BACKEND_FILE} and {META_FILE}, written by Tokenizer.save)",
                    path=folder,
                )
        meta = read_json(meta_path, what="tokenizer metadata")
        if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
            got = meta.get("format") if isinstance(meta, dict) else None
            raise InputError(
                f"tokenizer format {got!r} is not supported (expected {FORMAT_VERSION})",
                path=meta_path,
            )
        try:
            backend = Backend.from_file(str(backend_path))
        except Exception as exc:  # the Rust library raises plain Exception subclasses
            raise InputError(f"unreadable tokenizer: {exc}", path=backend_path) from exc
        for i, token in enumerate(SPECIAL_TOKENS):
            if backend.token_to_id(token) != i:
                raise InputError(
                    f"special token {token} must have id {i}, has {backend.token_to_id(token)}",
                    path=backend_path,
                )
        return cls(backend, lang=str(meta.get("lang", "")))


def train_tokenizer(texts: Iterable[str], *, vocab_size: int, lang: str) -> Tokenizer:
    """Learn a BPE tokenizer with at most ``vocab_size`` ids from ``texts``.

    ``vocab_size`` counts everything (4 specials + 256 byte tokens + learned symbols), so it
    must exceed 260; on a small corpus the result can be smaller (no more pairs worth merging).
    Training is deterministic: the same texts give the same tokenizer.
    """
    from tokenizers import Tokenizer as Backend
    from tokenizers import models, trainers

    if vocab_size <= N_RESERVED + 1:
        raise InputError(
            f"vocab_size must be > {N_RESERVED + 1} ({len(SPECIAL_TOKENS)} special and "
            f"{len(BYTE_TOKENS)} byte tokens are reserved), got {vocab_size}"
        )
    if not lang:
        raise InputError("a tokenizer needs a language code (e.g. 'en', 'zh')")
    texts = [t for t in texts if t]
    if not texts:
        raise InputError("cannot train a tokenizer on no text")

    learned = vocab_size - len(BYTE_TOKENS)  # trainer budget, specials included
    backend = Backend(models.BPE(unk_token=SPECIAL_TOKENS[UNK_ID], byte_fallback=True))
    _pipeline(backend)
    trainer = trainers.BpeTrainer(
        vocab_size=learned,
        min_frequency=MIN_PAIR_FREQUENCY,
        special_tokens=list(SPECIAL_TOKENS),
        limit_alphabet=max(1, (learned - len(SPECIAL_TOKENS)) * (MERGE_SHARE - 1) // MERGE_SHARE),
        show_progress=False,
    )
    backend.train_from_iterator(texts, trainer)

    # insert the byte tokens at ids 4..259 and shift the learned symbols after them
    spec = json.loads(backend.to_str())
    vocab: dict[str, int] = spec["model"]["vocab"]
    ordered = sorted(vocab.items(), key=lambda kv: kv[1])
    new_vocab = {t: i for i, t in enumerate(SPECIAL_TOKENS)}
    new_vocab.update({t: len(SPECIAL_TOKENS) + i for i, t in enumerate(BYTE_TOKENS)})
    for token, _ in ordered:
        if token not in new_vocab:
            new_vocab[token] = len(new_vocab)
    spec["model"]["vocab"] = new_vocab
    spec["model"]["byte_fallback"] = True
    for added in spec.get("added_tokens", []):
        added["id"] = new_vocab[added["content"]]
    backend = Backend.from_str(json.dumps(spec, ensure_ascii=False))
    return Tokenizer(backend, lang=lang)
