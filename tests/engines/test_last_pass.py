"""The last pass over a film: words a translation into another script leaves in English are
asked phrase by phrase, and lines still over their budget are rewritten shorter — checked,
journaled and put in place, against a scripted OpenAI-compatible server."""

from __future__ import annotations

import json
import re

import pytest
from scripted_server import MemoryJournal, ScriptedServer, batch_of

from vloc.engines import EngineOptions, OpenAISettings, open_engine
from vloc.engines.last_pass import (
    check_answer,
    check_shortened,
    leftovers,
    replace_leftovers,
)
from vloc.engines.replies import ReplyError
from vloc.engines.runner import EngineRunner, FilmText
from vloc.glossary.file import GlossaryTerm

TEXTS = ["They called a briefing.", "The tanks rolled in.", "I learned I was alive."]
FIRST = {"1": "他们召集了 briefing 会议", "2": "坦克开进来了", "3": "I learned I was alive"}


def is_leftover_request(body) -> bool:
    return "words of a film's subtitle" in body["messages"][0]["content"]


def server_script(answers: dict[str, str]):
    """Batches keep their English (even when re-asked); word requests get ``answers``."""

    def reply(body):
        if is_leftover_request(body):  # phrases asked by number: 1: "briefing"
            user = body["messages"][1]["content"]
            asked = dict(re.findall(r'^(\d+): (".*")$', user, re.MULTILINE))
            return json.dumps(
                {k: answers[json.loads(w)] for k, w in asked.items()}, ensure_ascii=False
            )
        return json.dumps({k: FIRST[k] for k in batch_of(body)}, ensure_ascii=False)

    return [reply] * 40


def run(srv, journal, texts=TEXTS, to="zh", glossary=()):
    opts = EngineOptions(OpenAISettings(base_url=srv.url, model="tiny"), batch_cues=5)
    eng = open_engine(opts)
    warnings: list[str] = []
    eng._warn = warnings.append  # the engine's own warnings (a rejected answer)
    film = FilmText(texts, "en", to, glossary=glossary)
    res = EngineRunner(eng, film, opts, journal, warn=warnings.append).run()
    return res, warnings


def test_words_left_in_english_are_asked_word_by_word_replaced_and_journaled():
    answers = {"briefing": "简报", "I learned I was alive": "我得知我还活着"}
    journal = MemoryJournal()
    with ScriptedServer(server_script(answers)) as srv:
        res, warnings = run(srv, journal)
        asked = [b for b in srv.requests if is_leftover_request(b)]
        assert len(asked) == 2  # line 1's word, and line 3 as a whole
        assert res.translations == {0: "他们召集了简报会议", 1: "坦克开进来了", 2: "我得知我还活着"}
        assert res.usage.leftovers == 2
        assert any("line 1: 'briefing' as 简报" in w for w in warnings)
        sent = len(srv.requests)
        again, _ = run(srv, journal)  # a re-run takes the answers from the journal
        assert len(srv.requests) == sent and again.translations == res.translations


def test_a_rejected_answer_keeps_the_line_and_is_not_asked_again():
    journal = MemoryJournal()
    with ScriptedServer(server_script({"briefing": "briefing 会"})) as srv:  # still English
        res, warnings = run(srv, journal, texts=TEXTS[:2])
        assert res.translations[0] == "他们召集了 briefing 会议" and res.usage.leftovers == 0
        assert len([b for b in srv.requests if is_leftover_request(b)]) == 2  # and a re-ask
        assert any("no usable translation of 'briefing'" in w for w in warnings)
        sent = len(srv.requests)
        run(srv, journal, texts=TEXTS[:2])
        assert len(srv.requests) == sent  # the rejection is journaled too


def test_no_pass_for_a_target_in_the_source_script_or_for_a_glossary_word():
    with ScriptedServer(server_script({"briefing": "简报"})) as srv:
        run(srv, MemoryJournal(), texts=TEXTS[:2], to="fr")
        kept = (GlossaryTerm("briefing", "briefing"),)
        res, _ = run(srv, MemoryJournal(), texts=TEXTS[:2], glossary=kept)
        assert not [b for b in srv.requests if is_leftover_request(b)]
        assert res.translations[0] == "他们召集了 briefing 会议"


def test_leftovers_are_common_words_or_a_line_wholly_in_the_source_script():
    assert leftovers("A briefing on Rommel", "关于 Rommel 的 briefing", "zh") == ["briefing"]
    # a run of words is one phrase: "everybody else", not "everybody" and "else"
    assert leftovers("bomb everybody else", "轰炸 everybody else 而 nobody会", "zh") == [
        "everybody else"  # "nobody" is not the source's: the model's own, not left over
    ]
    assert leftovers("everybody else, nobody", "轰炸 everybody else 而 nobody会", "zh") == [
        "everybody else",
        "nobody",
    ]
    assert leftovers("I was alive", "I was alive", "zh") == ["I was alive"]
    # another form of a source word ("mile" for "miles"), not a word sharing only a stem
    assert leftovers("Miles of it.", "mile 和 mile", "zh") == ["mile"]
    assert leftovers("The paratroopers.", "伞兵 parachute", "zh") == []
    assert leftovers("I was alive", "我还活着", "zh") == []
    assert leftovers("a tank", "un tank", "fr") == []
    assert leftovers("...", "...", "zh") == []  # nothing to translate
    # accented letters are letters: a name stays one name, an accented word one word
    s = "Hans Müncheberg, 15, at the barricades."
    assert leftovers(s, "在 barricades前的15岁少年 Hans Müncheberg", "zh") == ["barricades"]
    assert leftovers(s, "在路障前的15岁少年 Hans Müncheberg", "zh") == []
    assert leftovers("A café, a déjà vu.", "一个 café，一次 déjà vu", "zh") == ["café", "déjà vu"]


