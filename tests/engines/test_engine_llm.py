"""The LLM engines' contract, against a scripted local OpenAI-compatible server: line-exact
replies whatever the model does, retries, one-line errors, secrets never leaked, and the batch
loop's film context, journal and concurrency."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scripted_server import MemoryJournal, ScriptedServer, batch_of

from vloc.engines import EngineError, EngineOptions, OpenAISettings, open_engine
from vloc.engines.base import BatchRequest, Line
from vloc.engines.prompts import build_messages, reply_schema
from vloc.engines.replies import ReplyError, parse_reply
from vloc.engines.runner import EngineRunner, FilmText, make_batches, related_rows
from vloc.errors import InputError
from vloc.glossary.file import (
    GlossaryTerm,
    glossary_report,
    mask_terms,
    missing_terms,
    read_glossary,
    unmask_terms,
)

LINES = tuple(Line(n, f"Line number {n} about Rommel.") for n in range(10, 16))


def engine(url: str, **kw):
    opts = EngineOptions(
        OpenAISettings(**{"base_url": url, "model": "tiny", "max_retries": 3, **kw})
    )
    eng = open_engine(opts)
    eng.backend._sleep = lambda s: None  # no real waiting between retries in tests
    return eng


def request(cues=LINES, **kw) -> BatchRequest:
    return BatchRequest(cues=tuple(cues), source_lang="en", target_lang="zh", **kw)


# ---------------------------------------------------------------- replies
def test_parse_reply_accepts_exact_objects_and_rejects_everything_else():
    cues = LINES[:2]
    ok = parse_reply('```json\n{"10": "一", "11": "二"}\n```', cues, "zh")
    assert ok == ({10: "一", 11: "二"}, {})
    for bad in [
        "not json",
        '{"10": "一"}',  # a line missing
        '{"10": "一", "11": "二", "12": "三"}',  # an extra line
        '{"10": "一", "11": ""}',  # empty translation
        '{"10": "一", "11": 2}',
    ]:
        with pytest.raises(ReplyError) as e:
            parse_reply(bad, cues, "zh")
        assert e.value.hard, bad
    # soft problems are per line: the rest of the reply is usable
    _, problems = parse_reply('{"10": "one", "11": "二"}', cues, "zh")
    assert list(problems) == [10] and "target language" in problems[10]
    _, problems = parse_reply(
        '{"10": "一", "11": "汽车, 汽车, 汽车, 汽车, 汽车, 汽车"}', cues, "zh"
    )
    assert list(problems) == [11]


def test_soft_failures_are_asked_again_alone_then_kept_with_a_warning():
    def english_for_12(body):
        return json.dumps({k: ("still English" if k == "12" else f"译{k}") for k in batch_of(body)})

    warnings = []
    with ScriptedServer([english_for_12] * 5) as srv:
        eng = engine(srv.url)
        eng._warn = warnings.append
        res = eng.translate_batch(request())
    assert res.translations[12] == "still English" and res.translations[13] == "译13"
    assert len(srv.requests) == 2 and res.usage.splits == 0  # the batch, then line 12 alone
    assert batch_of(srv.requests[1]) == {"12": "Line number 12 about Rommel."}
    assert len(warnings) == 1 and "line 12" in warnings[0]


def test_a_missed_glossary_term_is_asked_again_naming_the_term():
    def renders(body):  # 罗梅尔 in the batch; the re-ask that names the rule gets 隆美尔
        user = [m for m in body["messages"] if m["role"] == "user"][0]["content"]
        name = "隆美尔" if "'Rommel' as 隆美尔 (glossary)" in user else "罗梅尔"
        return json.dumps({k: f"{name}{k}" for k in batch_of(body)}, ensure_ascii=False)

    terms = (GlossaryTerm("Rommel", "隆美尔"),)
    cues = (*LINES[:2], Line(12, "Tanks at night."))
    with ScriptedServer([renders] * 3) as srv:
        res = engine(srv.url).translate_batch(request(cues, glossary=terms))
        retry_user = srv.requests[1]["messages"][1]["content"]
    assert res.translations == {10: "隆美尔10", 11: "隆美尔11", 12: "罗梅尔12"}
    assert len(srv.requests) == 2 and res.usage.reasks == 1
    assert batch_of(srv.requests[1]) == {"10": LINES[0].source, "11": LINES[1].source}
    assert "line 10 must translate 'Rommel' as 隆美尔 (glossary)" in retry_user
    _, problems = parse_reply('{"10": "隆美尔", "11": "他"}', LINES[:2], "zh", terms)
    assert list(problems) == [11] and "glossary" in problems[11]


def test_common_words_left_in_english_are_asked_again_naming_them():
    def copies(body):  # "briefing" copied, unless the re-ask names it
        user = [m for m in body["messages"] if m["role"] == "user"][0]["content"]
        word = "简报" if "leaves 'briefing' untranslated" in user else "briefing"
        return json.dumps({k: f"隆美尔的{word}" for k in batch_of(body)}, ensure_ascii=False)

    cues = (Line(10, "Rommel's briefing."), Line(11, "Rommel's USA briefing."))
    with ScriptedServer([copies] * 3) as srv:
        res = engine(srv.url).translate_batch(request(cues))
    assert res.translations == {10: "隆美尔的简报", 11: "隆美尔的简报"}
    assert len(srv.requests) == 2 and res.usage.reasks == 1
    # names, acronyms, addresses and a glossary's own Latin targets are not counted
    ok = '{"10": "Rommel 在 USA 的 www.example.com", "11": "他 iPhone"}'
    src = (Line(10, "Rommel in the USA, www.example.com"), Line(11, "his iPhone"))
    assert parse_reply(ok, src, "zh") == (
        {10: "Rommel 在 USA 的 www.example.com", 11: "他 iPhone"},
        {},
    )
    _, problems = parse_reply(
        '{"10": "一个 tank", "11": "坦克"}', (Line(10, "A tank"), LINES[1]), "zh"
    )
    assert list(problems) == [10] and "'tank' untranslated" in problems[10]
    kept = (GlossaryTerm("panzer", "panzer"),)
    assert parse_reply('{"10": "panzer 坦克"}', (Line(10, "a panzer"),), "zh", kept)[1] == {}
    # a target in the source's script may keep words: French "tank" is French
    assert parse_reply('{"10": "un tank"}', (Line(10, "a tank"),), "fr")[1] == {}


def test_words_left_untranslated_and_over_budget_count_as_over_budget():
    from vloc.engines.replies import OVER_BUDGET
    from vloc.style.budget import cue_budget
    from vloc.style.profile_file import load_profile

    b = cue_budget(0, 1000, load_profile("streaming").for_language("zh"))  # 9 characters
    _, problems = parse_reply(
        '{"10": "他们召集飞行员进行 briefing"}', (Line(10, "A briefing", budget=b),), "zh"
    )
    assert "'briefing' untranslated" in problems[10] and OVER_BUDGET in problems[10]


def test_schema_requires_exactly_the_batch_numbers():
    s = reply_schema([10, 11])
    assert s["required"] == ["10", "11"] and s["additionalProperties"] is False


def test_prompt_prefix_is_stable_and_holds_glossary_and_synopsis():
    g = (GlossaryTerm("Rommel", "隆美尔", "a German general"),)
    a = build_messages(request(synopsis="The desert war.", glossary=g))
    b = build_messages(request(cues=LINES[3:], synopsis="The desert war.", glossary=g))
    assert a[0] == b[0]  # the system prefix does not change between batches
    assert "隆美尔" in a[0]["content"] and "The desert war." in a[0]["content"]
    assert '"10": "Line number 10 about Rommel."' in a[1]["content"]


# ---------------------------------------------------------------- the endpoint
def test_translates_a_batch_with_json_schema_and_counts_tokens():
    with ScriptedServer() as srv:
        res = engine(srv.url).translate_batch(request())
    assert res.translations == {n: f"译{n}-0" for n in range(10, 16)}
    assert res.usage.prompt_tokens == 100 and res.usage.requests == 1
    body = srv.requests[0]
    assert body["temperature"] == 0 and body["seed"] == 0
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"]["required"] == [
        str(n) for n in range(10, 16)
    ]


def test_retries_429_5xx_and_dropped_connections_then_succeeds():
    script = [("status", 429, "{}", {"Retry-After": "0"}), ("status", 503, "{}"), ("drop",)]
    with ScriptedServer(script) as srv:
        res = engine(srv.url).translate_batch(request())
    assert res.usage.retries == 3 and len(res.translations) == 6


def test_gives_up_after_max_retries_with_one_line():
    with ScriptedServer([("status", 500, '{"error": {"message": "boom"}}')] * 10) as srv:
        with pytest.raises(EngineError) as e:
            engine(srv.url).translate_batch(request())
    assert "HTTP 500" in str(e.value) and "boom" in str(e.value) and "\n" not in str(e.value)


def test_timeout_is_retried():
    with ScriptedServer([("sleep", 1.5)]) as srv:
        res = engine(srv.url, timeout_s=0.5).translate_batch(request())
    assert res.usage.retries >= 1 and len(res.translations) == 6


def test_malformed_reply_is_asked_again_then_split_down_to_single_lines():
    def missing_last(body):  # always forgets the last line of batches longer than one
        lines = batch_of(body)
        keys = list(lines)[:-1] if len(lines) > 1 else list(lines)
        return json.dumps({k: f"译{k}" for k in keys})

    script = ["{truncated", *([missing_last] * 40)]
    with ScriptedServer(script) as srv:
        res = engine(srv.url).translate_batch(request())
    assert sorted(res.translations) == list(range(10, 16))  # nothing lost, merged or invented
    assert res.usage.reasks >= 1 and res.usage.splits >= 1
    assert all(v.startswith("译") for v in res.translations.values())


def test_a_line_that_never_gets_a_reply_stops_with_its_number():
    with ScriptedServer(['{"nope": 1}'] * 40) as srv:
        with pytest.raises(EngineError, match="line 10"):
            engine(srv.url).translate_batch(request(cues=LINES[:1]))


def test_response_format_falls_back_when_the_server_rejects_it():
    script = [
        ("status", 400, '{"error": {"message": "response_format json_schema not supported"}}')
    ]
    with ScriptedServer(script) as srv:
        res = engine(srv.url).translate_batch(request())
    assert len(res.translations) == 6
    assert srv.requests[1]["response_format"]["type"] == "json_object"
    assert srv.requests[1]["response_format"]["schema"]["required"][0] == "10"


def test_key_is_sent_but_never_shown(monkeypatch):
    monkeypatch.setenv("MY_KEY", "sk-secret-123")
    with ScriptedServer(
        [("status", 401, '{"error": {"message": "bad key sk-secret-123"}}')]
    ) as srv:
        with pytest.raises(EngineError) as e:
            engine(srv.url, api_key_env="MY_KEY").translate_batch(request())
    assert srv.headers[0]["Authorization"] == "Bearer sk-secret-123"
    assert "sk-secret" not in str(e.value) and "MY_KEY" in str(e.value)


def test_unknown_model_lists_what_the_server_has():
    with ScriptedServer(models=("tiny", "other")) as srv:
        opts = EngineOptions(OpenAISettings(base_url=srv.url, model="missing", max_retries=0))
        with pytest.raises(EngineError, match="no model 'missing'.*tiny, other"):
            open_engine(opts).translate_batch(request())


def test_unreachable_url_is_one_line():
    eng = engine("http://127.0.0.1:9/v1", max_retries=1)
    with pytest.raises(EngineError, match="cannot reach http://127.0.0.1:9/v1"):
        eng.translate_batch(request())


def test_options_refuse_a_key_in_place_of_its_name():
    with pytest.raises(InputError, match="name of an environment variable"):
        EngineOptions(
            OpenAISettings(base_url="http://x/v1", model="m", api_key_env="sk-1 2")
        ).check()


# ---------------------------------------------------------------- the batch loop
def film(n: int = 40) -> FilmText:
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(n, 8)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    texts = [f"Line {i} about the war." if i % 7 else "" for i in range(n)]
    return FilmText(texts, "en", "zh", embeddings=emb, glossary=(GlossaryTerm("war", "战争"),))


def test_batches_are_consecutive_and_skip_empty_cues():
    assert make_batches(["a", "", "b", "c", ""], 2) == [[0, 2], [3]]


def test_related_lines_exclude_the_neighbourhood_and_are_unique():
    f = film()
    rel = related_rows(f.embeddings, [10, 11, 12], p=5, exclude=set(range(5, 13)), limit=8)
    assert rel and len(rel) == len(set(rel)) <= 8 and not set(rel) & set(range(5, 13))


@pytest.mark.parametrize("context", ["global", "window", "none"])
def test_runner_is_line_exact_and_concurrency_gives_the_same_output(context):
    f = film()
    outs = []
    with ScriptedServer() as srv:
        for lag, workers in ((1, 1), (3, 1), (3, 3)):
            opts = EngineOptions(OpenAISettings(base_url=srv.url, model="tiny"), batch_cues=5,
                                 context=context, lag=lag, concurrency=workers)  # fmt: skip
            res = EngineRunner(engine(srv.url), f, opts, MemoryJournal()).run()
            outs.append(res.translations)
    assert outs[1] == outs[2]  # the same --lag: concurrency never changes the output
    for out in outs:
        assert sorted(out) == [i for i, t in enumerate(f.texts) if t]  # line-exact
    shown = sum(int(t.split("-")[1]) for t in outs[0].values())
    assert (shown > 0) == (context != "none")  # earlier translations reached later prompts
    if context == "global":  # with lag 3, fewer earlier translations are visible
        assert sum(int(t.split("-")[1]) for t in outs[1].values()) < shown


def test_runner_resumes_from_the_journal_and_glossary_changes_reach_only_its_batches():
    f = film()
    journal = MemoryJournal()
    with ScriptedServer() as srv:
        opts = EngineOptions(OpenAISettings(base_url=srv.url, model="tiny"), batch_cues=5)
        first = EngineRunner(engine(srv.url), f, opts, journal).run()
        sent = len(srv.requests)
        again = EngineRunner(engine(srv.url), f, opts, journal).run()
        assert len(srv.requests) == sent and again.reused == len(first.translations)
        assert again.translations == first.translations
    report = glossary_report(
        f.texts, [first.translations.get(i, "") for i in range(40)], f.glossary
    )
    assert report[0].cues == sum(1 for t in f.texts if t)


def test_glossary_file_and_masking(tmp_path):
    p = tmp_path / "terms.tsv"
    p.write_text(
        "source\ttarget\tnote\nRommel\t隆美尔\tgeneral\n# comment\n\nAfrika Korps\t非洲军团\n"
    )
    terms = read_glossary(p)
    assert [t.target for t in terms] == ["隆美尔", "非洲军团"]
    masked, used = mask_terms("Rommel led the Afrika Korps.", terms)
    assert "Rommel" not in masked and "Afrika" not in masked
    assert unmask_terms(masked, terms, used) == "隆美尔 led the 非洲军团."
    (tmp_path / "bad.tsv").write_text("Rommel\n")
    with pytest.raises(InputError, match="line 1"):
        read_glossary(tmp_path / "bad.tsv")


def test_glossary_names_match_as_written_common_words_in_any_case():
    from vloc.glossary.file import terms_in

    terms = (GlossaryTerm("Over", "完毕"), GlossaryTerm("May", "梅"), GlossaryTerm("tank", "坦克"))
    assert terms_in(["It's over.", "You may go."], terms) == ()
    assert terms_in(["Over and out.", "MAY SPEAKS"], terms) == terms[:2]
    assert terms_in(["Tank battle"], terms) == terms[2:]
    assert missing_terms("The war is over.", "战争结束了", terms) == []
