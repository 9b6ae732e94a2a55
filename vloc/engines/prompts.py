"""The chat prompt the LLM engines (``openai``, ``gguf``) send for one batch, and the reply schema.

Layout, most stable first, so that a server's prefix cache is reused from batch to batch:

1. **system** — the task and its rules (one translation per numbered line, never merge or
   split, follow the glossary, reply with a JSON object keyed by line number), a worked
   example in the target language, then the film's synopsis, its glossary and the translation
   memory's most similar approved pairs (``--memory``, bounded in tokens). Identical for every
   batch of a film.
2. **user** — the film context gathered for this batch, then the lines to translate:

   * *Related lines from elsewhere in the film* — the batch's top retrieved cues (eq. 1 of the
     translator paper), outside the batch's own neighbourhood, each with its translation when
     one exists: what keeps names and terms consistent across two hours;
   * *Previous lines* — the cues just before the batch, with translations where done;
   * *Translate* — the batch as a JSON object ``{"412": "source", ...}``.

The reply must be ``{"412": "translation", ...}`` with exactly the batch's numbers; where the
endpoint accepts it, :func:`reply_schema` constrains the reply to that shape.
"""

from __future__ import annotations

import json
from typing import Any

from vloc.engines.base import BatchRequest, Line
from vloc.fileio import sha256_bytes
from vloc.text import language_base

PROMPT_VERSION = 1  # bump when the wording or layout below changes (keys the journal)
LANGUAGES = {
    "ar": "Arabic", "de": "German", "en": "English", "es": "Spanish", "fr": "French",
    "hi": "Hindi", "it": "Italian", "ja": "Japanese", "ko": "Korean", "nl": "Dutch",
    "pl": "Polish", "pt": "Portuguese", "ru": "Russian", "sv": "Swedish", "tr": "Turkish",
    "uk": "Ukrainian", "vi": "Vietnamese", "zh": "Chinese (Simplified)",
    "zh-hans": "Chinese (Simplified)", "zh-hant": "Chinese (Traditional)",
    "zh-tw": "Chinese (Traditional, Taiwan)", "zh-hk": "Chinese (Traditional, Hong Kong)",
    "zh-mo": "Chinese (Traditional, Macau)",
}  # fmt: skip
# one worked example per common target language (source lines are always the same English)
EXAMPLE_SOURCE = {"1": "General Rommel landed in Tripoli.", "2": "It was February 1941."}
EXAMPLES = {
    "zh": {"1": "隆美尔将军在的黎波里登陆。", "2": "那是1941年2月。"},
    "ja": {"1": "ロンメル将軍はトリポリに上陸した。", "2": "1941年2月のことだった。"},
    "fr": {"1": "Le général Rommel débarqua à Tripoli.", "2": "C'était en février 1941."},
    "de": {"1": "General Rommel landete in Tripolis.", "2": "Es war Februar 1941."},
    "es": {"1": "El general Rommel desembarcó en Trípoli.", "2": "Era febrero de 1941."},
    "pt": {"1": "O general Rommel desembarcou em Trípoli.", "2": "Era fevereiro de 1941."},
}

SYSTEM = """You translate the subtitles of a documentary film from {src} into {tgt}.
Rules:
- Translate every numbered line into exactly one {tgt} subtitle line with the same number.
- Never merge, split, skip or add lines. Keep numbers, dates and names accurate.
- Write natural, concise {tgt} fit for subtitles; do not explain or add notes.
- Use the glossary's translation for every term it lists, and keep names and terms consistent
  with the translations of related lines shown to you.
- Reply with one JSON object mapping each line number (as a string) to its translation, and
  nothing else."""


def language_name(code: str) -> str:
    """``zh`` → "Chinese (Simplified)"; an unknown code stays as it is."""
    key = code.lower().replace("_", "-")
    return LANGUAGES.get(key, LANGUAGES.get(language_base(code), code))


def in_target_script(texts: list[str], target_lang: str) -> list[str]:
    """Built-in example translations (written in Simplified Chinese for ``zh``) in the
    target's script: OpenCC's conversion for a Traditional target (zh-TW, zh-HK, zh-Hant),
    so that an engine asked for Traditional Chinese is not shown Simplified examples."""
    from vloc.style.chinese import to_traditional, traditional_config

    if traditional_config(target_lang) is None:
        return texts
    return to_traditional(texts, target_lang)


def _line(line: Line) -> str:
    text = f"#{line.number} {line.source}"
    return f"{text}\n    -> {line.translation}" if line.translation else text


def system_prompt(request: BatchRequest) -> str:
    """The stable prefix: rules, an example, the synopsis, the glossary and the translation
    memory's examples."""
    src, tgt = language_name(request.source_lang), language_name(request.target_lang)
    parts = [SYSTEM.format(src=src, tgt=tgt)]
    example = EXAMPLES.get(language_base(request.target_lang))
    if example is not None:
        shown = in_target_script(list(example.values()), request.target_lang)
        example = dict(zip(example, shown, strict=True))
    if example is not None and request.source_lang.lower().startswith("en"):
        parts.append(
            "Example.\nLines: " + json.dumps(EXAMPLE_SOURCE, ensure_ascii=False)
            + "\nReply: " + json.dumps(example, ensure_ascii=False)
        )  # fmt: skip
    if request.synopsis:
        parts.append(f"Synopsis of the film: {request.synopsis.strip()}")
    if request.glossary:
        rows = [
            f"- {t.source} => {t.target}" + (f" ({t.note})" if t.note else "")
            for t in request.glossary
        ]
        parts.append("Glossary (always use these translations):\n" + "\n".join(rows))
    if request.examples:
        from vloc.memory.lookup import render_pairs

        parts.append(render_pairs(request.examples))
    return "\n\n".join(parts)


