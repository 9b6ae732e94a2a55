"""The LLM engines' batch loop: prompt, validate, re-ask once, then halve — never lose a line.

:class:`LLMEngine` turns a :class:`~vloc.engines.base.BatchRequest` into chat messages
(:mod:`vloc.engines.prompts`), sends them through a :class:`ChatBackend` (an OpenAI-compatible
HTTP endpoint, :mod:`vloc.engines.openai_api`, or llama.cpp in-process,
:mod:`vloc.engines.gguf`) and checks the reply (:mod:`vloc.engines.replies`). A rejected reply
whose structure is wrong (not JSON, a line missing or extra, an empty line) is asked again once
with the problem stated; if the second reply is wrong too, the batch is split in two halves,
each with the same context, down to single lines. Lines that are only *softly* wrong (no
target script, a loop, a missed glossary term, words left untranslated, over the cue's budget)
are asked again once on their own — a line still over its budget once more — and what is
still wrong then is kept with a warning — except a runaway (a line over 4× its source, or a
loop its source does not have): it is never written, the cue keeps its source text, with a
warning, counted as ``untranslated`` in the usage. A 400,000-character reply line therefore
cannot reach the line breaker or the subtitle file. A line that gets no usable reply at all
stops the run with an
:class:`EngineError` — its batch is never written, and every batch finished before it stays in
the journal for the next run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Protocol

from vloc.engines.base import BatchRequest, BatchResult, EngineError, Line, Usage
from vloc.engines.prompts import build_messages, reask_messages, reply_schema
from vloc.engines.replies import (
    CONDENSE_ROUNDS,
    OVER_BUDGET,
    ReplyError,
    line_problem,
    only_over_budget,
    parse_reply,
    runs_away,
)
from vloc.text import without_controls

# the reply may use this many tokens per source character, plus a fixed allowance per line
# (JSON key and quotes) and per reply: the repetition guard's hard limit
TOKENS_PER_SOURCE_CHAR = 1.5
TOKENS_PER_LINE = 12
TOKENS_PER_REPLY = 24

WarnFn = Callable[[str], None]


class ChatBackend(Protocol):
    """Something that completes a chat: an HTTP endpoint or an in-process model."""

    accepts_images: bool

    def complete(
        self, messages: list[dict[str, Any]], *, schema: dict[str, Any], max_tokens: int
    ) -> tuple[str, Usage]:
        """The assistant's reply text and the tokens it cost (``requests``/``retries`` set)."""
        ...

    def close(self) -> None: ...


def max_reply_tokens(request: BatchRequest) -> int:
    chars = sum(len(c.source) for c in request.cues)
    return int(
        TOKENS_PER_REPLY + TOKENS_PER_LINE * len(request.cues) + TOKENS_PER_SOURCE_CHAR * chars
    )


