"""Parallel English/Chinese sentence templates for the synthetic documentaries.

Every template has an English and a Chinese side with the same slots; ``{n}`` is a place name
(:func:`make_name` gives both spellings, e.g. ``Karomi`` / ``卡罗米``). Chinese word choice is
consistent: one English sense always maps to the same Chinese word.

Three kinds of line:

* *revealing* lines name their topic (river, dunes, pines, traffic) and sit over shots of it;
* *ambiguous* lines contain a word whose Chinese translation depends on the topic and nothing
  else that reveals it; the English text is the same whatever the topic;
* *filler* lines are topic-free narration without a place name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOPICS = ("water", "desert", "forest", "city")  # visual topics, one shot family each

# (English syllable, Chinese transliteration); names are 3 syllables -> 30^3 = 27,000 names
NAME_SYLLABLES = (
    ("ka", "卡"), ("ro", "罗"), ("mi", "米"), ("ta", "塔"), ("vo", "沃"), ("sa", "萨"),
    ("na", "纳"), ("le", "勒"), ("di", "迪"), ("ba", "巴"), ("lo", "洛"), ("ri", "里"),
    ("ve", "维"), ("ma", "马"), ("te", "特"), ("no", "诺"), ("si", "西"), ("la", "拉"),
    ("ko", "科"), ("bu", "布"), ("du", "杜"), ("fe", "费"), ("go", "戈"), ("ha", "哈"),
    ("ni", "尼"), ("pa", "帕"), ("so", "索"), ("tu", "图"), ("za", "扎"), ("mo", "莫"),
)  # fmt: skip
NAME_SYLLABLE_COUNT = 3


@dataclass(frozen=True)
class Name:
    """A place name in both languages."""

    en: str  # "Karomi"
    zh: str  # "卡罗米"
    syllables: tuple[int, ...]  # indices into NAME_SYLLABLES


def make_name(rng: np.random.Generator, avoid: frozenset[int] = frozenset()) -> Name:
    """A random 3-syllable name whose syllables are distinct and not in ``avoid``."""
    pool = [i for i in range(len(NAME_SYLLABLES)) if i not in avoid]
    picks = tuple(int(i) for i in rng.choice(pool, size=NAME_SYLLABLE_COUNT, replace=False))
    en = "".join(NAME_SYLLABLES[i][0] for i in picks).capitalize()
    zh = "".join(NAME_SYLLABLES[i][1] for i in picks)
    return Name(en=en, zh=zh, syllables=picks)


# ------------------------------------------------------------------------- revealing lines

REVEALING: dict[str, tuple[tuple[str, str], ...]] = {
    "water": (
        ("The river at {n} is wide and slow.", "{n}的河面宽阔而平缓。"),
        ("Fish gather in the shallow water near {n}.", "鱼群聚集在{n}附近的浅水里。"),
        ("Boats cross the lake at {n} every morning.", "每天早上都有船只穿过{n}的湖面。"),
        ("Rain fills the streams above {n}.", "雨水注满了{n}上游的溪流。"),
        ("The lake at {n} freezes only once in ten years.", "{n}的湖面十年才结一次冰。"),
        ("Herons wade through the reeds of {n}.", "苍鹭在{n}的芦苇丛中涉水而行。"),
        ("The water of {n} is clear enough to see the stones.", "{n}的水清澈得能看见石头。"),
        ("Fishermen cast their nets into the river at {n}.", "渔民们把渔网撒进{n}的河里。"),
        ("Floods reshape the riverbed of {n} every decade.", "洪水每十年就会重塑{n}的河床。"),
        ("Children swim in the cold river of {n}.", "孩子们在{n}冰凉的河水里游泳。"),
    ),
    "desert": (
        ("The dunes around {n} move a few metres every year.", "{n}周围的沙丘每年移动几米。"),
        ("Sand covers the old road to {n}.", "黄沙掩埋了通往{n}的旧路。"),
        ("Camels still carry salt across the desert of {n}.", "骆驼仍然驮着盐穿越{n}的沙漠。"),
        ("At noon the desert around {n} is silent.", "正午时分，{n}周围的沙漠一片寂静。"),
        ("Sandstorms hide {n} for days at a time.", "沙尘暴常常一连几天遮蔽{n}。"),
        ("Lizards hide from the sun in the sand of {n}.", "蜥蜴躲在{n}的沙子里避开烈日。"),
        ("The desert of {n} has not seen rain for years.", "{n}的沙漠已经多年没有下雨了。"),
        ("Nomads cross the dunes of {n} at night.", "游牧民在夜里穿越{n}的沙丘。"),
        (
            "Cactus and thorn are all that grow in the sand of {n}.",
            "{n}的沙地上只长着仙人掌和荆棘。",
        ),
        ("The sun bakes the sand of {n} until it burns.", "烈日把{n}的沙子晒得滚烫。"),
    ),
    "forest": (
        ("Tall pines surround {n} on every side.", "高大的松树从四面八方环绕着{n}。"),
        ("Moss grows on every tree in the woods of {n}.", "{n}林中的每棵树上都长着苔藓。"),
        ("Owls hunt among the oaks of {n} at night.", "夜里，猫头鹰在{n}的橡树间捕猎。"),
        ("The forest of {n} is dark even at midday.", "{n}的森林即使在正午也很昏暗。"),
        ("Deer move quietly through the woods of {n}.", "鹿群悄悄地穿过{n}的树林。"),
        ("Mushrooms cover the forest floor of {n}.", "蘑菇铺满了{n}的林地。"),
        ("Woodpeckers drum on the old trees of {n}.", "啄木鸟在{n}的老树上笃笃地敲击。"),
        ("Ferns grow thick under the trees of {n}.", "{n}的树下长满了茂密的蕨类。"),
        ("The leaves of {n} turn gold before they fall.", "{n}的树叶在飘落之前会变成金色。"),
        ("Foresters count the trees of {n} every year.", "护林员每年都要清点{n}的树木。"),
    ),
    "city": (
        ("Traffic fills the streets of {n} at dawn.", "黎明时分，车流挤满了{n}的街道。"),
        ("Office towers rise above the old town of {n}.", "写字楼高耸在{n}老城区的上方。"),
        ("The subway of {n} carries a million people a day.", "{n}的地铁每天运送一百万人。"),
        ("Neon signs light up the streets of {n}.", "霓虹灯照亮了{n}的街道。"),
        ("Buses crowd the main square of {n}.", "公交车挤满了{n}的中心广场。"),
        ("The city of {n} never really sleeps.", "{n}这座城市从来不曾真正入睡。"),
        ("Apartment blocks line every street of {n}.", "{n}的每条街道两旁都是公寓楼。"),
        ("Taxis wait outside the station of {n}.", "出租车在{n}的车站外等候。"),
        ("Shops in {n} open before the commuters arrive.", "{n}的商店在通勤族到来之前就开门了。"),
        ("Street lights of {n} switch on at six.", "{n}的路灯六点亮起。"),
    ),
}


# ------------------------------------------------------------------------- ambiguous lines


@dataclass(frozen=True)
class AmbiguousWord:
    """An English word whose Chinese translation depends on the film's visual topic."""

    word: str  # "dry"
    senses: dict[str, str]  # topic -> Chinese word ("water" -> "干涸")
    templates: tuple[tuple[str, dict[str, str]], ...]  # (English, topic -> Chinese sentence)

    @property
    def topics(self) -> tuple[str, str]:
        return tuple(self.senses)  # type: ignore[return-value]


