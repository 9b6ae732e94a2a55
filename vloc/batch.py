"""Many videos at once: discovery, per-video isolation, resumable runs, a JSON report.

``SOURCE`` is either a folder or a manifest:

* folder: every video (``.mp4 .mkv .webm .avi .mov``) paired with the subtitle file that
  shares its stem: ``film.mp4`` + ``film.en.srt`` (or ``film.srt``, ``film.en.vtt``); the
  language tag between stem and extension is kept (``en``). Videos without subtitles are
  listed too (tasks that need subtitles fail for them alone).
* manifest: CSV with a header, or JSONL, with fields ``video``, optional ``subs``, ``name``
  and ``lang``; relative paths are resolved against the manifest's folder.

Each video gets its own output folder ``OUT/<name>/``; no task writes anywhere else. One
video failing never stops the others.

Names: a manifest's ``name`` or else the video's stem, made file-system-safe. They are unique
case-insensitively (after Unicode NFC normalisation and case folding), since OUT may live on a
macOS or Windows share where ``Film`` and ``film`` are one folder, and never equal a file that
batch itself writes into OUT (the report, ``report.json``). Every video whose name is free
keeps it; the others, in discovery order (folder: sorted file names; manifest: row order), get
``-2``, ``-3``, ... the first suffix that no other name has taken. The same inputs always give
the same names, so a re-run resumes into the same folders.
"""

from __future__ import annotations

import csv
import json
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from vloc.errors import InputError, VlocError
from vloc.fileio import atomic_write_json, check_output, protect_inputs
from vloc.text import LANG_CODE
from vloc.workspace import safe_name

if TYPE_CHECKING:
    from vloc.engines.options import EngineOptions

VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v")
SUBTITLE_EXTENSIONS = (".srt", ".vtt")
KNOWN_TASKS = ("features", "index", "translate", "summarize")
TASKS_WITH_LANGUAGE = ("translate", "summarize")
REPORT_NAME = "report.json"  # the report's file name in OUT unless --report says otherwise
RESERVED_NAMES = (REPORT_NAME,)  # entries batch itself writes into OUT: no video may be named so
FIRST_SUFFIX = 2  # the first duplicate of "film" becomes "film-2"


@dataclass(frozen=True)
class VideoJob:
    """One video of a batch and where its outputs go."""

    name: str  # unique, file-system-safe; the output folder is OUT/name
    video: Path
    subs: Path | None = None
    lang: str | None = None  # source-subtitle language tag, e.g. "en" from film.en.srt


@dataclass(frozen=True)
class TaskSpec:
    """A task of the ``--tasks`` list: ``translate:zh`` is TaskSpec("translate", "zh")."""

    name: str
    arg: str | None = None

    def __str__(self) -> str:
        return f"{self.name}:{self.arg}" if self.arg else self.name


@dataclass
class JobResult:
    """What happened to one video; a row of the report."""

    name: str
    video: str
    status: str = "pending"  # "ok", "failed" or "skipped" (everything already complete)
    outputs: dict[str, list[str]] = field(default_factory=dict)  # task -> files (relative to OUT)
    seconds: dict[str, float] = field(default_factory=dict)  # task -> wall time
    cached: list[str] = field(default_factory=list)  # tasks that found their outputs complete
    error: str | None = None  # one line, with the task that failed
    warnings: list[str] = field(default_factory=list)  # "task: warning" (e.g. model coverage)


def parse_tasks(spec: str) -> list[TaskSpec]:
    """``"features,index,translate:zh"`` -> task specs, validated, in order, no duplicates."""
    tasks: list[TaskSpec] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        name, _, arg = part.partition(":")
        if name not in KNOWN_TASKS:
            raise InputError(
                f"unknown task {name!r} in --tasks: choose from {', '.join(KNOWN_TASKS)}"
            )
        if name in TASKS_WITH_LANGUAGE and not arg:
            raise InputError(f"task {name!r} needs a target language, e.g. {name}:zh")
        if name not in TASKS_WITH_LANGUAGE and arg:
            raise InputError(f"task {name!r} takes no argument (got {part!r})")
        task = TaskSpec(name, arg or None)
        if task in tasks:
            raise InputError(f"task {part!r} is listed twice in --tasks")
        tasks.append(task)
    if not tasks:
        raise InputError("--tasks is empty: give e.g. features,index,translate:zh")
    return tasks


