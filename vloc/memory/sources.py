"""Read earlier work into memory pairs: bilingual subtitle pairs, TMX files, vloc manifests.

A memory path is one of

* a subtitle file ``NAME.<lang>.srt`` (or ``.vtt``) in the source or the target language: its
  partner ``NAME.<other lang>.srt|vtt`` is found beside it, and the two are aligned by
  timing (:mod:`vloc.memory.align`); naming both files of a pair counts once;
* a TMX file (``.tmx``, :mod:`vloc.memory.tmx`);
* a vloc manifest (``.jsonl``/``.json``, :mod:`vloc.manifest`): every cue with
  text on both sides is a pair; its languages must be the memory's;
* a folder: every TMX file and every subtitle pair in it (not in sub-folders).

Language tags in file names match as :func:`vloc.memory.text.language_matches` says. The
pairs keep the order of the paths (give earlier episodes first: where the memory holds two
translations of one line, the later one wins a tie). Nothing is written; every file is only
read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vloc.errors import InputError
from vloc.fileio import stable_hash
from vloc.memory.text import clean_text, language_matches
from vloc.text import LANG_CODE

WarnFn = Callable[[str], None]
SUBTITLE_SUFFIXES = (".srt", ".vtt")
TMX_SUFFIXES = (".tmx",)
MANIFEST_SUFFIXES = (".jsonl", ".json")
PAIRS_FORMAT = 2  # bump when reading or aligning changes what pairs a file gives


@dataclass(frozen=True)
class MemoryPair:
    """One unit of earlier work: a source line and its approved translation."""

    source: str  # source text: tags removed, lines joined by one space
    target: str  # its translation, as reused verbatim by an exact match
    film: str  # the work it comes from: subtitle pair NAME, TMX x-film (or file stem), manifest id
    origin: str  # the file it was read from (the source-language file of a subtitle pair)
    cue: str  # where there: cue numbers "12" / "12+13", a TMX unit "tu 7", a manifest "cue 12"


@dataclass(frozen=True)
class SourceReport:
    """What one memory source gave."""

    path: str  # the file (a subtitle pair: its source-language file)
    kind: str  # "subtitles" | "tmx" | "manifest"
    pairs: int  # pairs read
    partner: str = ""  # subtitle pairs: the target-language file
    unaligned_source: int = 0  # subtitle pairs: source cues with no overlapping translation
    unaligned_target: int = 0  # subtitle pairs: target cues with no overlapping source
    joined: int = 0  # subtitle pairs: units joining several cues on a side (n:1, 1:n)
    skipped: int = 0  # TMX / manifest: units without both languages' text

    def to_json(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if v or k in ("path", "kind", "pairs")}

    @property
    def files(self) -> list[str]:
        """Every file this source was read from (a subtitle pair: both)."""
        return [self.path, self.partner] if self.partner else [self.path]


@dataclass(frozen=True)
class MemorySources:
    """Every pair of a memory's paths, and what each source gave."""

    pairs: tuple[MemoryPair, ...]
    sources: tuple[SourceReport, ...]
    source_lang: str
    target_lang: str
    warnings: tuple[str, ...] = ()

    @property
    def files(self) -> list[str]:
        """Every file the memory was read from: inputs, never to be written."""
        return [f for s in self.sources for f in s.files]

    @property
    def sha256(self) -> str:
        """Content hash of the pairs (texts, films, origins' names and cues) and languages."""
        return stable_hash(
            {
                "v": PAIRS_FORMAT,
                "langs": [self.source_lang, self.target_lang],
                "pairs": [[p.source, p.target, p.film, Path(p.origin).name, p.cue]
                          for p in self.pairs],
            }
        )  # fmt: skip


def language_tag(path: str | Path) -> tuple[str, str] | None:
    """(NAME, tag) of ``NAME.<tag>.srt``, or None when the name carries no language code."""
    stem = Path(path).stem
    name, dot, last = stem.rpartition(".")
    return (name, last) if dot and name and LANG_CODE.match(last) else None