def _word(word: str, senses: dict[str, str], *templates: tuple[str, str, str]) -> AmbiguousWord:
    """Build an :class:`AmbiguousWord` from (English, Chinese for sense 1, for sense 2) rows."""
    topics = list(senses)
    rows = tuple((en, {topics[0]: zh1, topics[1]: zh2}) for en, zh1, zh2 in templates)
    return AmbiguousWord(word=word, senses=senses, templates=rows)


AMBIGUOUS_WORDS: tuple[AmbiguousWord, ...] = (
    _word(
        "dry",
        {"water": "干涸", "desert": "干燥"},
        ("By late summer, {n} is completely dry.",
         "到了夏末，{n}已经完全干涸了。", "到了夏末，{n}已经完全干燥了。"),
        ("Locals say {n} was never this dry.",
         "当地人说，{n}从来没有这么干涸过。", "当地人说，{n}从来没有这么干燥过。"),
    ),
    _word(
        "wave",
        {"water": "波浪", "desert": "热浪"},
        ("Another wave is coming towards {n}.",
         "又一道波浪正朝{n}涌来。", "又一股热浪正朝{n}袭来。"),
        ("The last wave reached {n} in the afternoon.",
         "最后一道波浪在下午抵达{n}。", "最后一股热浪在下午抵达{n}。"),
    ),
    _word(
        "bank",
        {"water": "河岸", "city": "银行"},
        ("People meet at the bank in {n} every morning.",
         "人们每天早上在{n}的河岸见面。", "人们每天早上在{n}的银行见面。"),
        ("The old bank of {n} is being rebuilt.",
         "{n}的旧河岸正在重建。", "{n}的老银行正在重建。"),
    ),
    _word(
        "current",
        {"water": "水流", "city": "电流"},
        ("The current at {n} is stronger than it looks.",
         "{n}的水流比看上去更强。", "{n}的电流比看上去更强。"),
        ("Engineers measure the current at {n} every hour.",
         "工程师们每小时测量一次{n}的水流。", "工程师们每小时测量一次{n}的电流。"),
    ),
    _word(
        "plant",
        {"forest": "植物", "city": "工厂"},
        ("Nobody knows how old the plant at {n} is.",
         "没人知道{n}的这种植物有多古老。", "没人知道{n}的这座工厂有多古老。"),
        ("The plant near {n} needs a lot of water.",
         "{n}附近的植物需要大量的水。", "{n}附近的工厂需要大量的水。"),
    ),
    _word(
        "trunk",
        {"forest": "树干", "city": "后备箱"},
        ("Someone left a mark on the trunk at {n}.",
         "有人在{n}的树干上留下了记号。", "有人在{n}的后备箱上留下了记号。"),
        ("The trunk was found near {n} last year.",
         "去年在{n}附近发现了这截树干。", "去年在{n}附近发现了这个后备箱。"),
    ),
    _word(
        "branch",
        {"forest": "树枝", "city": "分行"},
        ("The branch at {n} is over a hundred years old.",
         "{n}的这根树枝已有一百多年的历史。", "{n}的这家分行已有一百多年的历史。"),
        ("Everyone in {n} knows that branch.",
         "{n}的每个人都知道那根树枝。", "{n}的每个人都知道那家分行。"),
    ),
    _word(
        "spring",
        {"water": "泉水", "forest": "春天"},
        ("Everything at {n} begins with the spring.",
         "在{n}，一切都从泉水开始。", "在{n}，一切都从春天开始。"),
        ("The spring brings life back to {n}.",
         "泉水让{n}重新焕发生机。", "春天让{n}重新焕发生机。"),
        ("Visitors come to {n} for the spring.",
         "游客们为了泉水来到{n}。", "游客们为了春天来到{n}。"),
    ),
)  # fmt: skip


