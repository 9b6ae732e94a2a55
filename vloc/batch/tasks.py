"""The tasks of a batch (``features``, ``index``, ``translate:<lang>``, ``summarize:<lang>``),
each a call of the library function behind its ``vloc`` command.
"""

from __future__ import annotations

from dataclasses import replace
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
    from vloc.features import extract_features

    res = extract_features(job.video, subs=job.subs, options=opts.features, workdir=job_dir)
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
        job.video, subs, encoder=opts.encoder, encoding=opts.features.encoding, workdir=job_dir
    )
    return TaskDone(sorted(p for p in Path(res.folder).iterdir() if p.is_file()), res.cached)


def _task_translate(job: VideoJob, task: TaskSpec, job_dir: Path, opts: BatchOptions) -> TaskDone:
    from vloc.pipeline import translate_subtitles

    subs = _need_subs(job, task)
    assert task.arg, "parse_tasks guarantees translate:<lang>"
    out = planned_output(job, task, job_dir)
    assert out is not None
    existed = out.is_file()
    options = replace(opts.translate, to=task.arg, output=out, workdir=job_dir)
    res = translate_subtitles(job.video, subs, options)
    # complete before this run: every cue came from the journal and the file was there
    return TaskDone([Path(res.output)], existed and res.translated == 0, tuple(res.warnings))


def _task_summarize(job: VideoJob, task: TaskSpec, job_dir: Path, opts: BatchOptions) -> TaskDone:
    from vloc.summarizer.summarize import summarize

    subs = _need_subs(job, task)
    assert task.arg, "parse_tasks guarantees summarize:<lang>"
    out = planned_output(job, task, job_dir)
    assert out is not None
    options = replace(opts.summarize, to=task.arg, output=out, workdir=job_dir)
    res = summarize(job.video, subs, options)
    return TaskDone([Path(res.output)], warnings=tuple(res.warnings))


TASKS: dict[str, TaskFn] = {
    "features": _task_features,
    "index": _task_index,
    "translate": _task_translate,
    "summarize": _task_summarize,
}
