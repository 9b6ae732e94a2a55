"""Line breaking a subtitler would sign off: one line when it fits, else two balanced lines
broken at a natural point. The text is never truncated, reworded or reordered.

Where a line may break:

* every language: at a space (the space is dropped); tags (``<i>``, ``{\\an8}``) are never
  split and do not count toward a line's length;
* Chinese and Japanese also between two words (:mod:`vloc.style.segment`: jieba for Chinese,
  budoux for Japanese) — never inside a word, inside a run of Latin letters or digits, before
  closing punctuation (，。！？、；：」』）》”’) or after opening punctuation (「『（《“‘).

Which break wins: among the allowed points, the one whose lines fit the language's characters
per line, then the lowest cost. The cost is the imbalance of the two lines (characters), plus
or minus, in fractions of the line limit:

* after punctuation (, ; : . ! ? … and their full-width forms; a space between Chinese
  clauses, which is how Chinese subtitles punctuate) — :data:`AFTER_PUNCTUATION` bonus;
* before a conjunction (and, but, because ...; 但是, 因为, 所以 ...) — :data:`BEFORE_CONJUNCTION`;
* before a preposition (Latin scripts) — :data:`BEFORE_PREPOSITION`;
* between an article or determiner and its noun, after a preposition, between a subject
  pronoun and its verb, an auxiliary and its verb, before a negation, between two capitalised
  words (a first and last name, "New York"), between a number and what it counts — the
  :data:`SPLITS_A_UNIT` penalty (allowed only when nothing better fits);
* Chinese: right after 的/地/得/之 (a modifier from its head) — :data:`SPLITS_A_PHRASE`;
* a top line longer than the bottom one (the guides prefer a bottom-heavy pair) — a tie-break.

The function-word lists are :data:`FUNCTION_WORDS` (English, French, German, Spanish,
Italian, Portuguese); other Latin-script languages break at spaces by balance and punctuation.

Cost: linear in the text's length. Only break points within :data:`WINDOW_LINES` line limits of
the middle are examined (every point where both lines fit lies there), and the word segmenter
runs on that window only, so a 400,000-character line takes milliseconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vloc.style.measure import counts
from vloc.style.profiles import LanguageStyle, StyleProfile
from vloc.style.segment import word_boundaries
from vloc.text import LATIN_LETTERS, TAGS, language_base, written_without_spaces

MAX_BREAK_LINES = 2  # a text is broken into at most two lines, whatever a profile allows
WINDOW_LINES = 1.5  # break points examined: within this many line limits of the middle
AFTER_PUNCTUATION = 0.5  # bonuses and penalties, in line limits (16 chars: 8 characters)
BEFORE_CONJUNCTION = 0.3
BEFORE_PREPOSITION = 0.1
SPLITS_A_UNIT = 0.6
SPLITS_A_PHRASE = 0.15
TOP_HEAVY = 0.02
NOT_FITTING = 100.0  # a split whose lines do not fit is chosen only when none fits

_BREAK_AFTER = set(",;:.!?…，。、；：！？—–")
_NO_LINE_START = set("，。！？、；：」』）》〉”’,.;:!?)]}…")
_NO_LINE_END = set("「『（《〈“‘([{")
_WORD_CHAR = re.compile(f"[0-9{LATIN_LETTERS}]")
_EDGE_PUNCT = "\"'“”‘’«»()[]{}¿¡,.;:!?…"

# lower-case function words of Latin-script languages: after them a line must not break
# (articles, determiners, prepositions, subject pronouns, auxiliaries), before them it may
FUNCTION_WORDS: dict[str, dict[str, frozenset[str]]] = {
    "en": {
        "no_break_after": frozenset(
            "a an the this that these those my your his her its our their some any each "
            "every no of to in on at for with from by about into onto over under after before "
            "between through during without within against among i you he she we they it "
            "is are was were am be been being have has had do does did will would shall "
            "should can could may might must not mr mrs ms dr st".split()
        ),
        "conjunctions": frozenset(
            "and but or nor so yet because although though while whereas if unless until "
            "when whenever where since than that which who whom whose".split()
        ),
        "prepositions": frozenset(
            "of to in on at for with from by about into onto over under after before "
            "between through during without within against among across along around".split()
        ),
        "negations": frozenset("not n't never".split()),
    },
    "fr": {
        "no_break_after": frozenset(
            "le la les l' un une des du de d' au aux ce cet cette ces mon ma mes ton ta tes "
            "son sa ses notre nos votre vos leur leurs à en dans sur sous par pour avec sans "
            "chez vers je tu il elle on nous vous ils elles ne est sont était a ont".split()
        ),
        "conjunctions": frozenset("et mais ou donc or ni car que qui quand si comme".split()),
        "prepositions": frozenset("à de en dans sur sous par pour avec sans chez vers".split()),
        "negations": frozenset("pas plus jamais".split()),
    },
    "de": {
        "no_break_after": frozenset(
            "der die das den dem des ein eine einen einem einer eines mein meine sein seine "
            "ihr ihre unser unsere in an auf aus bei mit nach von zu für über unter vor "
            "ich du er sie es wir ihr ist sind war waren hat haben wird werden".split()
        ),
        "conjunctions": frozenset("und aber oder denn sondern weil dass wenn als ob".split()),
        "prepositions": frozenset("in an auf aus bei mit nach von zu für über unter vor".split()),
        "negations": frozenset("nicht kein keine".split()),
    },
    "es": {
        "no_break_after": frozenset(
            "el la los las un una unos unas lo al del mi mis tu tus su sus nuestro nuestra "
            "este esta estos estas ese esa a de en con por para sin sobre entre desde hasta "
            "yo tú él ella nosotros ellos ellas es son era fue ha han no".split()
        ),
        "conjunctions": frozenset("y e o u pero sino porque aunque que si cuando como".split()),
        "prepositions": frozenset("a de en con por para sin sobre entre desde hasta".split()),
        "negations": frozenset(),
    },
    "it": {
        "no_break_after": frozenset(
            "il lo la i gli le un uno una del della dei degli delle al alla ai mio mia suo "
            "sua di a da in con su per tra fra io tu lui lei noi voi loro è sono era ha hanno "
            "non".split()
        ),
        "conjunctions": frozenset("e ed o ma però perché che se quando come".split()),
        "prepositions": frozenset("di a da in con su per tra fra".split()),
        "negations": frozenset(),
    },
    "pt": {
        "no_break_after": frozenset(
            "o a os as um uma uns umas do da dos das no na nos nas ao à meu minha seu sua "
            "este esta esse essa de em com por para sem sobre entre eu tu ele ela nós eles "
            "elas é são era foi tem não".split()
        ),
        "conjunctions": frozenset("e ou mas porque que se quando como embora".split()),
        "prepositions": frozenset("de em com por para sem sobre entre".split()),
        "negations": frozenset(),
    },
}
ZH_CONJUNCTIONS = (
    "但是", "可是", "不过", "然而", "而且", "并且", "所以", "因此", "因为", "如果", "虽然", "尽管",
    "即使", "然后", "于是", "或者", "还是", "以及", "甚至", "直到", "只是", "但", "而", "并", "和",
)  # fmt: skip
ZH_MODIFIER_ENDS = set("的地得之")


@dataclass(frozen=True)
class _Point:
    end: int  # line 1 is text[:end]
    start: int  # line 2 is text[start:]
    cost: float  # bonuses (negative) and penalties of breaking here, in characters


def _word_before(text: str, end: int) -> str:
    i = end
    while i > 0 and not text[i - 1].isspace():
        i -= 1
    return text[i:end]


def _word_after(text: str, start: int) -> str:
    j = start
    while j < len(text) and not text[j].isspace():
        j += 1
    return text[start:j]


def _bare(word: str) -> str:
    return TAGS.sub("", word).strip(_EDGE_PUNCT).lower()


def _latin_cost(text: str, end: int, start: int, lang: str, limit: int) -> float:
    """Bonuses and penalties of breaking the space between ``text[:end]`` and ``text[start:]``."""
    before, after = _word_before(text, end), _word_after(text, start)
    words = FUNCTION_WORDS.get(language_base(lang))
    cost = 0.0
    last = TAGS.sub("", before)[-1:]
    if last and last in _BREAK_AFTER:
        return -AFTER_PUNCTUATION * limit  # a clause ends here: the best place
    b, a = _bare(before), _bare(after)
    if words is not None:
        if a in words["conjunctions"]:
            cost -= BEFORE_CONJUNCTION * limit
        elif a in words["prepositions"]:
            cost -= BEFORE_PREPOSITION * limit
        if b in words["no_break_after"] or a in words["negations"] or a.startswith("n'"):
            cost += SPLITS_A_UNIT * limit
    plain_b, plain_a = TAGS.sub("", before), TAGS.sub("", after)
    if plain_b[:1].isupper() and plain_a[:1].isupper() and plain_b.isalpha():
        cost += SPLITS_A_UNIT * limit  # "Erwin | Rommel", "New | York"
    if plain_b[-1:].isdigit() and plain_a[:1].isalpha():
        cost += SPLITS_A_UNIT * limit  # "1942 | tanks", "5 | km"
    return cost


def _cjk_cost(text: str, end: int, start: int, limit: int) -> float:
    prev = text[end - 1]
    if prev in _BREAK_AFTER or start > end:  # after punctuation, or at a clause space
        return -AFTER_PUNCTUATION * limit
    cost = 0.0
    if text.startswith(ZH_CONJUNCTIONS, start):
        cost -= BEFORE_CONJUNCTION * limit
    if prev in ZH_MODIFIER_ENDS:
        cost += SPLITS_A_PHRASE * limit
    if prev.isdigit():
        cost += SPLITS_A_UNIT * limit  # "1942 | 年"
    return cost


def _tag_mask(text: str) -> list[bool]:
    """True at every character inside a tag."""
    mask = [False] * len(text)
    for m in TAGS.finditer(text):
        for i in range(m.start(), m.end()):
            mask[i] = True
    return mask


def _points(text: str, lang: str, lo: int, hi: int, limit: int, in_tag: list[bool]) -> list[_Point]:
    """Allowed break points with ``lo <= end <= hi``."""
    cjk = written_without_spaces(lang)
    bounds = word_boundaries(text[lo:hi], lang) if cjk else None
    points: list[_Point] = []
    i = max(lo, 1)
    while i < min(hi, len(text)):
        ch = text[i]
        if ch.isspace() and not in_tag[i]:
            j = i
            while j < len(text) and text[j].isspace():
                j += 1
            if j < len(text) and i > 0:
                cost = _cjk_cost(text, i, j, limit) if cjk else _latin_cost(text, i, j, lang, limit)
                points.append(_Point(i, j, cost))
            i = j
            continue
        if (
            bounds is not None
            and (i - lo) in bounds
            and not in_tag[i]
            and not in_tag[i - 1]
            and not text[i - 1].isspace()
            and ch not in _NO_LINE_START
            and text[i - 1] not in _NO_LINE_END
            and not (_WORD_CHAR.match(text[i - 1]) and _WORD_CHAR.match(ch))
        ):
            points.append(_Point(i, i, _cjk_cost(text, i, i, limit)))
        i += 1
    return points


def _join_lines(text: str) -> str:
    """One line: the text's lines joined by a space, or directly after a full-width mark."""
    lines = [" ".join(line.split()) for line in text.split("\n")]
    out = ""
    for line in lines:
        if not line:
            continue
        glue = "" if not out or out[-1] in "，。、；：！？…」』）》" else " "
        out += glue + line
    return out