def user_prompt(request: BatchRequest) -> str:
    """The batch: related lines, previous lines, then the lines to translate."""
    parts = []
    if request.related:
        parts.append(
            "Related lines from elsewhere in the film (context only, do not translate):\n"
            + "\n".join(_line(r) for r in request.related)
        )
    if request.previous:
        parts.append(
            "Previous lines (context only, do not translate):\n"
            + "\n".join(_line(p) for p in request.previous)
        )
    if request.notes:
        parts.append(
            "Your last reply for these lines was wrong:\n"
            + "\n".join(f"- {note}" for note in request.notes)
        )
    budgets = {str(c.number): c.budget.chars for c in request.cues if c.budget is not None}
    if budgets:
        parts.append(
            "Each subtitle must be readable in the time it is shown: keep every translation "
            "within its line's character limit (spaces and punctuation count); condense — "
            "drop what the picture or the previous lines already say — rather than exceed it.\n"
            "Limits: " + json.dumps(budgets)
        )
    batch = {str(c.number): c.source for c in request.cues}
    parts.append(
        f"Translate these {len(batch)} lines into {language_name(request.target_lang)}.\n"
        "Lines: " + json.dumps(batch, ensure_ascii=False)
    )
    return "\n\n".join(parts)


def build_messages(
    request: BatchRequest, *, images: list[str] | None = None
) -> list[dict[str, Any]]:
    """Chat messages for ``request``; ``images`` are data URLs attached to the user turn."""
    user: Any = user_prompt(request)
    if images:
        user = [{"type": "text", "text": user}] + [
            {"type": "image_url", "image_url": {"url": url}} for url in images
        ]
    return [
        {"role": "system", "content": system_prompt(request)},
        {"role": "user", "content": user},
    ]


def reask_messages(
    messages: list[dict[str, Any]], reply: str, problem: str, numbers: list[int]
) -> list[dict[str, Any]]:
    """The conversation extended by the rejected reply and what was wrong with it."""
    keys = ", ".join(f'"{n}"' for n in numbers)
    return [
        *messages,
        {"role": "assistant", "content": reply},
        {
            "role": "user",
            "content": f"That reply was rejected: {problem}. Reply again with one JSON object "
            f"with exactly the keys {keys}, each mapped to its translation.",
        },
    ]


def reply_schema(numbers: list[int]) -> dict[str, Any]:
    """JSON schema of a valid reply: exactly the batch's numbers, each a non-empty string."""
    keys = [str(n) for n in numbers]
    return {
        "type": "object",
        "properties": {k: {"type": "string", "minLength": 1} for k in keys},
        "required": keys,
        "additionalProperties": False,
    }


def template_hash() -> str:
    """Identity of the prompt template (keys the journal together with the model)."""
    body = json.dumps(
        {
            "v": PROMPT_VERSION,
            "system": SYSTEM,
            "examples": EXAMPLES,
            "src": EXAMPLE_SOURCE,
            "few_shot": [FEW_SHOT_VERSION, FEW_SHOT_EXAMPLES],
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return sha256_bytes(body.encode())


# ---------------------------------------------------------------- base models: few-shot lines
# A base model (no chat template, e.g. Gemma 3 270M) copies a JSON batch rather than
# translating it; it does translate one line at a time after parallel examples. The film's
# context then *is* the examples: glossary terms, related lines and previous lines that already
# have translations become "source: ... / target: ..." pairs before the line to translate.
FEW_SHOT_VERSION = 1  # bump when the layout below changes (keys the journal)
FEW_SHOT_EXAMPLES = (
    ("General Rommel landed in Tripoli.", "zh", "隆美尔将军在的黎波里登陆。"),
    ("It was February 1941.", "zh", "那是1941年2月。"),
    ("The soldiers waited for orders.", "zh", "士兵们在等待命令。"),
)


def few_shot_prefix(request: BatchRequest) -> str:
    """Everything before the line to translate: a header, the synopsis, then example pairs —
    built-in examples, translation memory pairs, glossary terms, and the context lines that
    have translations."""
    src, tgt = language_name(request.source_lang), language_name(request.target_lang)
    header = f"Subtitles of a documentary film, translated from {src} into {tgt}."
    if request.synopsis:
        header += f" The film: {request.synopsis.strip()}"
    pairs: list[tuple[str, str]] = []
    lang = language_base(request.target_lang)
    shots = [(s, t) for s, lng, t in FEW_SHOT_EXAMPLES if lng == lang]
    shown = in_target_script([t for _, t in shots], request.target_lang)
    pairs += [(s, t) for (s, _), t in zip(shots, shown, strict=True)]
    pairs += list(request.examples)  # a translation memory's approved pairs
    pairs += [(t.source, t.target) for t in request.glossary]
    pairs += [(x.source, x.translation) for x in request.related if x.translation]
    pairs += [(x.source, x.translation) for x in request.previous if x.translation]
    body = "".join(f"{src}: {s}\n{tgt}: {t}\n\n" for s, t in pairs)
    return f"{header}\n\n{body}"


def few_shot_line(request: BatchRequest, source: str) -> str:
    src, tgt = language_name(request.source_lang), language_name(request.target_lang)
    return f"{src}: {source}\n{tgt}:"
