""":func:`write_review`: gather a film's review data, grab its thumbnails, write the page."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.errors import InputError, MediaError, VlocError
from vloc.fileio import atomic_write_text, sha256_file
from vloc.guard import check_output

if TYPE_CHECKING:
    from vloc.glossary.file import GlossaryTerm
    from vloc.review.flags import Flag

ProgressFn = Callable[[str, int, int], None]  # (stage, done, total)
WarnFn = Callable[[str], None]
THUMB_MODES = ("auto", "embed", "folder", "none")
EMBED_MAX_BYTES = 2 << 20  # auto: thumbnails embedded as data URLs up to 2 MiB of JPEG in all
FILES_SUFFIX = "_files"  # review.html -> review_files/ (as browsers save a page)
FILES_MARKER = ".vloc-review"  # marks a thumbnail folder this module wrote (and may replace)
PAGE_FORMAT = 1  # "v" of the page's data


@dataclass(frozen=True)
class ReviewResult:
    """What :func:`write_review` wrote."""

    output: Path  # the page
    files: Path | None  # the thumbnail folder beside it, None when thumbnails are embedded
    rows: int  # rows of the cue table
    source_cues: int
    target_cues: int
    mismatch: str  # how source and translation fail to pair ("" when every cue pairs)
    flagged: int  # rows with a QC flag, a missed glossary term or a pairing problem
    qc: str  # "given" (a checker's flags) | "vloc check" (its rules, computed here)
    encoder: str | None  # the index's encoder when related cues are shown, else None
    context_log: Path | None  # the engine run's context log shown, if any
    context_batches: int  # its records used
    thumbnails: int  # distinct thumbnails
    thumbnail_mode: str  # "embedded" | "folder" | "none"
    video: str | None  # the video's URL as the page has it (relative), None: no player
    page_bytes: int
    seconds: float
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for k in ("output", "files", "context_log"):
            out[k] = None if out[k] is None else str(out[k])
        out["seconds"] = round(self.seconds, 3)
        out["warnings"] = list(self.warnings)
        return out


def files_folder(output: Path) -> Path:
    """The thumbnail folder of a page: ``review.html`` → ``review_files``."""
    return output.with_name(output.stem + FILES_SUFFIX)


def write_review(
    video: str | Path,
    source_subs: str | Path,
    target_subs: str | Path,
    output: str | Path,
    *,
    workdir: str | Path | None = None,
    glossary: str | Path | Sequence[GlossaryTerm] | None = None,
    qc: str | Path | list[Any] | dict[str, Any] | None = None,
    context: str | Path | bool | None = None,
    encoder: str | Path | None = None,
    encoding: str | None = None,
    source_lang: str | None = None,
    target_lang: str | None = None,
    related: int = 5,
    thumbnails: str = "auto",
    progress: ProgressFn | None = None,
    warn: WarnFn | None = None,
) -> ReviewResult:
    """Write the review page of a translated film (``vloc review``).

    Args:
        video: the film; when it is missing the page has no player (and a warning says so).
        source_subs, target_subs: the source subtitles and their translation (SRT/WebVTT).
        output: the page (``.html``); thumbnails that do not fit in it go to the folder
            :func:`files_folder` beside it.
        workdir: where the film's workspace lives (default: beside the video).
        glossary: a glossary file (``source<TAB>target``) or its terms: each cue shows the
            terms of its source, honoured or missed.
        qc: a checker's flags (a JSON file, or the list; format in :mod:`vloc.review.flags`);
            None: the flags of ``vloc check`` (:func:`vloc.style.check.check_file`, default profile).
        context: the engine run's context log (:mod:`vloc.decoding.context_log`); None: the newest
            one in the workspace for these subtitles; False: none.
        encoder: the sentence encoder of the film's index (default: the index's default).
        encoding: the source subtitles' text encoding (default: detect it).
        source_lang, target_lang: language codes (default: from the file names, e.g.
            ``film.zh.srt``, else from the script).
        related: similar cues shown per cue (0: no index is used).
        thumbnails: ``auto`` (embedded up to ``EMBED_MAX_BYTES``, else a folder), ``embed``,
            ``folder`` or ``none``.
        progress: ``progress(stage, done, total)`` for the stages ``index`` and ``thumbnails``.
        warn: called with each warning (they are also in the result).
    Raises:
        SubtitleError: a subtitle file cannot be read (a target that is not subtitles).
        InputError: the output would overwrite an input, a bad glossary, QC file or option.
    """
    from vloc import __version__
    from vloc.decoding.context_log import context_by_cue, read_context
    from vloc.review import data as gather
    from vloc.review.flags import parse_qc, read_qc
    from vloc.review.page import render_page
    from vloc.review.thumbs import grab_thumbnails, strip_times_ms

    t0 = time.perf_counter()
    warnings: list[str] = []

    def _warn(msg: str) -> None:
        if msg not in warnings:
            warnings.append(msg)
            if warn is not None:
                warn(msg)

    stage = progress or (lambda *_: None)
    video, source, target, output = Path(video), Path(source_subs), Path(target_subs), Path(output)
    if thumbnails not in THUMB_MODES:
        raise InputError(f"unknown thumbnail mode {thumbnails!r}; valid: {', '.join(THUMB_MODES)}")
    if related < 0:
        raise InputError(f"related cues per cue must be >= 0, got {related}")
    paths = [p for p in (glossary, qc, context) if isinstance(p, str | Path)]
    inputs = [video, source, target, *map(Path, paths)]
    check_output(output, inputs)
    folder = files_folder(output)
    _check_files_folder(folder, inputs)

    src, tgt = gather.read_pair(source, target, encoding=encoding)
    for w in [*src.warnings, *tgt.warnings]:
        _warn(w)
    terms: Sequence[GlossaryTerm] = ()
    if isinstance(glossary, str | Path):
        from vloc.glossary.file import read_glossary

        terms = read_glossary(glossary)
    elif glossary is not None:
        terms = tuple(glossary)
    n_tgt = len(tgt.cues)
    flags: dict[int, list[Flag]]
    if isinstance(qc, str | Path):
        flags, qc_kind = read_qc(qc, n_tgt), "given"
    elif qc is not None:
        flags, qc_kind = parse_qc(qc, n_tgt), "given"
    else:
        flags, qc_kind = {}, "vloc check"

    src_plain, tgt_texts = gather.plain_texts(src.cues), [c.text for c in tgt.cues]
    s_lang = gather.guess_language(source, src_plain, source_lang)
    t_lang = gather.guess_language(target, gather.plain_texts(tgt.cues), target_lang)
    pairing = gather.pair_cues(src.cues, tgt.cues)
    mismatch = pairing.describe(len(src.cues), n_tgt)
    if mismatch:
        _warn(f"{target}: {mismatch}")
    if qc_kind == "vloc check":  # the rule set of `vloc check` (default profile)
        from vloc.style.check import check_file

        report = check_file(target, lang=t_lang, source=None if mismatch else source)
        flags = parse_qc(report.to_json(), n_tgt)

    # ---- the film: probe, related cues, engine context
    have_video = video.is_file()
    duration_s = max(max(c.end_ms for c in src.cues), max(c.end_ms for c in tgt.cues)) / 1000
    probed = False
    missing = f"{video}: video not found: the page has no player and no thumbnails"
    if not have_video:
        _warn(missing)
    else:
        try:
            from vloc.media.info import probe

            duration_s = max(duration_s, probe(video).duration_s)
            probed = True
        except VlocError as e:
            _warn(f"cannot read the video, so no thumbnails: {e}")
    rel = None
    if related:
        rel = gather.related_cues(
            video, source, k=related, workdir=workdir, encoder=encoder, encoding=encoding,
            warn=_warn, progress=lambda d, t: stage("index", d, t),
        )  # fmt: skip
    log: Path | None = None
    if context is not None and context is not False and context is not True:
        log = Path(context)
        if not log.is_file():
            raise InputError("context log not found", path=log)
    elif context is not False:
        log = gather.find_context_log(video, source, workdir, t_lang, _warn)
    by_cue, records = {}, []
    if log is not None:
        from vloc.style.cues import split_style

        engine_texts = [split_style(c.text).plain for c in src.cues]  # as the engine saw them
        by_cue, ignored = context_by_cue(read_context(log), engine_texts)
        records = list(dict.fromkeys(by_cue.values()))
        if ignored:
            _warn(f"{log.name}: {ignored} context records belong to other subtitles; ignored")

    # ---- thumbnails: one per row, the strip, the engine's keyframes
    rows = pairing.rows
    row_span = [tgt.cues[r.tgt] if r.tgt is not None else src.cues[r.src or 0] for r in rows]
    strip = strip_times_ms(duration_s) if probed else []
    cue_times = [(c.start_ms + max(c.start_ms, c.end_ms)) // 2 for c in row_span]
    frame_times = [t for rec in records for t in rec.frames_ms]
    thumbs = None
    if probed and thumbnails != "none":
        try:
            thumbs = grab_thumbnails(
                video, [*cue_times, *strip, *frame_times],
                progress=lambda d, t: stage("thumbnails", d, t), warnings=warnings,
            )  # fmt: skip
        except MediaError as e:
            _warn(f"no thumbnails: {e}")
    mode = "none"
    urls: list[str] = []
    files: dict[str, bytes] = {}
    if thumbs is not None and thumbs.jpegs:
        embed = thumbnails == "embed" or (
            thumbnails == "auto" and thumbs.total_bytes <= EMBED_MAX_BYTES
        )
        if embed:
            import base64

            mode = "embedded"
            urls = ["data:image/jpeg;base64," + base64.b64encode(j).decode() for j in thumbs.jpegs]
        else:
            mode = "folder"
            base = urllib.parse.quote(folder.name)
            files = {f"{k:05d}.jpg": j for k, j in enumerate(thumbs.jpegs)}
            urls = [f"{base}/{name}" for name in files]
    at = thumbs.at_ms if thumbs is not None and mode != "none" else {}

    # ---- the page's data (layout documented in review.js's reader)
    marks = gather.glossary_marks(
        [src_plain[r.src] if r.src is not None else "" for r in rows],
        [tgt_texts[r.tgt] if r.tgt is not None else "" for r in rows],
        terms,
    )
    gloss_summary = None
    if terms:
        from vloc.glossary.file import glossary_report

        pairs = [(src_plain[r.src], tgt_texts[r.tgt]) for r in rows if r.src is not None and r.tgt is not None]  # fmt: skip
        report = glossary_report([a for a, _ in pairs], [b for _, b in pairs], terms)
        gloss_summary = [[t.source, t.target, t.cues, t.honoured] for t in report if t.cues]
    video_src = _video_url(video, output) if have_video else None
    rec_index = {r: k for k, r in enumerate(records)}
    page = {
        "v": PAGE_FORMAT,
        "title": f"{video.name} · {target.name}",
        "video": {"src": video_src, "name": video.name},
        "duration": round(duration_s, 3),
        "source": {"name": source.name, "lang": s_lang, "n": len(src.cues)},
        "target": {
            "name": target.name,
            "lang": t_lang,
            "format": tgt.format,
            "n": n_tgt,
            "settings": {str(k): v for k, v in tgt.vtt_settings.items()},
            "ids": {str(k): v for k, v in tgt.identifiers.items()},
            "key": sha256_file(target)[:16],
            "export": f"{Path(target.name).stem}.reviewed.{tgt.format}",
        },
        "src": [[c.start_ms, c.end_ms, c.text] for c in src.cues],
        "tgt": [[c.start_ms, c.end_ms, c.text] for c in tgt.cues],
        "rows": [
            [-1 if r.src is None else r.src, -1 if r.tgt is None else r.tgt, int(r.timing_differs)]
            for r in rows
        ],
        "flags": {str(n): [f.to_json() for f in fs] for n, fs in flags.items()},
        "qc": qc_kind,
        "related": None if rel is None else [[[j, s] for j, s in cue] for cue in rel[0]],
        "encoder": None if rel is None else rel[1],
        "ctx": None
        if not records
        else {
            "batches": len(records),
            "records": [
                {
                    "cues": list(r.cues),
                    "related": [[n, s] for n, s in r.related],
                    "previous": list(r.previous),
                    "glossary": list(r.glossary),
                    "frames_ms": list(r.frames_ms),
                    "frames": [at.get(t, -1) for t in r.frames_ms],
                }
                for r in records
            ],
            "of": {str(n): rec_index[r] for n, r in by_cue.items()},
        },
        "gloss": {str(i): [list(m) for m in ms] for i, ms in enumerate(marks) if ms},
        "glossary": gloss_summary,
        "thumbs": urls,
        "thumbSize": [thumbs.width, thumbs.height] if thumbs is not None else [0, 0],
        "thumbOf": [at.get(t, -1) for t in cue_times],
        "strip": [[t, at[t]] for t in strip if t in at],
        "notes": [["error" if w == missing else "warning", w] for w in warnings],
    }
    text = render_page(page, title=page["title"], version=__version__)
    if mode == "folder":
        _publish_folder(folder, files)
    elif (folder / FILES_MARKER).is_file():
        shutil.rmtree(folder, ignore_errors=True)  # an earlier run's thumbnails, now embedded
    atomic_write_text(output, text)
    flagged = sum(
        1
        for i, r in enumerate(rows)
        if r.src is None or r.tgt is None or r.timing_differs
        or (r.tgt + 1) in flags or any(not ok for _, _, ok in marks[i])
    )  # fmt: skip
    return ReviewResult(
        output=output,
        files=folder if mode == "folder" else None,
        rows=len(rows),
        source_cues=len(src.cues),
        target_cues=n_tgt,
        mismatch=mismatch,
        flagged=flagged,
        qc=qc_kind,
        encoder=None if rel is None else rel[1],
        context_log=log if records else None,
        context_batches=len(records),
        thumbnails=len(urls),
        thumbnail_mode=mode,
        video=video_src,
        page_bytes=len(text.encode("utf-8")),
        seconds=time.perf_counter() - t0,
        warnings=tuple(warnings),
    )


def _video_url(video: Path, output: Path) -> str:
    """The video's URL relative to the page (``film.mp4``, ``../films/a%20b.mp4``)."""
    try:
        rel = os.path.relpath(video.resolve(), output.parent.resolve())
    except ValueError:  # another drive (Windows): an absolute file URL
        return video.resolve().as_uri()
    return urllib.parse.quote(Path(rel).as_posix())


