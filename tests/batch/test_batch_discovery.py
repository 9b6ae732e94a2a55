"""Batch inputs: folder pairing, manifests, task lists, unique safe names."""

from __future__ import annotations

import json

import pytest

from vloc.batch import TaskSpec, discover, parse_tasks, reserved_names
from vloc.errors import InputError


def touch(path, text="x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_folder_pairs_videos_with_subtitles(tmp_path):
    touch(tmp_path / "film.mp4")
    touch(tmp_path / "film.en.srt")
    touch(tmp_path / "other film.mkv")
    touch(tmp_path / "other film.vtt")
    touch(tmp_path / "lonely.webm")
    touch(tmp_path / "notes.txt")
    jobs = {j.video.name: j for j in discover(tmp_path)}
    assert set(jobs) == {"film.mp4", "other film.mkv", "lonely.webm"}
    assert jobs["film.mp4"].subs.name == "film.en.srt" and jobs["film.mp4"].lang == "en"
    assert (
        jobs["other film.mkv"].subs.name == "other film.vtt" and jobs["other film.mkv"].lang is None
    )
    assert jobs["other film.mkv"].name == "other_film"
    assert jobs["lonely.webm"].subs is None


def test_folder_with_two_subtitle_candidates_is_ambiguous(tmp_path):
    touch(tmp_path / "film.mp4")
    touch(tmp_path / "film.en.srt")
    touch(tmp_path / "film.fr.srt")
    with pytest.raises(InputError, match="several subtitle files"):
        discover(tmp_path)


def test_manifests_resolve_relative_paths(tmp_path):
    touch(tmp_path / "media" / "a.mp4")
    (tmp_path / "m.csv").write_text("video,subs\nmedia/a.mp4,media/a.pt.srt\nmedia/a.mp4,\n")
    jobs = discover(tmp_path / "m.csv")
    assert [j.name for j in jobs] == ["a", "a-2"], "duplicate names are made unique"
    assert jobs[0].video == tmp_path / "media" / "a.mp4"
    assert jobs[0].subs == tmp_path / "media" / "a.pt.srt" and jobs[0].lang == "pt"
    assert jobs[1].subs is None
    lines = [
        json.dumps({"video": "/abs/-dash ü.mp4", "name": "-dash ü"}),
        "",
        json.dumps({"video": "b.mp4"}),
    ]
    (tmp_path / "m.jsonl").write_text("\n".join(lines))
    jobs = discover(tmp_path / "m.jsonl")
    assert jobs[0].name == "dash_ü" and str(jobs[0].video) == "/abs/-dash ü.mp4"
    assert jobs[1].video == tmp_path / "b.mp4"


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ("{not json", ".jsonl", "line 1: not valid JSON"),
        ("[1, 2]", ".jsonl", "expected a JSON object"),
        ("subs\nx.srt\n", ".csv", "'video' field"),
        ("video\n", ".txt", ".csv or .jsonl"),
    ],
)
def test_bad_manifests(tmp_path, content, suffix, message):
    path = tmp_path / f"m{suffix}"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as e:
        discover(path)
    assert str(path) in str(e.value) or "no videos" in str(e.value)


def test_missing_or_empty_source(tmp_path):
    with pytest.raises(InputError, match="no such folder"):
        discover(tmp_path / "nope")
    with pytest.raises(InputError, match="no videos found"):
        discover(tmp_path)


def test_parse_tasks():
    assert parse_tasks("features, index,translate:zh,summarize:en") == [
        TaskSpec("features"),
        TaskSpec("index"),
        TaskSpec("translate", "zh"),
        TaskSpec("summarize", "en"),
    ]
    for bad, msg in [
        ("features,dance", "unknown task 'dance'"),
        ("translate", "needs a target language"),
        ("index:zh", "takes no argument"),
        ("index,index", "listed twice"),
        (" , ", "empty"),
    ]:
        with pytest.raises(InputError, match=msg):
            parse_tasks(bad)


def test_folder_names_never_collide_with_an_existing_suffix(tmp_path):
    """``film-2.mp4`` keeps its own name; the second ``film`` takes the next free one."""
    for n in ("film.mp4", "film.mkv", "film-2.mp4"):
        touch(tmp_path / n)
    jobs = discover(tmp_path)
    names = {j.video.name: j.name for j in jobs}
    assert names == {"film-2.mp4": "film-2", "film.mkv": "film", "film.mp4": "film-3"}
    # a re-run (resume) gives every video the same name
    assert [(j.name, j.video) for j in discover(tmp_path)] == [(j.name, j.video) for j in jobs]


def test_manifest_names_never_collide_with_an_explicit_one(tmp_path):
    (tmp_path / "m.csv").write_text("video,name\nx.mp4,a\ny.mp4,a\nz.mp4,a-2\nw.mp4,a\n")
    jobs = discover(tmp_path / "m.csv")
    assert [(j.video.name, j.name) for j in jobs] == [
        ("x.mp4", "a"),
        ("y.mp4", "a-3"),
        ("z.mp4", "a-2"),
        ("w.mp4", "a-4"),
    ]


def test_names_are_unique_case_insensitively(tmp_path):
    for n in ("Film.mp4", "film.mkv", "FILM-2.webm"):
        touch(tmp_path / n)
    names = {j.video.name: j.name for j in discover(tmp_path)}
    # sorted file names: "FILM-2.webm" < "Film.mp4" < "film.mkv"
    assert names == {"FILM-2.webm": "FILM-2", "Film.mp4": "Film", "film.mkv": "film-3"}
    # Unicode normalisation forms are one name too (macOS file names are decomposed, NFD);
    # names are given in NFC, so the accent survives sanitising
    rows = [{"video": "a.mp4", "name": "caf\u00e9"}, {"video": "b.mp4", "name": "CAFE\u0301"}]
    (tmp_path / "m.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    assert [j.name for j in discover(tmp_path / "m.jsonl")] == ["caf\u00e9", "CAF\u00c9-2"]


def test_no_video_takes_the_report_file_name(tmp_path):
    """The report is OUT/report.json: ``report.mp4`` writes to OUT/report/ (no clash), while a
    video whose name would be ``report.json`` (any case) must not become that folder."""
    for n in ("report.mp4", "report.json.mp4", "Report.JSON.mkv"):
        touch(tmp_path / n)
    names = {j.video.name: j.name for j in discover(tmp_path)}
    assert names == {
        "Report.JSON.mkv": "Report.JSON-2",
        "report.json.mp4": "report.json-3",
        "report.mp4": "report",
    }
    (tmp_path / "m.csv").write_text("video,name\nv.mp4,report.json\nw.mp4,summary.json\n")
    assert [j.name for j in discover(tmp_path / "m.csv")] == ["report.json-2", "summary.json"]


def test_a_custom_report_in_out_reserves_its_name(tmp_path):
    out = tmp_path / "out"
    assert reserved_names(out) == ("report.json",)
    assert reserved_names(out, tmp_path / "elsewhere.json") == ("report.json",)
    assert reserved_names(out, out / "summary.json") == ("report.json", "summary.json")
    (tmp_path / "m.csv").write_text("video,name\nv.mp4,Summary.json\n")
    jobs = discover(tmp_path / "m.csv", reserved_names(out, out / "summary.json"))
    assert [j.name for j in jobs] == ["Summary.json-2"]