def _partner(path: Path, lang: str) -> Path | None:
    """The subtitle file beside ``path`` with the same NAME and a tag matching ``lang``."""
    name, _ = language_tag(path) or ("", "")
    found = []
    try:
        siblings = sorted(path.parent.iterdir())
    except OSError as e:
        raise InputError(f"cannot list the folder: {e.strerror or e}", path=path.parent) from e
    for p in siblings:
        tagged = language_tag(p)
        if p.suffix.lower() in SUBTITLE_SUFFIXES and tagged and tagged[0] == name and p != path:
            if language_matches(lang, tagged[1]):
                found.append(p)
    return found[0] if found else None


def _subtitle_pair(path: Path, source_lang: str, target_lang: str) -> tuple[Path, Path]:
    """(source file, target file) of the subtitle pair ``path`` belongs to."""
    tagged = language_tag(path)
    if tagged is None:
        raise InputError(
            "cannot tell the language of this subtitle file: name the files of a pair "
            f"NAME.{source_lang}.srt and NAME.{target_lang}.srt",
            path=path,
        )
    name, tag = tagged
    is_source = language_matches(source_lang, tag)
    if is_source or language_matches(target_lang, tag):
        want = target_lang if is_source else source_lang
        other = _partner(path, want)
        if other is None:
            missing = (
                "no translation beside it" if is_source else "no source beside this translation"
            )
            raise InputError(f"{missing}: expected {name}.{want}.srt (or .vtt)", path=path)
        return (path, other) if is_source else (other, path)
    raise InputError(
        f"its language {tag!r} is neither the source {source_lang!r} nor the target "
        f"{target_lang!r} of the memory",
        path=path,
    )


def _expand(path: Path, source_lang: str, target_lang: str, warn: WarnFn) -> list[tuple[str, Path]]:
    """A memory path → (kind, file) items; a folder → its TMX files and subtitle pairs."""
    if not path.exists():
        raise InputError("memory file or folder not found", path=path)
    if not path.is_dir():
        return [(_kind(path), path)]
    items: list[tuple[str, Path]] = []
    try:
        files = sorted(p for p in path.iterdir() if p.is_file())
    except OSError as e:
        raise InputError(f"cannot list the memory folder: {e.strerror or e}", path=path) from e
    for p in files:
        suffix = p.suffix.lower()
        tagged = language_tag(p)
        if suffix in TMX_SUFFIXES:
            items.append(("tmx", p))
        elif suffix in SUBTITLE_SUFFIXES and tagged and language_matches(source_lang, tagged[1]):
            if _partner(p, target_lang) is None:
                warn(f"{p}: no {target_lang} translation beside it; left out of the memory")
            else:
                items.append(("subtitles", p))
    if not items:
        raise InputError(
            f"no memory in this folder: expected NAME.{source_lang}.srt + "
            f"NAME.{target_lang}.srt pairs or .tmx files",
            path=path,
        )
    return items


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in TMX_SUFFIXES:
        return "tmx"
    if suffix in MANIFEST_SUFFIXES:
        return "manifest"
    if suffix in SUBTITLE_SUFFIXES:
        return "subtitles"
    raise InputError(
        "not a memory file: expected subtitle pairs (NAME.<lang>.srt or .vtt), a TMX file "
        "(.tmx) or a vloc manifest (.jsonl)",
        path=path,
    )


