"""`vloc translate --memory`: an earlier episode's approved lines reused byte for byte (exact
and fuzzy matches never reach the engine), similar pairs shown to an LLM in the stable prompt
prefix, counts reported, journals keyed on what the memory showed, memory files only read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scripted_server import ScriptedServer, batch_of
from tiny_films import film_folder, make_video
from tiny_subtitles import write_pair, write_test_manifest
from typer.testing import CliRunner

from vloc.cli.app import app
from vloc.memory.lookup import EXAMPLES_HEADER
from vloc.subtitles import read_subtitles

CUES = [
    "General Rommel arrived in Tripoli in February.",
    "Tanks were unloaded at night.",  # exact (the memory writes it "tanks were unloaded at night")
    "The Afrika Korps was small at first.",
    "Rommel's supply lines were long and the trucks needed fuel every single day.",  # fuzzy
    "",
    "Tobruk held out for months.",
    "The British fell back towards Egypt.",
]
EPISODE_1 = [
    ("tanks were unloaded at night", "坦克在夜里卸下。"),
    (
        "Rommel's supply lines were long and the trucks needed fuel every day.",
        "隆美尔的补给线很长，卡车每天都需要燃料。",
    ),  # fmt: skip
    ("General Rommel reached Tripoli.", "隆美尔将军抵达的黎波里。"),
    ("The Afrika Korps was ready.", "非洲军团准备就绪。"),
]


@pytest.fixture
def film(tmp_path: Path) -> tuple[Path, Path]:
    video = make_video(tmp_path / "desert.mp4", seconds=7.0, fps=8, size="64x48")
    blocks = [f"{i + 1}\n00:00:0{i},000 --> 00:00:0{i},900\n{t}\n" for i, t in enumerate(CUES)]
    subs = tmp_path / "desert.en.srt"
    subs.write_text("\n".join(blocks))
    return video, subs


def _argv(video, subs, srv, out, *extra):
    return ["translate", str(video), str(subs), "--to", "zh", "--engine", "openai",
            "--base-url", srv.url, "--model", "tiny", "--batch-cues", "2", "-o", str(out),
            *extra]  # fmt: skip


def test_memory_matches_are_reused_byte_for_byte_and_never_sent(film, tmp_path):
    video, subs = film
    en, zh = write_pair(tmp_path / "series", "ep1", EPISODE_1)
    before = (en.read_bytes(), zh.read_bytes())
    out = tmp_path / "desert.zh.srt"
    with ScriptedServer() as srv:
        r = CliRunner().invoke(app, [*_argv(video, subs, srv, out, "--memory", str(en)), "--json"])
        assert r.exit_code == 0, r.output
        j = json.loads(r.stdout)
        sent = [int(k) for body in srv.requests for k in batch_of(body)]
        system = srv.requests[0]["messages"][0]["content"]
        requests = len(srv.requests)
        r2 = CliRunner().invoke(app, _argv(video, subs, srv, out, "--memory", str(en)))
        assert r2.exit_code == 0, r2.output
        assert len(srv.requests) == requests  # same memory: every batch from the journal
    assert (j["memory"]["exact"], j["memory"]["fuzzy"]) == (1, 1)
    assert j["memory"]["pairs"] == 4 and j["translated"] == 4
    assert sorted(sent) == [1, 3, 6, 7]  # cues 2 and 4 come from the memory
    got = [c.text for c in read_subtitles(out).cues]
    assert got[1] == "坦克在夜里卸下。"  # exact: the memory's bytes
    assert got[3] == "隆美尔的补给线很长，\n卡车每天都需要燃料。"  # fuzzy, broken as every cue
    assert got[3].replace("\n", "") == EPISODE_1[1][1]
    assert EXAMPLES_HEADER in system and "隆美尔将军抵达的黎波里。" in system
    assert "memory: 1 exact, 1 fuzzy" in r2.stdout
    assert (en.read_bytes(), zh.read_bytes()) == before  # memory files are only read


@pytest.mark.parametrize(
    ("context", "examples", "retranslated"),
    [("none", 0, 0), ("window", 0, 2), ("none", 600, 4)],
)
def test_a_changed_memory_retranslates_only_what_it_reaches(
    film, tmp_path, context, examples, retranslated
):
    """A revised memory translation re-translates only the batches whose prompt showed it:
    none without context or examples; with --context window the batch whose previous lines
    hold the cue (batches [1, 3] and [6, 7]: the second); with examples in the stable prefix,
    every batch."""
    video, subs = film
    en, zh = write_pair(tmp_path / "series", "ep1", EPISODE_1)
    out = tmp_path / "desert.zh.srt"
    argv = ["--memory", str(en), "--context", context, "--memory-examples", str(examples)]
    with ScriptedServer() as srv:
        r = CliRunner().invoke(app, _argv(video, subs, srv, out, *argv))
        assert r.exit_code == 0, r.output
        first = len(srv.requests)
        system = srv.requests[0]["messages"][0]["content"]
        # the exact match's approved translation is revised
        write_pair(tmp_path / "series", "ep1", [("tanks were unloaded at night", "坦克夜间卸货。"),
                                                *EPISODE_1[1:]])  # fmt: skip
        r = CliRunner().invoke(app, [*_argv(video, subs, srv, out, *argv), "--json"])
        assert r.exit_code == 0, r.output
        j = json.loads(r.stdout)
    assert read_subtitles(out).cues[1].text == "坦克夜间卸货。"
    assert (EXAMPLES_HEADER in system) == (examples > 0)
    assert (j["translated"], j["reused"]) == (retranslated, 4 - retranslated)
    assert len(srv.requests) - first == j["batches"]


@pytest.mark.parametrize("case", ["not-xml", "no-overlap", "missing"])
def test_bad_memory_fails_before_translating(film, tmp_path, case):
    video, subs = film
    if case == "not-xml":
        mem = tmp_path / "series.tmx"
        mem.write_text("plain text, not XML")
        named = "series.tmx"
    elif case == "no-overlap":
        mem, _ = write_pair(tmp_path / "series", "ep1", EPISODE_1, shift_ms=3_600_000)
        named = "ep1"
    else:
        mem = tmp_path / "nowhere.tmx"
        named = "nowhere.tmx"
    out = tmp_path / "desert.zh.srt"
    with ScriptedServer() as srv:
        r = CliRunner().invoke(app, _argv(video, subs, srv, out, "--memory", str(mem)))
        assert not srv.requests
    assert r.exit_code == 1, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and named in lines[0], lines
    assert not out.exists()


def test_own_model_reuses_memory_matches_and_decodes_the_rest(tmp_path):
    """vloc's own translator (a tiny random-weight text-only model): the memory's line comes
    out byte for byte inside the cue's own tags; the model decodes only the other cues."""
    from tiny_models import build_tiny_sentence_model, build_tiny_translator
    from tiny_subtitles import EN

    encoder = build_tiny_sentence_model(tmp_path / "enc")
    model = build_tiny_translator(tmp_path / "model", variant="text-only", encoder=encoder)
    video = make_video(tmp_path / "film.mp4", seconds=3.0, fps=8, size="64x48")
    subs = tmp_path / "film.en.srt"
    subs.write_text(
        "1\n00:00:00,000 --> 00:00:00,900\n<i>Every spring\nthe snow melts.</i>\n\n"
        + "".join(
            f"{i}\n00:00:0{i - 1},000 --> 00:00:0{i - 1},900\n{t}\n\n"
            for i, t in enumerate(EN[2:], start=2)
        )  # fmt: skip
    )
    mem, _ = write_pair(
        tmp_path / "series", "ep1", [("Every spring the snow melts.", "每年春天积雪融化。")]
    )
    argv = ["translate", str(video), str(subs), "--to", "zh", "--model", str(model),
            "--memory", str(mem), "--workdir", str(tmp_path / "ws"), "--json"]  # fmt: skip
    r = CliRunner().invoke(app, argv)
    assert r.exit_code == 0, r.output
    j = json.loads(r.stdout)
    assert (j["memory"]["exact"], j["memory"]["fuzzy"], j["translated"]) == (1, 0, 3)
    out = read_subtitles(tmp_path / "film.zh.srt")
    assert out.cues[0].text == "<i>每年春天积雪融化。</i>"
    assert all(c.text and "每年春天积雪融化" not in c.text for c in out.cues[1:])