def name_key(name: str) -> str:
    """What identifies an output name on every file system: NFC-normalised and case-folded
    (``Film`` and ``film`` are the same folder on macOS and Windows)."""
    return unicodedata.normalize("NFC", name).casefold()


def reserved_names(out_root: str | Path, report_path: str | Path | None = None) -> tuple[str, ...]:
    """The names no video may take: what batch writes into ``out_root`` besides video folders.

    Always :data:`RESERVED_NAMES` (so names do not change between runs with and without
    ``--report``), plus the report's file name when ``report_path`` lies directly in ``out_root``.
    """
    names = list(RESERVED_NAMES)
    if report_path is not None:
        report_path = Path(report_path)
        if report_path.parent.resolve() == Path(out_root).resolve():
            names.append(report_path.name)
    return tuple(dict.fromkeys(names))


def discover(source: str | Path, reserved: Sequence[str] = RESERVED_NAMES) -> list[VideoJob]:
    """The videos of a folder or a manifest (see the module docstring), with unique names.

    ``reserved``: names no video may take (see :func:`reserved_names`); compared
    case-insensitively like the names themselves.
    """
    source = Path(source)
    if source.is_dir():
        found = _scan_folder(source)
    elif source.is_file():
        found = _read_manifest(source)
    else:
        raise InputError("no such folder or manifest", path=source)
    if not found:
        raise InputError(
            "no videos found (looked for " + " ".join(VIDEO_EXTENSIONS) + ")", path=source
        )
    return _unique_names(found, reserved)


def _split_subtitle_name(path: Path) -> tuple[str, str | None]:
    """``film.en.srt`` -> ("film", "en"); ``film.srt`` -> ("film", None)."""
    stem = path.stem
    base, dot, tag = stem.rpartition(".")
    if dot and base and LANG_CODE.match(tag):
        return base, tag
    return stem, None


def _scan_folder(folder: Path) -> list[tuple[str, Path, Path | None, str | None]]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    subs_by_stem: dict[str, list[tuple[Path, str | None]]] = {}
    for p in files:
        if p.suffix.lower() in SUBTITLE_EXTENSIONS:
            base, lang = _split_subtitle_name(p)
            subs_by_stem.setdefault(base, []).append((p, lang))
    jobs = []
    for p in files:
        if p.suffix.lower() not in VIDEO_EXTENSIONS:
            continue
        candidates = subs_by_stem.get(p.stem, [])
        if len(candidates) > 1:
            names = ", ".join(c.name for c, _ in candidates)
            raise InputError(
                f"several subtitle files match this video ({names}): use a manifest to choose",
                path=p,
            )
        subs, lang = candidates[0] if candidates else (None, None)
        jobs.append((p.stem, p, subs, lang))
    return jobs


def _read_manifest(path: Path) -> list[tuple[str, Path, Path | None, str | None]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read manifest: {e}", path=path) from e
    rows: list[dict[str, str]] = []
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"line {n}: not valid JSON ({e.msg})", path=path) from e
            if not isinstance(row, dict):
                raise InputError(f"line {n}: expected a JSON object", path=path)
            rows.append(row)
    elif path.suffix.lower() == ".csv":
        rows = list(csv.DictReader(text.splitlines()))
    else:
        raise InputError("a manifest must be .csv or .jsonl", path=path)
    base = path.parent
    jobs = []
    for n, row in enumerate(rows, 1):
        video = (row.get("video") or "").strip()
        if not video:
            raise InputError(f"row {n}: the 'video' field is missing or empty", path=path)
        vpath = Path(video) if Path(video).is_absolute() else base / video
        subs = (row.get("subs") or "").strip()
        spath = None if not subs else (Path(subs) if Path(subs).is_absolute() else base / subs)
        lang = (row.get("lang") or "").strip() or (
            _split_subtitle_name(spath)[1] if spath is not None else None
        )
        name = (row.get("name") or "").strip() or vpath.stem
        jobs.append((name, vpath, spath, lang))
    return jobs