# ---------------------------------------------------------------------------- filler lines

FILLERS: tuple[tuple[str, str], ...] = (
    ("Scientists have studied this place for decades.", "科学家们研究这个地方已经几十年了。"),
    ("Few visitors ever see it like this.", "很少有游客见过它这个样子。"),
    ("The changes happen slowly, year after year.", "变化缓慢地发生，年复一年。"),
    ("Nobody expected what came next.", "没有人料到接下来发生的事。"),
    ("It is a story about time and patience.", "这是一个关于时间和耐心的故事。"),
    ("Some of these changes cannot be undone.", "其中一些变化已经无法逆转。"),
    ("The old maps tell a different story.", "旧地图讲述的是另一个故事。"),
    ("For now, everything seems calm.", "眼下，一切似乎都很平静。"),
    ("Our team returned here three years later.", "三年后，我们的团队又回到了这里。"),
    ("What happens here affects the whole region.", "这里发生的事影响着整个地区。"),
    ("The numbers are hard to believe.", "这些数字令人难以置信。"),
    ("Every generation has seen it differently.", "每一代人眼中的它都不一样。"),
    ("There is still much we do not understand.", "我们仍有许多不明白的地方。"),
    ("The first records date back two centuries.", "最早的记录可以追溯到两个世纪前。"),
    ("Life here follows its own rhythm.", "这里的生活遵循着自己的节奏。"),
    ("This is only the beginning.", "这仅仅是个开始。"),
)

# Topic-free lines that do name the place (summarization transcripts).
NAMED_NEUTRAL: tuple[tuple[str, str], ...] = (
    ("Few people have ever heard of {n}.", "很少有人听说过{n}。"),
    ("The story of {n} began long ago.", "{n}的故事很久以前就开始了。"),
    ("{n} changes with every season.", "{n}随着每个季节而变化。"),
    ("We spent a whole year in {n}.", "我们在{n}度过了整整一年。"),
    ("The people of {n} remember the old days.", "{n}的人们还记得过去的日子。"),
    ("Nobody knows what the future holds for {n}.", "没有人知道{n}的未来会怎样。"),
    ("Life in {n} is not easy.", "在{n}生活并不容易。"),
    ("Each morning in {n} starts the same way.", "{n}的每个早晨都以同样的方式开始。"),
    ("Maps of {n} are still incomplete.", "{n}的地图至今仍不完整。"),
    ("Researchers came to {n} to find answers.", "研究人员来到{n}寻找答案。"),
)


def fill(template: str, name: Name, lang: str) -> str:
    """Substitute the place name (English or Chinese spelling) into a template."""
    return template.format(n=name.en if lang == "en" else name.zh)
