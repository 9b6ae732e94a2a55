"""The batch runner: per-video isolation, reports, executors (tasks injected here)."""

from __future__ import annotations

import json

import pytest

from vloc.batch import BatchOptions, TaskSpec, VideoJob, run_batch, run_job
from vloc.errors import InputError, MediaError, VlocError
from vloc.fileio import atomic_write_text


def copy_task(job, task, job_dir, options):
    """A real task: copy the video's bytes reversed into the job folder (fails on missing input)."""
    if not job.video.exists():
        raise MediaError("no such file", path=job.video)
    out = job_dir / "reversed.bin"
    job_dir.mkdir(parents=True, exist_ok=True)
    out.write_bytes(job.video.read_bytes()[::-1])
    return [out]


def crash_task(job, task, job_dir, options):
    return [job_dir / "x"] if job.name != "bad" else 1 / 0


REGISTRY = {"features": copy_task, "index": crash_task}


def jobs_in(tmp_path, names):
    jobs = []
    for n in names:
        v = tmp_path / "in" / f"{n}.mp4"
        if n != "missing":
            v.parent.mkdir(exist_ok=True)
            v.write_bytes(n.encode())
        jobs.append(VideoJob(name=n, video=v))
    return jobs


def test_one_failure_does_not_stop_the_others(tmp_path):
    jobs = jobs_in(tmp_path, ["a", "missing", "bad", "c"])
    out = tmp_path / "out"
    tasks = [TaskSpec("features"), TaskSpec("index")]
    results = [run_job(j, tasks, out, BatchOptions(), REGISTRY) for j in jobs]
    status = {r.name: (r.status, r.error) for r in results}
    assert status["a"] == ("ok", None) and status["c"] == ("ok", None)
    assert status["missing"][0] == "failed" and "missing.mp4: no such file" in status["missing"][1]
    assert status["missing"][1].startswith("features: ")
    assert status["bad"] == ("failed", "index: unexpected ZeroDivisionError: division by zero")
    assert (out / "a" / "reversed.bin").read_bytes() == b"a"
    assert results[0].outputs["features"] == ["a/reversed.bin"]


def test_report_is_written_and_counts(tmp_path, monkeypatch):
    import vloc.batch.run as batch

    monkeypatch.setattr(batch, "TASKS", REGISTRY)
    seen = []
    report = run_batch(
        jobs_in(tmp_path, ["a", "missing"]),
        [TaskSpec("features")],
        tmp_path / "out",
        source="folder",
        on_result=lambda r, done, total: seen.append((r.name, done, total)),
    )
    assert seen == [("a", 1, 2), ("missing", 2, 2)]
    on_disk = json.loads((tmp_path / "out" / "report.json").read_text())
    assert on_disk == report
    assert report["summary"] == {"videos": 2, "ok": 1, "skipped": 0, "failed": 1}
    assert [v["status"] for v in report["videos"]] == ["ok", "failed"]


def test_unknown_executor(tmp_path):
    with pytest.raises(InputError, match="unknown executor"):
        run_batch(
            jobs_in(tmp_path, ["a"]), [TaskSpec("features")], tmp_path / "o", executor="slurm"
        )


def test_atomic_report_write_keeps_previous_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "report.json"
    atomic_write_text(path, "{}\n")
    import vloc.fileio as fileio

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileio.os, "fsync", boom)
    with pytest.raises(Exception, match="No space left"):
        atomic_write_text(path, '{"new": 1}\n')
    assert path.read_text() == "{}\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


@pytest.mark.parametrize(
    ("names", "report", "message"),
    [
        (["film", "Film"], None, "same folder as the output of"),
        (["caf\u00e9", "cafe\u0301"], None, "same folder as the output of"),
        (["a", "Report.json"], None, "same folder as the batch file 'report.json'"),
        (["a", "summary.json"], "out/summary.json", "the batch file 'summary.json'"),
        (["a", ".."], None, "not a folder name"),
    ],
)
def test_jobs_sharing_an_output_folder_are_refused_before_any_work(
    tmp_path, names, report, message
):
    with pytest.raises(InputError, match=message):
        run_batch(
            jobs_in(tmp_path, names),
            [TaskSpec("features")],
            tmp_path / "out",
            report_path=tmp_path / report if report else None,
        )
    assert not (tmp_path / "out").exists()


