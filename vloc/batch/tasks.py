"""The tasks of a batch (``features``, ``index``, ``translate:<lang>``, ``summarize:<lang>``),
each a call of the library function behind its ``vloc`` command.
"""

from __future__ import annotations

from pathlib import Path

from vloc.batch.jobs import BatchOptions, TaskDone, TaskFn, TaskSpec, VideoJob
from vloc.errors import InputError

# Every task writes under ``job_dir`` (= OUT/<name>) only: the video's workspace is
# ``job_dir/<video>.vloc`` (the commands' ``workdir``), other outputs go beside it. Each relies
# on its command's content-keyed cache (features, index) or journal (translate), so a re-run
# of a finished video only re-hashes its inputs.


def planned_output(job: VideoJob, task: TaskSpec, job_dir: Path) -> Path | None:
    """The file a task writes beside the workspace (translate, summarize), known before it runs;
    None for the tasks that write only into the workspace (features, index)."""
    if task.name == "translate" and job.subs is not None:
        return job_dir / f"{job.name}.{task.arg}{job.subs.suffix.lower()}"
    if task.name == "summarize":
        from vloc.summarizer.summarize import SUMMARY_SUFFIX

        return job_dir / f"{job.name}.{task.arg}{SUMMARY_SUFFIX}"
    return None


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
        backbone_path=opts.backbone_path,
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
    from vloc.pipeline import OwnModel, TranslateOptions, translate_subtitles

    subs = _need_subs(job, task)
    assert task.arg, "parse_tasks guarantees translate:<lang>"
    out = planned_output(job, task, job_dir)
    assert out is not None
    existed = out.is_file()
    res = translate_subtitles(
        job.video,
        subs,
        TranslateOptions(
            to=task.arg,
            decoder=opts.engine
            or OwnModel(
                model=opts.model,
                strict=opts.strict,
                allow_truncated=opts.allow_truncated,
                backbone_path=opts.backbone_path,
            ),
            output=out,
            encoding=opts.encoding,
            workdir=job_dir,
            device=opts.device,
            style=opts.style,
            memory=opts.memory,
        ),
    )
    # complete before this run: every cue came from the journal and the file was there
    return TaskDone([Path(res.output)], existed and res.translated == 0, tuple(res.warnings))


def _task_summarize(job: VideoJob, task: TaskSpec, job_dir: Path, opts: BatchOptions) -> TaskDone:
    from vloc.summarizer.summarize import SummarizeOptions, summarize

    subs = _need_subs(job, task)
    assert task.arg, "parse_tasks guarantees summarize:<lang>"
    out = planned_output(job, task, job_dir)
    assert out is not None
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