def _check_files_folder(folder: Path, inputs: Sequence[Path]) -> None:
    """The thumbnail folder may be replaced: it must hold no input and be one we wrote."""
    if folder.exists() and not (folder / FILES_MARKER).is_file():
        if not folder.is_dir() or any(folder.iterdir()):
            raise InputError(
                f"{folder.name} exists beside the page and was not written by vloc review; "
                "move it or choose another output name",
                path=folder,
            )
    root = folder.resolve()
    for p in inputs:
        if p.exists() and p.resolve().is_relative_to(root):
            raise InputError(f"the thumbnail folder would replace the input {p}", path=folder)


def _publish_folder(folder: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` into a new folder and swap it in for ``folder`` (never half written)."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    except OSError as e:
        raise VlocError(f"cannot write here: {e.strerror or e}", path=folder.parent) from e
    old: Path | None = None  # the previous folder, moved aside until the new one is in place
    try:
        for name, data in {**files, FILES_MARKER: b"thumbnails of a vloc review page\n"}.items():
            (tmp / name).write_bytes(data)
        os.chmod(tmp, 0o777 & ~_umask())
        if folder.exists():
            old = Path(
                tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".old", dir=folder.parent)
            )
            os.replace(folder, old / folder.name)
        os.replace(tmp, folder)
    except OSError as e:
        if old is not None and not folder.exists():
            os.replace(old / folder.name, folder)  # put the previous thumbnails back
        shutil.rmtree(tmp, ignore_errors=True)
        raise VlocError(f"cannot write the thumbnails: {e.strerror or e}", path=folder) from e
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    from vloc.fileio import _umask

    return _umask()