def _unique_names(
    found: list[tuple[str, Path, Path | None, str | None]], reserved: Sequence[str] = ()
) -> list[VideoJob]:
    """Safe names, unique under :func:`name_key` and distinct from ``reserved``.

    Two passes, both in ``found``'s order (deterministic, so a re-run gets the same names):
    first every video whose safe name is still free takes it, so ``film-2.mp4`` keeps
    ``film-2`` even when it comes before a second ``film``; then each remaining video takes
    ``<name>-2``, ``<name>-3``, ... the first that no explicit, reserved or already generated
    name has taken.
    """
    taken = {name_key(r) for r in reserved}
    # NFC first: safe_name drops combining accents, which macOS file names (NFD) are full of
    bases = [safe_name(unicodedata.normalize("NFC", name)) for name, *_ in found]
    names: list[str | None] = [None] * len(found)
    for i, base in enumerate(bases):
        if name_key(base) not in taken:
            taken.add(name_key(base))
            names[i] = base
    for i, base in enumerate(bases):
        if names[i] is not None:
            continue
        n = FIRST_SUFFIX
        while name_key(f"{base}-{n}") in taken:
            n += 1
        names[i] = f"{base}-{n}"
        taken.add(name_key(names[i]))
    return [
        VideoJob(name=name, video=video, subs=subs, lang=lang)
        for name, (_, video, subs, lang) in zip(names, found, strict=True)
        if name is not None
    ]


def check_names(jobs: Sequence[VideoJob], reserved: Sequence[str] = RESERVED_NAMES) -> None:
    """Raise :class:`InputError` unless every job has its own output folder in OUT.

    Two jobs whose names are equal under :func:`name_key`, or a job named like a file batch
    writes into OUT, would overwrite each other's outputs.
    """
    owner = {name_key(r): f"the batch file {r!r}" for r in reserved}
    for job in jobs:
        key = name_key(job.name)
        if key in ("", ".", "..") or "/" in key or "\\" in key:
            raise InputError(f"output name {job.name!r} is not a folder name", path=job.video)
        if key in owner:
            raise InputError(
                f"output name {job.name!r} is the same folder as {owner[key]} "
                "(names must differ case-insensitively)",
                path=job.video,
            )
        owner[key] = f"the output of {job.video}"


# --------------------------------------------------------------------------- running
REPORT_VERSION = 1


@dataclass(frozen=True)
class BatchOptions:
    """Settings passed to every task of every video (the per-command options of ``vloc``)."""

    backbone: str | None = None  # feature backbone; None: i3d_r50 for the features task, the
    # model's recorded extractor for translate/summarize
    weights: str | None = None  # backbone weights: registry name, local file, or "random"
    seed: int | None = None  # seed for --weights random
    encoder: str | None = None  # sentence encoder for the index (None: the embedded default)
    device: str = "cpu"  # "cpu" or "cuda"
    model: str | None = None  # translation / summarization model name or path
    weights_dir: str | None = None  # cache of published backbone checkpoints (None: default)
    fps: float | None = None  # feature decode rate, frames/s (None: the backbone's)
    size: int | None = None  # feature crop side in px (None: the backbone's)
    clip_len: int = 16  # frames per feature clip
    encoding: str | None = None  # subtitle encoding override (None: detect)
    width: float = 1.0  # backbone width multiplier (1.0 = the real model; tests use less)
    compile: bool = False  # torch.compile the backbone of the features task
    strict: bool = False  # translate/summarize fail when the model does not know the text
    allow_truncated: bool = False  # features of a truncated video: go on with what decodes
    engine: EngineOptions | None = None  # translate task: openai | gguf | seq2seq and context


@dataclass(frozen=True)
class TaskDone:
    """What a task returns: its output files and whether they were all already complete."""

    paths: list[Path]
    cached: bool = False
    warnings: tuple[str, ...] = ()  # what the task warned about (reported per video)


TaskFn = Callable[[VideoJob, TaskSpec, Path, BatchOptions], "TaskDone | list[Path]"]


