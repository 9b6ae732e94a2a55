"""Running a batch: each video's tasks in order in its own folder, one failure never stopping
the others (:func:`run_job`), videos in this process, a process pool or on Ray, and the JSON
report rewritten after every finished video (:func:`run_batch`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path

from vloc.batch.jobs import BatchOptions, JobResult, TaskDone, TaskFn, TaskSpec, VideoJob
from vloc.batch.naming import REPORT_NAME, check_names, reserved_names
from vloc.batch.tasks import TASKS, planned_output
from vloc.errors import InputError, VlocError
from vloc.fileio import atomic_write_json
from vloc.guard import declare_inputs, declare_output, guarded, protect_inputs
from vloc.redact import redact

REPORT_VERSION = 1


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
            result.error = redact(f"{task}: unexpected {type(e).__name__}: {e}")
            return result
        finally:
            result.seconds[str(task)] = round(time.perf_counter() - t0, 3)
        done = outputs if isinstance(outputs, TaskDone) else TaskDone(list(outputs))
        result.outputs[str(task)] = [_relative(p, out_root) for p in done.paths]
        result.warnings += [redact(f"{task}: {w}") for w in done.warnings]
        if done.cached:
            result.cached.append(str(task))
    # the report lists only files that exist when the video is done (a task may replace what
    # an earlier one listed)
    result.outputs = {
        t: [p for p in paths if (out_root / p).exists()] for t, paths in result.outputs.items()
    }
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


@guarded
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
    # every video's inputs are inputs of the whole batch: no video's output may be another's
    # input, in any order of the rows (checked here, before any work)
    declare_inputs([manifest, *(p for j in jobs for p in (j.video, j.subs))], "a batch input")
    for job in jobs:
        for task in tasks:
            planned = planned_output(job, task, out_root / job.name)
            if planned is not None:
                declare_output(planned, f"output of {job.name} ({task})")
    declare_output(report_path, "report")
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
