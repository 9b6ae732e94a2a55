"""``vloc glossary mine`` and ``vloc glossary check``: terms mined from earlier human
translations (subtitle pairs aligned by timing, manifests), checked in a finished one."""

from __future__ import annotations

import json

import pytest
from tiny_subtitles import EPISODE, write_pair
from typer.testing import CliRunner

from vloc.cli.app import app
from vloc.glossary.check import check_glossary
from vloc.glossary.file import read_glossary
from vloc.glossary.mine import mine_glossary, mine_terms
from vloc.memory import MemoryPair


# an episode: (English, Chinese) cue pairs; the names Rommel and Tobruk recur with one
# rendering, "Over" opens sentences only, the common lines hold neither
def test_mined_terms_are_recurring_names_with_one_rendering():
    pairs = [MemoryPair(s, t, "ep1", "ep1.en.srt", str(i)) for i, (s, t) in enumerate(EPISODE)]
    terms = {t.source: t for t in mine_terms(pairs)}
    assert set(terms) == {"Rommel", "Tobruk"}  # "Over" opens sentences, "over" is common
    assert terms["Rommel"].target == "隆美尔" and terms["Tobruk"].target == "托布鲁克"
    assert (terms["Rommel"].lines, terms["Rommel"].rendered, terms["Rommel"].films) == (4, 4, 1)
    assert "Rommel" in terms["Rommel"].example_source
    assert "隆美尔" in terms["Rommel"].example_target


def test_a_name_rendered_two_ways_is_not_mined():
    rows = [(s, t.replace("隆美尔", "隆梅尔", 1) if i in (3, 6) else t)
            for i, (s, t) in enumerate(EPISODE)]  # fmt: skip
    pairs = [MemoryPair(s, t, "ep1", "x", str(i)) for i, (s, t) in enumerate(rows)]
    assert [t.source for t in mine_terms(pairs)] == ["Tobruk"]  # 隆美尔 in 2 of 4 lines


def test_mine_from_subtitle_pairs_writes_a_reviewable_glossary(tmp_path):
    write_pair(tmp_path / "series", "ep1", EPISODE[:8], shift_ms=40)
    write_pair(tmp_path / "series", "ep2", EPISODE[8:])
    out = tmp_path / "terms.tsv"
    res = mine_glossary(
        [tmp_path / "series"], out, source_lang="en", target_lang="zh"
    )  # the folder: both pairs, aligned by timing despite the 40 ms shift
    assert (res.pairs, res.films) == (16, 2)
    assert [(t.source, t.target, t.films) for t in res.terms] == [
        ("Rommel", "隆美尔", 2),
        ("Tobruk", "托布鲁克", 2),
    ]
    text = out.read_text(encoding="utf-8")
    assert "# 4 lines in 2 films, 100% rendered so; e.g. 'General Rommel" in text
    assert [(t.source, t.target) for t in read_glossary(out)] == [
        ("Rommel", "隆美尔"),
        ("Tobruk", "托布鲁克"),
    ]


def test_check_counts_hits_and_misses_per_term(tmp_path):
    rows = list(EPISODE)
    rows[3] = ("Rommel wanted Tobruk.", "隆梅尔想要托布鲁克。")  # a miss of Rommel at cue 4
    _, zh = write_pair(tmp_path, "ep3", rows)
    glossary = tmp_path / "terms.tsv"
    glossary.write_text("source\ttarget\nRommel\t隆美尔\nTobruk\t托布鲁克\nMontgomery\t蒙哥马利\n")
    res = check_glossary([zh], glossary)  # languages from the file names
    assert (res.source_lang, res.target_lang, res.pairs) == ("en", "zh", 16)
    got = {t.source: (t.lines, t.hits, t.misses) for t in res.terms}
    assert got == {
        "Rommel": (4, 3, ["cue 4"]),
        "Tobruk": (3, 3, []),
        "Montgomery": (0, 0, []),
    }
    assert res.summary().startswith("2 of 3 terms occur in 16 lines; 6 of their 7 lines")


def test_cli_mine_then_check(tmp_path):
    en, zh = write_pair(tmp_path / "eps", "ep1", EPISODE)
    out = tmp_path / "terms.tsv"
    runner = CliRunner()
    res = runner.invoke(app, ["glossary", "mine", str(en), "--to", "zh", "-o", str(out), "--json"])
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout)
    assert obj["ok"] and [t["source"] for t in obj["terms"]] == ["Rommel", "Tobruk"]
    assert obj["terms"][0]["example_source"] == "General Rommel landed in Tripoli."
    res = runner.invoke(app, ["glossary", "check", str(zh), "--glossary", str(out), "--json"])
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout)
    assert (obj["terms_found"], obj["lines"], obj["hits"]) == (2, 7, 7)
    res = runner.invoke(app, ["glossary", "check", str(zh), "--glossary", str(out)])
    assert res.exit_code == 0 and "Rommel" in res.stdout and "7 of their 7 lines" in res.stdout


