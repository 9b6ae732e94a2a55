"""Word boundaries of Chinese and Japanese text, where a line may break.

* Chinese: jieba (MIT), a dictionary word segmenter with an HMM for unknown words. On the 10,429
  Chinese lines of TopicVD's validation films it keeps words whole where budoux's Chinese model
  does not: 17.8 % of budoux's break points (17,695 of 99,197) fall inside a word jieba finds
  (此|片, 敏|感期, 这|里, 最|初), which a reader sees as a broken word. jieba segments ~70,000
  characters/s on two shared cores (the line breaker runs it on a window of a few line
  lengths only) and loads its dictionary once per process (0.7-3 s); its cache goes to vloc's
  cache folder, not the shared temporary folder.
* Japanese: budoux (Apache-2.0, Google), the phrase segmenter browsers use for Japanese line
  breaking (its Chinese model segments ~180,000 characters/s here).

Both are imported on first use only.
"""

from __future__ import annotations

import functools
import logging

from vloc.text import language_base


@functools.lru_cache(maxsize=1)
def _jieba():  # type: ignore[no-untyped-def]
    import jieba

    from vloc.workspace import vloc_home

    jieba.setLogLevel(logging.WARNING)  # no "Building prefix dict ..." lines on stderr
    tok = jieba.Tokenizer()
    cache = vloc_home() / "cache" / "jieba"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tok.tmp_dir = str(cache)
    except OSError:  # a read-only home: jieba builds its dictionary in memory every time
        tok.tmp_dir = None
    return tok


@functools.lru_cache(maxsize=1)
def _budoux_ja():  # type: ignore[no-untyped-def]
    import budoux

    return budoux.load_default_japanese_parser()


def segmenter_for(lang: str) -> str | None:
    """``jieba`` for Chinese, ``budoux`` for Japanese, None where words are spaced."""
    return {"zh": "jieba", "ja": "budoux"}.get(language_base(lang))


def word_boundaries(text: str, lang: str) -> set[int] | None:
    """Offsets ``i`` (0 < i < len(text)) between two words of ``text``; None when ``lang`` is
    written with spaces between words (break at spaces only)."""
    which = segmenter_for(lang)
    if which is None or not text:
        return None
    pieces = _jieba().cut(text, HMM=True) if which == "jieba" else _budoux_ja().parse(text)
    out: set[int] = set()
    pos = 0
    for piece in pieces:
        pos += len(piece)
        if 0 < pos < len(text):
            out.add(pos)
    return out
