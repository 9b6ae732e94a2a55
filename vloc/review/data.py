"""What the review page shows, gathered from a film's files and workspace.

* :func:`read_pair` — the source and target subtitles (a target that is not a subtitle file
  is one :class:`~vloc.errors.SubtitleError`);
* :func:`pair_cues` — which source cue each translated cue belongs to: cues with the same
  timing pair up (a diff over ``(start_ms, end_ms)``, so one missing cue does not shift the rest);
  in a stretch where timings differ, cues pair in order and are marked; the rest are one-sided;
* :func:`related_cues` — for every source cue the cues of the film its index retrieves
  (eq. 1, :func:`vloc.index.retrieve` over the cached :func:`vloc.index.build_index`): the
  same retrieval vloc's translator and the engines use;
* :func:`glossary_marks` — the glossary terms in each source cue, honoured or missed;
* :func:`find_context_log` — the engine run's context log in the workspace (:mod:`.context`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vloc.errors import SubtitleError, VlocError
from vloc.text import CJK_LETTERS, plain_text

if TYPE_CHECKING:
    from vloc.glossary.file import GlossaryTerm
    from vloc.subtitles import Cue, Subtitles

WarnFn = Callable[[str], None]
DEFAULT_RELATED = 5  # related cues shown per cue
MAX_LISTED = 12  # cue numbers listed in a mismatch message before "..."
_KANA = re.compile(r"[\u3040-\u30ff]")
_CJK = re.compile(f"[{CJK_LETTERS}]")


def read_pair(
    source: Path, target: Path, *, encoding: str | None = None
) -> tuple[Subtitles, Subtitles]:
    """(source, target) subtitles; the target must hold at least one cue."""
    from vloc.subtitles import read_subtitles

    src = read_subtitles(source, encoding=encoding)
    tgt = read_subtitles(target)
    if not tgt.cues:
        raise SubtitleError("the translation holds no subtitle cues", path=target)
    if not src.cues:
        raise SubtitleError("the source subtitles hold no cues", path=source)
    return src, tgt


def guess_language(path: Path, texts: Sequence[str], given: str | None = None) -> str:
    """``given``, else the tag of ``film.zh.srt``, else ``zh``/``ja`` from the script, else
    ``und`` (undetermined: generic limits)."""
    from vloc.coverage import language_tag

    if given:
        return given
    if tag := language_tag(path):
        return tag
    letters = "".join(ch for t in texts for ch in t if ch.isalpha())
    if letters and len(_CJK.findall(letters)) / len(letters) >= 0.3:
        return "ja" if _KANA.search(letters) else "zh"
    return "und"


@dataclass(frozen=True)
class Row:
    """One row of the page: a source cue and its translation (either may be missing)."""

    src: int | None  # 0-based position in the source, None: no source cue
    tgt: int | None  # 0-based position in the translation, None: no translation
    timing_differs: bool = False  # both present, with different spans


@dataclass(frozen=True)
class Pairing:
    rows: tuple[Row, ...]
    source_only: tuple[int, ...]  # 1-based source cue numbers with no translation
    target_only: tuple[int, ...]  # 1-based translation cue numbers with no source cue
    retimed: tuple[int, ...]  # 1-based translation cue numbers whose timing differs

    @property
    def matched(self) -> bool:
        return not (self.source_only or self.target_only or self.retimed)

    def describe(self, n_src: int, n_tgt: int) -> str:
        """One line for warnings and the page ("" when everything pairs up)."""
        if self.matched:
            return ""
        parts = []
        if n_src != n_tgt:
            parts.append(f"the source has {n_src} cues, the translation {n_tgt}")
        if self.source_only:
            parts.append(f"source cues {_numbers(self.source_only)} have no translation")
        if self.target_only:
            parts.append(f"translation cues {_numbers(self.target_only)} have no source cue")
        if self.retimed:
            parts.append(
                f"translation cues {_numbers(self.retimed)} are timed differently from their "
                "source cues"
            )
        return "; ".join(parts)


def _numbers(ns: Sequence[int]) -> str:
    """``1-3, 7, 9`` (runs collapsed), at most MAX_LISTED items then ``...``."""
    runs: list[list[int]] = []
    for n in ns:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    items = [f"{a}" if a == b else f"{a}-{b}" for a, b in runs]
    more = f", ... ({len(ns)} in all)" if len(items) > MAX_LISTED else ""
    return ", ".join(items[:MAX_LISTED]) + more


def pair_cues(src: Sequence[Cue], tgt: Sequence[Cue]) -> Pairing:
    """Pair the cues of a source and its translation (see the module docstring)."""
    a = [(c.start_ms, c.end_ms) for c in src]
    b = [(c.start_ms, c.end_ms) for c in tgt]
    rows: list[Row] = []
    source_only: list[int] = []
    target_only: list[int] = []
    retimed: list[int] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            rows += [Row(i1 + k, j1 + k) for k in range(i2 - i1)]
            continue
        both = min(i2 - i1, j2 - j1)
        for k in range(both):
            rows.append(Row(i1 + k, j1 + k, timing_differs=True))
            retimed.append(j1 + k + 1)
        for i in range(i1 + both, i2):
            rows.append(Row(i, None))
            source_only.append(i + 1)
        for j in range(j1 + both, j2):
            rows.append(Row(None, j))
            target_only.append(j + 1)
    return Pairing(tuple(rows), tuple(source_only), tuple(target_only), tuple(retimed))


def related_cues(
    video: Path,
    source: Path,
    *,
    k: int = DEFAULT_RELATED,
    workdir: str | Path | None = None,
    encoder: str | Path | None = None,
    encoding: str | None = None,
    warn: WarnFn,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[list[tuple[int, float]]], str] | None:
    """For every source cue, its ``k`` most similar other cues of the film as
    ``(0-based position, cosine similarity)``, best first; and the encoder's name.

    The film's index is built (or found) in the video's workspace; with the video missing, an
    index already in the workspace for these exact subtitles is used. None (with a warning)
    when there is no index to be had; an ``encoder`` the caller named that cannot be loaded
    raises.
    """
    from vloc.index import PAD_ID, build_index, index_folder, load_index, retrieve

    try:
        if video.is_file():
            index = build_index(
                video, source, encoder=encoder, encoding=encoding, workdir=workdir,
                progress=progress, warn=warn,
            ).index  # fmt: skip
        else:
            index = _cached_index(index_folder(video, source, workdir), source, load_index)
            if index is None:
                warn(
                    "related cues not shown: the video is missing and its workspace holds no "
                    f"index of {source.name} (run 'vloc index' with the video)"
                )
                return None
    except VlocError as e:
        if encoder is not None:
            raise
        warn(f"related cues not shown: {e}")
        return None
    ids, scores = retrieve(index.embeddings(), p=k + 1)  # column 0: the cue itself
    out = []
    for row_ids, row_scores in zip(ids.tolist(), scores.tolist(), strict=True):
        out.append(
            [
                (j, round(s, 3))
                for j, s in zip(row_ids[1:], row_scores[1:], strict=True)
                if j != PAD_ID
            ]
        )
    return out, index.encoder_name


def _cached_index(folder: Path, source: Path, load_index):
    from vloc.errors import CacheError
    from vloc.fileio import sha256_file

    if not (folder / "manifest.json").is_file():
        return None
    try:
        index = load_index(folder)
    except CacheError:
        return None
    if (index.manifest.get("subtitles") or {}).get("sha256") != sha256_file(source):
        return None
    return index


def glossary_marks(
    sources: Sequence[str], targets: Sequence[str], terms: Sequence[GlossaryTerm]
) -> list[list[tuple[str, str, bool]]]:
    """Per cue pair: the glossary terms in the source, as (source, target, honoured)."""
    from vloc.glossary.file import missing_terms, terms_in

    out = []
    for src, tgt in zip(sources, targets, strict=True):
        present = terms_in([src], terms) if src else ()
        missed = {t.source for t in missing_terms(src, tgt, present)} if present else set()
        out.append([(t.source, t.target, t.source not in missed) for t in present])
    return out


def find_context_log(
    video: Path, source: Path, workdir: str | Path | None, target_lang: str, warn: WarnFn
) -> Path | None:
    """The newest context log in the workspace for ``source`` translated to ``target_lang``
    (any target when none matches the language), or None."""
    from vloc.decoding.context_log import CONTEXT_SUFFIX
    from vloc.decoding.journal import JOURNAL_DIR
    from vloc.workspace import Workspace, safe_name

    folder = Workspace.for_video(video, workdir).root / JOURNAL_DIR
    if not folder.is_dir():
        return None
    stem = safe_name(source.name)
    logs = sorted(folder.glob(f"{glob_escape(stem)}.*{CONTEXT_SUFFIX}"))
    same_lang = [p for p in logs if p.name.startswith(f"{stem}.{target_lang}.")]
    logs = same_lang or logs
    if not logs:
        return None
    newest = max(logs, key=lambda p: p.stat().st_mtime)
    if len(logs) > 1:
        warn(
            f"{len(logs)} engine runs translated {source.name}; showing the context of {newest.name}"
        )
    return newest


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def plain_texts(cues: Sequence[Cue]) -> list[str]:
    """The cues' texts as indexed and translated (tags removed, lines joined)."""
    return [plain_text(c.text) for c in cues]