class LLMEngine:
    """A translation engine over a chat model (see the module docstring)."""

    uses_context = True

    def __init__(
        self,
        kind: str,
        name: str,
        identity: str,
        backend: ChatBackend,
        *,
        image_urls: Callable[[BatchRequest], list[str]] | None = None,
        warn: WarnFn | None = None,
    ) -> None:
        self.kind, self.name, self.identity = kind, name, identity
        self.backend = backend
        self.accepts_images = backend.accepts_images
        self._image_urls = image_urls
        self._warn = warn or (lambda _msg: None)

    def close(self) -> None:
        self.backend.close()

    def translate_batch(self, request: BatchRequest) -> BatchResult:
        usage = Usage()
        if getattr(self.backend, "base_model", False):
            translations = self._translate_lines(request, usage)
        else:
            translations = self._translate(request, usage)
        return BatchResult({n: translations[n] for n in request.numbers}, usage)

    def _translate_lines(self, request: BatchRequest, usage: Usage) -> dict[int, str]:
        """A base model: each line after the few-shot prefix, checked like a reply's line."""
        from vloc.engines.prompts import few_shot_line, few_shot_prefix
        from vloc.engines.replies import runs_away, written_in
        from vloc.style.budget import over_budget

        prefix = few_shot_prefix(request)
        out: dict[int, str] = {}
        for cue in request.cues:
            limit = int(TOKENS_PER_LINE + TOKENS_PER_SOURCE_CHAR * len(cue.source))
            text, cost = self.backend.complete_line(  # type: ignore[attr-defined]
                prefix + few_shot_line(request, cue.source), max_tokens=limit
            )
            usage.add(cost)
            text = without_controls(text).strip()
            if not text and cue.source.strip():  # an empty line: once more, newline forbidden
                usage.reasks += 1
                text, cost = self.backend.complete_line(  # type: ignore[attr-defined]
                    prefix + few_shot_line(request, cue.source),
                    max_tokens=limit,
                    forbid_newline=True,
                )
                usage.add(cost)
                text = without_controls(text).strip()
            if not text and cue.source.strip():
                raise EngineError(
                    f"{self.kind} engine {self.name!r} gave an empty translation for line "
                    f"{cue.number} ({cue.source[:50]!r}) twice"
                )
            if runs_away(text, len(cue.source), cue.source):
                text = self._untranslated(cue, text, usage)
            elif not written_in(text, request.target_lang):
                self._warn(
                    f"{self.name}: line {cue.number} kept although it looks wrong: {text[:40]!r}"
                )
            if cue.budget is not None and over_budget(text, cue.budget, request.target_lang):
                usage.over_budget += 1  # a base model is not asked to condense: counted only
            out[cue.number] = text
        return out

    def _untranslated(self, cue: Line, reply: str, usage: Usage) -> str:
        """A runaway reply is not a translation: the cue keeps its source text, with a warning."""
        usage.untranslated += 1
        self._warn(
            f"{self.name}: line {cue.number} ran away ({len(reply):,} characters for a "
            f"{len(cue.source)}-character line: {reply[:40]!r}...); kept untranslated, as its "
            "source text"
        )
        return cue.source

    def ask_aside(
        self,
        *,
        messages: list[dict[str, Any]],
        schema: dict[str, Any],
        max_tokens: int,
        check: Callable[[str], Any],
        what: str,
    ) -> tuple[Any, Usage]:
        """One short request outside the batches (:mod:`vloc.engines.last_pass`): ``check``'s
        value of the reply, asked once more on a :class:`ReplyError`; None when rejected
        twice (with a warning), or for a base model (no chat to ask in)."""
        usage = Usage()
        if getattr(self.backend, "base_model", False):
            return None, usage
        try:
            answer = ask_json(self.backend, messages, schema=schema, max_tokens=max_tokens,
                              check=check, usage=usage, what=what)  # fmt: skip
        except RejectedTwice as e:
            self._warn(f"{self.name}: {e}; the line is kept as it was")
            return None, usage
        return answer, usage

    # ------------------------------------------------------------ internals

    def _complete(self, request: BatchRequest, messages: list[dict[str, Any]], usage: Usage) -> str:
        reply, cost = self.backend.complete(
            messages, schema=reply_schema(request.numbers), max_tokens=max_reply_tokens(request)
        )
        usage.add(cost)
        return reply

    def _ask(self, request: BatchRequest, usage: Usage) -> tuple[dict[int, str], dict[int, str]]:
        """(translations, soft problems) of one request, re-asked once on a hard problem."""
        images = self._image_urls(request) if (self._image_urls and self.accepts_images) else None
        messages = build_messages(request, images=images)
        reply = self._complete(request, messages, usage)
        try:
            return parse_reply(reply, request.cues, request.target_lang, request.glossary)
        except ReplyError as first:
            usage.reasks += 1
            again = reask_messages(messages, reply, str(first), request.numbers)
            return parse_reply(
                self._complete(request, again, usage),
                request.cues,
                request.target_lang,
                request.glossary,
            )

    def _translate(self, request: BatchRequest, usage: Usage) -> dict[int, str]:
        try:
            out, problems = self._ask(request, usage)
        except ReplyError as e:
            if len(request.cues) > 1:
                usage.splits += 1
                half = len(request.cues) // 2
                out = {}
                for part in (request.cues[:half], request.cues[half:]):
                    out.update(self._translate(dataclasses.replace(request, cues=part), usage))
                return out
            cue = request.cues[0]
            raise EngineError(
                f"{self.kind} engine {self.name!r} gave no usable translation for line "
                f"{cue.number} ({cue.source[:50]!r}) after a re-ask: {e}; the lines before it "
                "are kept in the journal and a re-run resumes there"
            ) from None
        usage.over_budget += sum(OVER_BUDGET in why for why in problems.values())
        # ask again for the doubtful lines alone; lines still over budget get more condense
        # rounds; then keep the best we have
        still = self._ask_again(request, out, problems, usage)
        for _ in range(CONDENSE_ROUNDS - 1):
            over = {n: why for n, why in still.items() if OVER_BUDGET in why}
            if not over:
                break
            still = {n: w for n, w in still.items() if n not in over}
            still.update(self._ask_again(request, out, over, usage))
        sources = {c.number: c for c in request.cues}
        for n in sorted(still):
            cue = sources[n]
            if runs_away(out[n], len(cue.source), cue.source):
                out[n] = self._untranslated(cue, out[n], usage)
            else:  # the problem of the reply kept, which may be the first one
                kept = line_problem(n, cue, out[n], request.target_lang, request.glossary)
                self._warn(f"{self.name}: {kept or still[n]} (kept after a re-ask)")
        return out

    def _ask_again(
        self, request: BatchRequest, out: dict[int, str], problems: dict[int, str], usage: Usage
    ) -> dict[int, str]:
        """Ask once more for the lines in ``problems`` (each told what was wrong); a line whose
        new reply passes — or is only over its budget where the last one had a worse problem —
        replaces its translation in ``out``. Returns what is still wrong."""
        if not problems:
            return {}
        usage.reasks += 1
        retry = dataclasses.replace(
            request,
            cues=tuple(c for c in request.cues if c.number in problems),
            notes=tuple(problems[n] for n in sorted(problems)),
        )
        try:
            again, still = self._ask(retry, usage)
        except ReplyError:
            return dict(problems)
        for n, text in again.items():
            if n not in still or (
                only_over_budget(n, still[n]) and not only_over_budget(n, problems[n])
            ):
                out[n] = text  # passes, or only its length is left of a worse problem
        return still


class RejectedTwice(EngineError):
    """:func:`ask_json`'s reply was rejected, and so was the re-ask's (the model answered)."""


def ask_json(
    backend: ChatBackend,
    messages: list[dict[str, Any]],
    *,
    schema: dict[str, Any],
    max_tokens: int,
    check: Callable[[str], Any],
    usage: Usage,
    what: str,
) -> Any:
    """One request whose reply ``check`` validates (raising :class:`ReplyError`), re-asked once
    with the problem stated; a second rejection is :class:`RejectedTwice` naming ``what``."""
    reply, cost = backend.complete(messages, schema=schema, max_tokens=max_tokens)
    usage.add(cost)
    try:
        return check(reply)
    except ReplyError as e:
        usage.reasks += 1
        again = [
            *messages,
            {"role": "assistant", "content": reply},
            {"role": "user", "content": f"That reply was rejected: {e}. Reply again with one "
             "JSON object of the form asked for."},
        ]  # fmt: skip
        reply, cost = backend.complete(again, schema=schema, max_tokens=max_tokens)
        usage.add(cost)
        try:
            return check(reply)
        except ReplyError as e2:
            raise RejectedTwice(f"no usable {what} after a re-ask: {e2}") from None