def test_replacement_takes_whole_words_and_the_spaces_a_wordless_script_does_not_use():
    assert replace_leftovers("进行 briefing 时", {"briefing": "汇报"}, "zh") == "进行汇报时"
    assert replace_leftovers("进行 briefing somehow破译", {"briefing": "汇报", "somehow": "不知为何"},
                             "zh") == "进行汇报不知为何破译"  # fmt: skip
    assert replace_leftovers("美国 USA briefing", {"briefing": "简报"}, "zh") == "美国 USA 简报"
    assert replace_leftovers("tanks 和 tank", {"tank": "坦克"}, "zh") == "tanks 和坦克"
    # what the line already says next to the word is not said twice
    assert replace_leftovers("我的朋友被 wiped掉", {"wiped": "擦掉"}, "zh") == "我的朋友被擦掉"
    assert replace_leftovers("守军不断补充 reinforcements", {"reinforcements": "补充"}, "zh") == (
        "守军不断补充"
    )
    assert replace_leftovers("Müller 的 café", {"café": "咖啡馆"}, "zh") == "Müller 的咖啡馆"
    assert replace_leftovers("Überlin", {"berlin": "柏林"}, "zh") == "Überlin"  # not a word
    assert (
        replace_leftovers("나는 briefing 했다", {"briefing": "브리핑"}, "ko") == "나는 브리핑 했다"
    )


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ('{"2": "简报"}', "no translation of 'briefing'"),
        ('{"1": "一个非常非常长的简报会议说明文字"}', "too long"),
        ('{"1": "брифинг"}', "not written in the target language"),
        ('{"1": "简报 briefing"}', "leaves 'briefing' untranslated"),
        ("not json", "not a JSON object"),
    ],
)
def test_answers_are_checked(reply, problem):
    with pytest.raises(ReplyError, match=problem):
        check_answer(reply, ["briefing"], "They called a briefing.", "zh")
    assert check_answer('{"1": " 简报 "}', ["briefing"], "a briefing", "zh") == {"briefing": "简报"}


# ---------------------------------------------------------------- shortening
LONG = "他们召集所有飞行员进行了一次关于这场战争的很长的会议"  # 26 characters
SHORT = "他们召集所有飞行员开了很长的战争会议"  # 18
GUTTED = "开会"


def budget_22():
    from vloc.style.budget import budgets
    from vloc.style.profile_file import load_profile

    return budgets([(0, 2_500)], "zh", load_profile("streaming"))  # 2.5 s at 9/s: 22


def is_shorten_request(body) -> bool:
    return "You shorten" in body["messages"][0]["content"]


def shorten_run(rewrite: str, runs: int = 1, with_budget: bool = True):
    """``runs`` runs on one journal (the same server: the engine's identity holds its URL);
    the last run's result, and the shortening requests of each run."""

    def reply(body):
        if is_shorten_request(body):
            return json.dumps({"1": rewrite}, ensure_ascii=False)
        return json.dumps({k: LONG for k in batch_of(body)}, ensure_ascii=False)

    journal, asked = MemoryJournal(), []
    film = FilmText(["They called everyone to a long meeting about the war."], "en", "zh",
                    budgets=budget_22() if with_budget else None)  # fmt: skip
    with ScriptedServer([reply] * 40) as srv:
        opts = EngineOptions(OpenAISettings(base_url=srv.url, model="tiny"), batch_cues=5)
        for _ in range(runs):
            sent = len(srv.requests)
            res = EngineRunner(open_engine(opts), film, opts, journal).run()
            asked.append([b for b in srv.requests[sent:] if is_shorten_request(b)])
    return res, asked


def test_a_line_still_over_its_budget_is_rewritten_shorter_after_the_batches():
    res, (first, again) = shorten_run(SHORT, runs=2)
    assert res.translations == {0: SHORT} and len(first) == 1
    assert "at most 22 characters" in first[0]["messages"][1]["content"]
    assert again == []  # journaled: the second run asks nothing
    res, _ = shorten_run(SHORT)
    assert res.usage.shortened == 1
    # without budgets (no --style) nothing is shortened
    res, (asked,) = shorten_run(SHORT, with_budget=False)
    assert res.translations == {0: LONG} and asked == []


def test_a_rewrite_that_guts_the_line_is_refused_and_the_line_kept():
    res, (asked,) = shorten_run(GUTTED)
    assert res.translations == {0: LONG} and res.usage.shortened == 0 and len(asked) == 2
    assert "drop too much of the line" in asked[1]["messages"][-1]["content"]


@pytest.mark.parametrize(
    ("rewrite", "problem"),
    [
        (LONG, "still too long: 26 characters"),
        (GUTTED, "2 characters drop too much of the line; keep its meaning in 15 to 22"),
        ("They called a meeting", "not written in the target language"),
        ("他们召集大家开了很长的 meeting 会议", "leaves 'meeting' untranslated"),
    ],
)
def test_rewrites_are_checked(rewrite, problem):
    (b,) = budget_22()
    reply = json.dumps({"1": rewrite}, ensure_ascii=False)
    with pytest.raises(ReplyError, match=problem):
        check_shortened(reply, "They called a long meeting about the war.", b, 22, "zh")
    ok = json.dumps({"1": SHORT + "。"}, ensure_ascii=False)
    finish = lambda t: t.rstrip("。")  # noqa: E731 - the target's punctuation, as the run's
    assert check_shortened(ok, "a meeting", b, 22, "zh", finish) == SHORT