def run_job(
    job: VideoJob,
    tasks: Sequence[TaskSpec],
    out_root: Path,
    options: BatchOptions,
    registry: Mapping[str, TaskFn] | None = None,
) -> JobResult:
    """Run every task for one video, in order, into ``out_root/job.name``; never raises.

    The first failing task ends this video's run: its error becomes the result's one-line
    ``error`` and the tasks after it are not attempted (they usually need its outputs).
    """
    registry = TASKS if registry is None else registry
    result = JobResult(name=job.name, video=str(job.video))
    job_dir = out_root / job.name
    for task in tasks:
        t0 = time.perf_counter()
        try:
            with protect_inputs([job.video, job.subs]):  # no task may write over them
                outputs = registry[task.name](job, task, job_dir, options)
        except VlocError as e:
            result.status, result.error = "failed", f"{task}: {e}"
            return result
        except Exception as e:  # isolate the video: report, go on with the others
            result.status = "failed"
            result.error = f"{task}: unexpected {type(e).__name__}: {e}"
            return result
        finally:
            result.seconds[str(task)] = round(time.perf_counter() - t0, 3)
        done = outputs if isinstance(outputs, TaskDone) else TaskDone(list(outputs))
        result.outputs[str(task)] = [_relative(p, out_root) for p in done.paths]
        result.warnings += [f"{task}: {w}" for w in done.warnings]
        if done.cached:
            result.cached.append(str(task))
    result.status = "skipped" if tasks and len(result.cached) == len(tasks) else "ok"
    return result