@pytest.mark.parametrize(
    "case",
    ["missing-glossary", "bad-glossary", "no-partner", "no-overlap"],
)
def test_bad_input_is_one_line(tmp_path, case):
    en, zh = write_pair(tmp_path, "ep1", EPISODE)
    glossary = tmp_path / "terms.tsv"
    glossary.write_text("source\ttarget\nRommel\t隆美尔\n")
    if case == "missing-glossary":
        glossary = tmp_path / "none.tsv"
        named = "none.tsv"
    elif case == "bad-glossary":
        glossary.write_text("source\ttarget\nRommel only\n")
        named = "terms.tsv"
    elif case == "no-partner":
        en.unlink()
        named = "ep1.zh.srt"
    else:
        write_pair(tmp_path, "ep1", EPISODE, shift_ms=3_600_000)  # an hour apart: no link
        named = "ep1"
    args = ["glossary", "check", str(zh), "--glossary", str(glossary)]
    if case == "no-partner":
        args += ["--from", "en"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 1, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and named in lines[0], lines
    assert "Traceback" not in res.output


def test_cli_mine_bad_input_writes_nothing(tmp_path):
    bad = tmp_path / "memory.tmx"
    bad.write_text("this is not xml <", encoding="utf-8")
    out = tmp_path / "terms.tsv"
    res = CliRunner().invoke(
        app, ["glossary", "mine", str(bad), "--from", "en", "--to", "zh", "-o", str(out)]
    )
    assert res.exit_code == 1
    line = res.stderr.strip()
    assert line.startswith("error:") and "memory.tmx" in line and "\n" not in line
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]


def test_mined_from_real_documentaries(shared_data, tmp_path):
    """The TopicVD validation films (English → Chinese, human subtitles): names mined from
    a manifest of real documentaries come with the rendering their translators used."""
    from vloc.translator.topicvd import import_topicvd

    data = shared_data / "topicvd-valid"
    if not (data / "valid.en").is_file():
        pytest.skip(f"TopicVD data not found: {data}")
    manifest = tmp_path / "topicvd.jsonl"
    import_topicvd(data, manifest)
    res = mine_glossary([manifest], tmp_path / "terms.tsv", source_lang="en", target_lang="zh")
    mined = {t.source: t.target for t in res.terms}
    assert res.films == 18 and len(mined) > 100
    assert (mined["Rommel"], mined["Stalingrad"], mined["Armstrong"]) == ("隆美尔", "斯大林格勒",
                                                                        "阿姆斯特朗")  # fmt: skip
    assert not {"Over", "Really", "Back", "The"} & set(mined)
    assert all(t.rendered >= 0.8 * t.lines and t.lines >= 3 for t in res.terms)


def test_dominant_rendering_rules():
    from vloc.glossary.terms import dominant_rendering

    around = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥天地玄黄宇宙洪"
    hitler = [f"{a}希特勒{b}" for a, b in zip(around, around[::-1], strict=True)] + ["什特勒已死"]
    assert dominant_rendering(hitler, cjk=True) == ("希特勒", 29)
    assert dominant_rendering(["在巴黎", "在巴黎的夜"], cjk=True)[0] == "巴黎"
    assert dominant_rendering(["鲍比·肯尼迪说", "·肯尼迪"], cjk=True)[0] == "肯尼迪"
    # a tie goes to the first appearance, the same in every process (hash seeds differ)
    assert (
        dominant_rendering(["莉斯说 短程飞行", "飞行前 莉斯", "莉斯 飞行员"], cjk=True)[0] == "莉斯"
    )
    assert dominant_rendering(["飞行 莉斯", "莉斯和飞行", "飞行员 莉斯"], cjk=True)[0] == "飞行"
    assert dominant_rendering(["General Rommel left.", "Rommel came"], cjk=False) == ("Rommel", 2)


def test_mining_is_the_same_in_every_process(tmp_path):
    """Ties between renderings go the same way whatever the process's hash seed."""
    import os
    import subprocess
    import sys

    en, _ = write_pair(tmp_path, "ep1", EPISODE)
    code = (
        "import sys; from vloc.glossary.mine import mine_glossary; "
        "from vloc.glossary.terms import dominant_rendering as d; "
        "mine_glossary([sys.argv[1]], sys.argv[2], source_lang='en', target_lang='zh'); "
        "print(d(['莉斯说 短程飞行', '飞行前 莉斯', '莉斯 飞行员'], cjk=True)[0])"
    )
    outs = set()
    for seed in ("1", "2", "3", "4", "5", "6"):
        out = tmp_path / f"t{seed}.tsv"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run(
            [sys.executable, "-c", code, str(en), str(out)],
            check=True, env=env, capture_output=True, text=True,
        )  # fmt: skip
        outs.add((run.stdout, out.read_text(encoding="utf-8")))
    assert len(outs) == 1
    ((printed, glossary),) = outs
    assert printed.strip() == "莉斯" and "Rommel\t隆美尔" in glossary