def test_eval_translate_with_memory_scores_the_memory_translation(tmp_path):
    """``vloc eval translate --memory``: each film's matched lines are scored as the memory
    translated them and never sent; the memory's counts are in the row."""
    from vloc.engines import EngineOptions, OpenAISettings
    from vloc.engines.evaluate import evaluate_engine

    manifest = write_test_manifest(tmp_path / "m.jsonl", CUES)  # two films of CUES, 参考0 ...
    mem, _ = write_pair(tmp_path / "series", "ep1", EPISODE_1)
    with ScriptedServer() as srv:
        opts = EngineOptions(OpenAISettings(base_url=srv.url, model="tiny"), batch_cues=3)
        name, _, details = evaluate_engine(
            opts, manifest, journal_dir=tmp_path / "j", memory=[str(mem)]
        )
        sent = [v for body in srv.requests for v in batch_of(body).values()]
    assert name.endswith(":memory") and details["memory"] == {"exact": 2, "fuzzy": 2}
    assert details["hyps"][1] == details["hyps"][7] == "坦克在夜里卸下。"
    assert "Tanks were unloaded at night." not in sent and len(sent) == 8
    assert details["lost_or_merged"] == 0


def test_batch_translate_tasks_use_the_memory(film, tmp_path):
    src = film_folder(tmp_path / "films", *film, ("ep2", "ep3"))
    mem, _ = write_pair(tmp_path / "series", "ep1", EPISODE_1)
    out = tmp_path / "out"
    with ScriptedServer() as srv:
        r = CliRunner().invoke(app, ["batch", str(src), "--tasks", "translate:zh", "--out",
                                     str(out), "--engine", "openai", "--base-url", srv.url,
                                     "--model", "tiny", "--memory", str(mem), "--json"])  # fmt: skip
        sent = [v for body in srv.requests for v in batch_of(body).values()]
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["summary"]["failed"] == 0
    for name in ("ep2", "ep3"):
        assert read_subtitles(out / name / f"{name}.zh.srt").cues[1].text == "坦克在夜里卸下。"
    assert len(sent) == 8 and CUES[1] not in sent