def read_memory(
    paths: Sequence[str | Path],
    *,
    source_lang: str,
    target_lang: str,
    encoding: str | None = None,
    warn: WarnFn | None = None,
) -> MemorySources:
    """Read every pair of ``paths`` (module docstring).

    Args:
        encoding: subtitle text encoding, or None to detect it per file.
        warn: called with a line for each thing left out or suspicious (a subtitle file with
            no partner in a folder, a pair that aligns poorly).
    Raises:
        InputError: a path that is missing or of no known kind, a TMX file that is not XML or
            holds no unit of the two languages, subtitle files whose timings never overlap,
            a manifest in other languages, or no pair at all — each naming the file.
    """
    if not paths:
        raise InputError("the memory is empty: give subtitle pairs, TMX files or manifests")
    notes: list[str] = []

    def note(msg: str) -> None:
        notes.append(msg)
        if warn is not None:
            warn(msg)

    items: list[tuple[str, Path]] = []
    for p in paths:
        for kind, f in _expand(Path(p), source_lang, target_lang, note):
            if all(f.resolve() != g.resolve() for _, g in items):  # a file named twice: once
                items.append((kind, f))
    pairs: list[MemoryPair] = []
    reports: list[SourceReport] = []
    done: set[Path] = set()
    for kind, path in items:
        if kind == "subtitles":
            src, tgt = _subtitle_pair(path, source_lang, target_lang)
            if src.resolve() in done:
                continue
            done.add(src.resolve())
            got, rep = _read_subtitle_pair(src, tgt, encoding, note)
        elif kind == "tmx":
            got, rep = _read_tmx(path, source_lang, target_lang)
        else:
            got, rep = _read_manifest(path, source_lang, target_lang)
        pairs.extend(got)
        reports.append(rep)
    if not pairs:
        raise InputError(
            "the memory is empty: its files hold no line with a translation",
            path=paths[0] if len(paths) == 1 else None,
        )
    return MemorySources(tuple(pairs), tuple(reports), source_lang, target_lang, tuple(notes))


def _read_subtitle_pair(
    src: Path, tgt: Path, encoding: str | None, note: WarnFn
) -> tuple[list[MemoryPair], SourceReport]:
    from vloc.memory.align import align_cues, coverage_warning, unit_label, unit_text
    from vloc.subtitles import read_subtitles

    s, t = read_subtitles(src, encoding=encoding), read_subtitles(tgt, encoding=encoding)
    al = align_cues(s.cues, t.cues, source_path=src, target_path=tgt)
    if (msg := coverage_warning(al, src)) is not None:
        note(msg)
    film = (language_tag(src) or (src.stem, ""))[0]
    pairs = [
        MemoryPair(
            unit_text(s.cues, u.source), unit_text(t.cues, u.target), film, str(src),
            unit_label(s.cues, u.source),
        )
        for u in al.units
    ]  # fmt: skip
    rep = SourceReport(
        str(src), "subtitles", len(pairs), str(tgt), al.unaligned_source, al.unaligned_target,
        al.joined,
    )  # fmt: skip
    return pairs, rep


def _read_tmx(
    path: Path, source_lang: str, target_lang: str
) -> tuple[list[MemoryPair], SourceReport]:
    from vloc.memory.tmx import read_tmx

    got = read_tmx(path, source_lang=source_lang, target_lang=target_lang)
    pairs = [
        MemoryPair(u.source, u.target, u.film or path.stem, str(path), u.cue or f"tu {u.number}")
        for u in got.units
    ]
    return pairs, SourceReport(str(path), "tmx", len(pairs), skipped=got.skipped)


def _read_manifest(
    path: Path, source_lang: str, target_lang: str
) -> tuple[list[MemoryPair], SourceReport]:
    from vloc.manifest import read_manifest

    docs = read_manifest(path)
    first = docs[0]
    if not (
        language_matches(source_lang, first.source_lang)
        and language_matches(target_lang, first.target_lang)
    ):
        raise InputError(
            f"the manifest is {first.source_lang}→{first.target_lang}, the memory "
            f"{source_lang}→{target_lang}",
            path=path,
        )
    pairs: list[MemoryPair] = []
    skipped = 0
    for d in docs:
        for c in d.cues:
            src, tgt = clean_text(c.source), clean_text(c.target)
            if src and tgt:
                pairs.append(MemoryPair(src, tgt, d.id, str(path), f"cue {c.index}"))
            else:
                skipped += 1
    return pairs, SourceReport(str(path), "manifest", len(pairs), skipped=skipped)