def _relative(path: Path, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def write_report(
    path: Path, source: str, tasks: Sequence[TaskSpec], results: Sequence[JobResult]
) -> dict:
    """Write the JSON report atomically; returns it."""
    report = {
        "version": REPORT_VERSION,
        "source": source,
        "tasks": [str(t) for t in tasks],
        "summary": {
            "videos": len(results),
            "ok": sum(r.status == "ok" for r in results),
            "skipped": sum(r.status == "skipped" for r in results),
            "failed": sum(r.status == "failed" for r in results),
        },
        "videos": [asdict(r) for r in results],
    }
    atomic_write_json(path, report)
    return report


def run_batch(
    jobs: Sequence[VideoJob],
    tasks: Sequence[TaskSpec],
    out_root: str | Path,
    *,
    options: BatchOptions = BatchOptions(),
    executor: str = "local",
    workers: int = 1,
    address: str | None = None,
    report_path: str | Path | None = None,
    source: str = "",
    on_result: Callable[[JobResult, int, int], None] | None = None,
) -> dict:
    """Run ``tasks`` on every job; the report is rewritten after each finished video.

    ``executor="local"`` runs in this process (``workers=1``) or in a pool of worker
    processes; ``executor="ray"`` sends each video to Ray as a task (see :mod:`vloc.ray_executor`).
    Jobs must have distinct output folders (:func:`check_names`; :func:`discover` makes them
    so); results are kept by job position, so the report lists every job once, in job order.
    """
    out_root = Path(out_root)
    report_path = Path(report_path) if report_path else out_root / REPORT_NAME
    if executor not in ("local", "ray"):
        raise InputError(f"unknown executor {executor!r}: use 'local' or 'ray'")
    check_names(jobs, reserved_names(out_root, report_path))
    manifest = Path(source) if source and Path(source).is_file() else None
    check_output(
        report_path, [manifest, *(p for j in jobs for p in (j.video, j.subs))], what="report"
    )
    results = [JobResult(name=j.name, video=str(j.video)) for j in jobs]  # by job position
    reported: set[int] = set()

    def finished(i: int, r: JobResult) -> None:
        if i in reported or r.name != jobs[i].name:
            raise VlocError(
                f"internal error: a result for {r.name!r} came back as job {i} "
                f"({jobs[i].name!r}) or twice"
            )
        reported.add(i)
        results[i] = r
        write_report(report_path, source, tasks, results)
        if on_result is not None:
            on_result(r, len(reported), len(jobs))

    if executor == "local" and workers <= 1:
        for i, job in enumerate(jobs):
            finished(i, run_job(job, tasks, out_root, options))
    elif executor == "local":
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            futures = {
                pool.submit(run_job, job, tasks, out_root, options): i for i, job in enumerate(jobs)
            }
            for f in as_completed(futures):
                finished(futures[f], f.result())
    else:
        from vloc.ray_executor import run_on_ray

        ray_results = run_on_ray(
            jobs, tasks, out_root, options, run=run_job, workers=workers, address=address
        )
        for i, r in ray_results:
            finished(i, r)
    report = write_report(report_path, source, tasks, results)
    if len(reported) != len(jobs) or len(report["videos"]) != len(jobs):
        raise VlocError(
            f"internal error: {len(reported)} results and {len(report['videos'])} report "
            f"entries for {len(jobs)} videos"
        )
    return report


# --------------------------------------------------------------------------- tasks
# Every task writes under ``job_dir`` (= OUT/<name>) only: the video's workspace is
# ``job_dir/<video>.vloc`` (the commands' ``workdir``), other outputs go beside it. Each relies
# on its command's content-keyed cache (features, index) or journal (translate), so a re-run
# of a finished video only re-hashes its inputs.


def _need_subs(job: VideoJob, task: TaskSpec) -> Path:
    if job.subs is None:
        raise InputError(f"task {task} needs subtitles and none were found", path=job.video)
    return job.subs


def _task_features(job: VideoJob, task: TaskSpec, job_dir: Path, opts: BatchOptions) -> TaskDone:
    from vloc.backbones import DEFAULT_BACKBONE
    from vloc.features import FeatureOptions, extract_features

    fo = FeatureOptions(
        backbone=opts.backbone or DEFAULT_BACKBONE,
        weights=opts.weights,
        seed=opts.seed,
        weights_dir=opts.weights_dir,
        fps=opts.fps,
        clip_len=opts.clip_len,
        size=opts.size,
        device=opts.device,
        encoding=opts.encoding,
        width=opts.width,
        compile=opts.compile,
        allow_truncated=opts.allow_truncated,
    )
    res = extract_features(job.video, subs=job.subs, options=fo, workdir=job_dir)
    files: list[Path] = []
    for path in res.outputs.values():
        files.append(Path(path))
        meta = Path(path).with_suffix(".json")
        if meta.exists():
            files.append(meta)
    return TaskDone(files, res.cache_hit, tuple(res.warnings))


def _task_index(job: VideoJob, task: TaskSpec, job_dir: Path, opts: BatchOptions) -> TaskDone:
    from vloc.index import build_index

    subs = _need_subs(job, task)
    res = build_index(
        job.video, subs, encoder=opts.encoder, encoding=opts.encoding, workdir=job_dir
    )
    return TaskDone(sorted(p for p in Path(res.folder).iterdir() if p.is_file()), res.cached)


def _task_translate(job: VideoJob, task: TaskSpec, job_dir: Path, opts: BatchOptions) -> TaskDone:
    from vloc.translator.translate import TranslateOptions, translate_subtitles

    subs = _need_subs(job, task)
    assert task.arg, "parse_tasks guarantees translate:<lang>"
    out = job_dir / f"{job.name}.{task.arg}{subs.suffix.lower()}"
    existed = out.is_file()
    res = translate_subtitles(
        job.video,
        subs,
        TranslateOptions(
            to=task.arg,
            model=opts.model,
            output=out,
            encoding=opts.encoding,
            workdir=job_dir,
            device=opts.device,
            strict=opts.strict,
            allow_truncated=opts.allow_truncated,
            engine=opts.engine,
        ),
    )
    # complete before this run: every cue came from the journal and the file was there
    return TaskDone([Path(res.output)], existed and res.translated == 0, tuple(res.warnings))


def _task_summarize(job: VideoJob, task: TaskSpec, job_dir: Path, opts: BatchOptions) -> TaskDone:
    from vloc.summarizer.summarize import SUMMARY_SUFFIX, SummarizeOptions, summarize

    subs = _need_subs(job, task)
    assert task.arg, "parse_tasks guarantees summarize:<lang>"
    out = job_dir / f"{job.name}.{task.arg}{SUMMARY_SUFFIX}"
    so = SummarizeOptions(
        to=task.arg,
        model=opts.model,
        output=out,
        workdir=job_dir,
        device=opts.device,
        backbone=opts.backbone,
        weights=opts.weights,
        weights_dir=opts.weights_dir,
        encoding=opts.encoding,
        strict=opts.strict,
        allow_truncated=opts.allow_truncated,
    )
    res = summarize(job.video, subs, so)
    return TaskDone([Path(res.output)], warnings=tuple(res.warnings))


TASKS: dict[str, TaskFn] = {
    "features": _task_features,
    "index": _task_index,
    "translate": _task_translate,
    "summarize": _task_summarize,
}