def test_a_report_elsewhere_leaves_its_name_free(tmp_path, monkeypatch):
    import vloc.batch.run as batch

    monkeypatch.setattr(batch, "TASKS", REGISTRY)
    report = run_batch(
        jobs_in(tmp_path, ["summary.json"]),
        [TaskSpec("features")],
        tmp_path / "out",
        report_path=tmp_path / "summary.json",
    )
    assert report["summary"]["ok"] == 1
    assert (tmp_path / "out" / "summary.json" / "reversed.bin").read_bytes() == b"summary.json"[
        ::-1
    ]


def test_results_are_kept_by_job_position(tmp_path, monkeypatch):
    """Results arriving out of order land in their job's row; a result reported twice or a
    missing one is an internal error, never a report with fewer rows than videos."""
    import vloc.batch.run as batch
    import vloc.ray_executor as ray_executor

    monkeypatch.setattr(batch, "TASKS", REGISTRY)
    jobs = jobs_in(tmp_path, ["a", "b", "c"])

    def reversed_order(jobs, tasks, out_root, options, **kw):
        for i in reversed(range(len(jobs))):
            yield i, run_job(jobs[i], tasks, out_root, options)

    monkeypatch.setattr(ray_executor, "run_on_ray", reversed_order)
    rep = run_batch(jobs, [TaskSpec("features")], tmp_path / "out", executor="ray")
    assert [v["name"] for v in rep["videos"]] == ["a", "b", "c"]
    assert rep["summary"] == {"videos": 3, "ok": 3, "skipped": 0, "failed": 0}

    def twice(jobs, tasks, out_root, options, **kw):
        yield 0, run_job(jobs[0], tasks, out_root, options)
        yield 0, run_job(jobs[0], tasks, out_root, options)

    monkeypatch.setattr(ray_executor, "run_on_ray", twice)
    with pytest.raises(VlocError, match="internal error"):
        run_batch(jobs, [TaskSpec("features")], tmp_path / "o2", executor="ray")

    def one_short(jobs, tasks, out_root, options, **kw):
        yield 0, run_job(jobs[0], tasks, out_root, options)

    monkeypatch.setattr(ray_executor, "run_on_ray", one_short)
    with pytest.raises(VlocError, match="internal error: 1 results and 3 report entries"):
        run_batch(jobs, [TaskSpec("features")], tmp_path / "o3", executor="ray")


def test_options_hold_each_tasks_options_and_pickle_for_ray():
    """BatchOptions is each task's own options (the video's fields filled in per task); the Ray
    executor pickles it, and asks for a GPU when any task runs on cuda."""
    import pickle
    from dataclasses import replace

    from vloc.engines import EngineOptions, OpenAISettings
    from vloc.features.options import FeatureOptions
    from vloc.pipeline import TranslateOptions
    from vloc.summarizer.summarize import SummarizeOptions

    engine = EngineOptions(OpenAISettings(base_url="http://127.0.0.1:9/v1", model="m"), lag=2)
    opts = BatchOptions(
        features=FeatureOptions(backbone="x3d_m", weights="random", seed=0),
        translate=TranslateOptions(to="", decoder=engine, memory=("ep1.en.srt",)),
        summarize=SummarizeOptions(model="synth", strict=True),
        encoder="enc",
    )
    again = pickle.loads(pickle.dumps(opts))
    assert again == opts and again.translate.decoder.backend.model == "m"
    assert BatchOptions().features == FeatureOptions() and BatchOptions().summarize.backbone is None
    assert (opts.device, replace(opts, summarize=SummarizeOptions(device="cuda")).device) == (
        "cpu",
        "cuda",
    )