def break_lines(
    text: str,
    lang: str,
    style: LanguageStyle | None = None,
    *,
    profile: StyleProfile | None = None,
) -> list[str]:
    """``text`` as at most two lines for ``lang`` under ``style`` (default: the profile's
    style for ``lang``; the ``default`` profile when neither is given).

    A text whose own lines already fit (count and length) keeps them. Otherwise its lines are
    joined and broken again: one line when it fits, else two at the best point (see the
    module docstring). Lines may stay over the limit when no split fits; use :func:`fits`.
    """
    if style is None:
        from vloc.style.profile_file import load_profile

        style = load_profile(profile).for_language(lang)
    own = [" ".join(line.split()) for line in text.split("\n") if line.strip()]
    if (
        own
        and len(own) <= min(style.lines, MAX_BREAK_LINES)
        and all(_chars(line, style) <= style.chars_per_line for line in own)
    ):
        return own
    one = _join_lines(text)
    if not one:
        return []
    limit = style.chars_per_line
    in_tag = _tag_mask(one)
    # counted[i]: characters of one[:i] as the style counts them (tags excluded)
    counted = [0] * (len(one) + 1)
    for i, ch in enumerate(one):
        counted[i + 1] = counted[i] + (0 if in_tag[i] else counts(ch, style))
    total = counted[-1]
    if total <= limit or style.lines < 2:
        return [one]
    # the break points near the middle, by character index
    half = total / 2
    mid = next(i for i in range(len(one) + 1) if counted[i] >= half)
    reach = int(WINDOW_LINES * limit) + 1
    lo, hi = max(0, mid - reach), min(len(one), mid + reach)
    best: tuple[float, int, int] | None = None
    for p in _points(one, lang, lo, hi, limit, in_tag):
        first, second = counted[p.end], total - counted[p.start]
        cost = abs(first - second) + p.cost + (TOP_HEAVY * limit if first > second else 0.0)
        if max(first, second) > limit:
            cost += NOT_FITTING * limit + max(first, second)
        if best is None or cost < best[0]:
            best = (cost, p.end, p.start)
    if best is None:
        return [one]
    _, end, start = best
    return [one[:end].rstrip(), one[start:].lstrip()]


def _chars(line: str, style: LanguageStyle) -> int:
    return sum(1 for ch in TAGS.sub("", line) if counts(ch, style))


def fits(lines: list[str], style: LanguageStyle) -> bool:
    """Do ``lines`` keep to ``style``'s lines per cue and characters per line?"""
    return len(lines) <= style.lines and all(
        _chars(x, style) <= style.chars_per_line for x in lines
    )


def break_text(
    text: str,
    lang: str,
    *,
    profile: StyleProfile | str | None = None,
    style: LanguageStyle | None = None,
) -> tuple[str, bool]:
    """Drop-in for :func:`vloc.style.readability.break_text`: ``(text with "\\n" between
    its lines, whether they fit)``; ``profile`` is a :class:`StyleProfile` or a shipped name
    (default ``streaming``'s limits, as the old function had).

    Example::

        >>> break_text("在夏天，源头干涸了，河流也随之消失。", "zh")
        ('在夏天，源头干涸了，\\n河流也随之消失。', True)
    """
    if style is None:
        from vloc.style.profile_file import load_profile

        style = load_profile(profile or "streaming").for_language(lang)
    lines = break_lines(text, lang, style)
    return "\n".join(lines), fits(lines, style)