def test_output_never_replaces_the_memory_partner(film, tmp_path):
    """-o naming the translation file of the memory's subtitle pair (given by its source
    file only) is refused; the memory stays as it was."""
    video, subs = film
    en, zh = write_pair(tmp_path / "series", "ep1", EPISODE_1)
    before = zh.read_bytes()
    with ScriptedServer() as srv:
        r = CliRunner().invoke(app, _argv(video, subs, srv, zh, "--memory", str(en)))
    assert r.exit_code == 1 and "would overwrite the input" in r.stderr, r.output
    assert zh.read_bytes() == before


def test_default_example_budget_is_the_memorys():
    import inspect

    from vloc.cli.translate import translate
    from vloc.memory.lookup import EXAMPLE_TOKENS
    from vloc.pipeline import TranslateOptions

    assert TranslateOptions(to="zh").memory_examples == EXAMPLE_TOKENS
    flag = inspect.signature(translate).parameters["memory_examples"].default
    assert flag.default == EXAMPLE_TOKENS


def test_memory_pairs_reach_chat_and_few_shot_prompts():
    """A chat model sees the pairs in its system prompt; a base model (line-by-line few-shot
    mode of --engine gguf) among its example pairs."""
    from vloc.engines.base import BatchRequest, Line
    from vloc.engines.prompts import few_shot_prefix, language_name, system_prompt

    req = BatchRequest(
        cues=(Line(1, "Fire!"),), source_lang="en", target_lang="zh",
        examples=(("Fire at will!", "自由开火！"),),
    )  # fmt: skip
    system = system_prompt(req)
    assert f"{EXAMPLES_HEADER}\n- Fire at will!\n    -> 自由开火！" in system
    src, tgt = language_name("en"), language_name("zh")
    assert f"{src}: Fire at will!\n{tgt}: 自由开火！\n" in few_shot_prefix(req)
    bare = BatchRequest(cues=req.cues, source_lang="en", target_lang="zh")
    assert EXAMPLES_HEADER not in system_prompt(bare) and "自由开火" not in few_shot_prefix(bare)
