"""The model catalogue: installed models of every kind, where they are looked up and which
one a run uses (always a folder, a :class:`~pathlib.Path`).

A model folder is looked up by name as ``models/<name>/`` under ``$VLOC_HOME`` and then in
the repository (the first place wins for a name found in both), or given as a path: a model
folder, or a training output whose ``best/`` is the model. Kinds (:data:`KINDS`):

* ``translator``: ``config.json``, ``model.safetensors``, ``src_tokenizer/``,
  ``tgt_tokenizer/`` and optionally ``translator.json`` (:mod:`vloc.translator.loading`);
* ``summarizer``: the same files with ``summarizer.json`` (:mod:`vloc.summarizer.summarize`);
* ``align``: ``config.json``, ``model.safetensors``, ``align.json`` and ``card.md``: a
  video–text alignment model for search by what is seen (:mod:`vloc.align`).

Both JSON files record the feature extractor the model was trained on in one block,
``"features"``: :class:`~vloc.features.FeatureOptions` fields (``backbone``, ``weights`` — a
file in the model folder, an absolute path, ``"random"`` or a registry name —, ``seed``,
``width``, ``fps``, ``clip_len``, ``size``, ``grid``). Summarizers written before kept these
settings in ``"video"`` (with ``clip_frames`` for ``clip_len``); :func:`feature_settings`
reads both, so shipped and users' folders keep loading.

Translation can also run on pretrained engines that have no folder here (``--engine``,
:mod:`vloc.engines`): :data:`ENGINE_KINDS` names them and what their ``--model`` is (a seq2seq
model folder or hub name, a GGUF file, a server's model id); :func:`engine_kinds` lists them
for refusals without importing them. Hub names (seq2seq models, sentence encoders, CLIP) are
looked up in :func:`vloc.workspace.hf_cache_dir`.

Everything here reads JSON only, so that a missing model or a wrong ``--to`` fails before
torch is imported; each kind's package loads the folder :func:`resolve` returns
(:func:`vloc.translator.loading.open_model`, :func:`vloc.summarizer.loading.load_model_folder`,
:func:`vloc.align.model.load_align_model`). Nothing here imports a package above it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vloc.errors import InputError, WeightsError
from vloc.fileio import read_json
from vloc.workspace import vloc_home

MODELS_DIR = "models"  # models/<name>/ under $VLOC_HOME and in the repository
BEST_DIR = "best"  # a training output's exported model
SRC_TOKENIZER_DIR = "src_tokenizer"
TGT_TOKENIZER_DIR = "tgt_tokenizer"
TOKENIZER_META = "vloc_tokenizer.json"  # a tokenizer folder's JSON (holds its "lang")
FEATURES_KEY = "features"  # the feature-settings block of translator.json / summarizer.json
LEGACY_VIDEO_KEY = "video"  # summarizers' former feature-settings block
LEGACY_FIELD_NAMES = {"clip_frames": "clip_len"}  # "video" names → FeatureOptions names
FEATURE_FIELDS = ("backbone", "weights", "seed", "width", "fps", "clip_len", "size", "grid")


@dataclass(frozen=True)
class Kind:
    """One kind of installed model: how its folders are recognised and refused."""

    name: str  # "translator" | "summarizer" | "align"
    info_file: str  # vloc's JSON beside config.json
    info_required: bool  # a folder of this kind must hold info_file
    target_lang: Callable[[Path], str | None]  # the language a folder writes (JSON only)
    none_into: str  # refusal when nothing writes --to, formatted with to=...
    train_command: str  # how to make one
    engines_hint: str  # how to do without one (pretrained engines)
    exact_lang: bool  # --to must equal the model's language (else: same base language)
    files: str  # what a folder of this kind holds, for refusals
    flag: str = "--model"  # the flag that names one
    label: str = ""  # "a translator", "an align model" (default: "a <name>")

    @property
    def a_name(self) -> str:
        return self.label or f"a {self.name}"


def _read_json(path: Path) -> dict[str, Any] | None:
    """A model folder's JSON object, None when absent or unreadable (a listing goes on)."""
    return read_json(path, what="model JSON", require_object=True, default=None)


def tokenizer_lang(folder: Path, tokenizer_dir: str) -> str | None:
    """The ``lang`` a tokenizer folder records (JSON only), None when unreadable."""
    meta = _read_json(folder / tokenizer_dir / TOKENIZER_META)
    lang = meta.get("lang") if meta else None
    return str(lang) if lang else None


def _summary_lang(folder: Path) -> str | None:
    info = _read_json(folder / "summarizer.json") or {}
    if info.get("stage") == "2":  # a distilled encoder, not a summarizer
        return None
    lang = info.get("tgt_lang")
    return str(lang) if lang else None


@dataclass(frozen=True)
class EngineKind:
    """One translation engine of ``--engine``: what its ``--model`` names."""

    name: str  # "openai" | "gguf" | "seq2seq"
    llm: bool  # a prompted language model (it can also summarize and draft)
    model_is: str  # what --model names for it


ENGINE_KINDS: dict[str, EngineKind] = {
    "openai": EngineKind("openai", True, "the server's model id"),
    "gguf": EngineKind("gguf", True, "a .gguf file"),
    "seq2seq": EngineKind("seq2seq", False, "a seq2seq model name"),  # or folder
}


def engine_kinds(*, llm_only: bool = False) -> tuple[str, ...]:
    """Pretrained translation engines (``--engine``; vloc's own models are not one)."""
    return tuple(k.name for k in ENGINE_KINDS.values() if k.llm or not llm_only)


KINDS: dict[str, Kind] = {
    "translator": Kind(
        "translator",
        "translator.json",
        False,
        lambda f: tokenizer_lang(f, TGT_TOKENIZER_DIR),
        "no installed model translates into {to!r}",
        "vloc train translate",
        "translate with a pretrained engine: --engine {engines} --model ...",
        False,
        "config.json, model.safetensors, src_tokenizer/ and tgt_tokenizer/",
    ),
    "summarizer": Kind(
        "summarizer",
        "summarizer.json",
        True,
        _summary_lang,
        "no installed summarizer writes {to!r}",
        "vloc train summarize",
        "summarize with an LLM: --engine {llm_engines} --model ...",
        True,
        "summarizer.json, config.json, model.safetensors, src_tokenizer/ and tgt_tokenizer/",
    ),
    "align": Kind(
        "align",
        "align.json",
        True,
        lambda f: None,  # writes no language: it maps clips and sentences into one space
        "no installed video–text align model",
        "vloc train align",
        "index without --align and search with --by said",
        True,
        "align.json, config.json and model.safetensors",
        flag="--align",
        label="an align model",
    ),
}


def kind_of(kind: str) -> Kind:
    if kind not in KINDS:
        raise InputError(f"unknown model kind {kind!r}; valid: {', '.join(KINDS)}")
    return KINDS[kind]


def model_dirs() -> list[Path]:
    """Where model names are looked up: ``$VLOC_HOME/models``, then the repository's."""
    return [vloc_home() / MODELS_DIR, Path(__file__).resolve().parents[1] / MODELS_DIR]


def model_name(folder: Path) -> str:
    """A model's name: its folder's, or the training output's for a ``best/`` folder."""
    return folder.parent.name if folder.name == BEST_DIR else folder.name


def is_model(kind: str, folder: Path) -> bool:
    """Whether ``folder`` holds a model of ``kind`` (weights, config and the kind's JSON)."""
    k = kind_of(kind)
    if not ((folder / "config.json").is_file() and (folder / "model.safetensors").is_file()):
        return k.info_required and (folder / k.info_file).is_file()  # stage-2 outputs too
    others = [o.info_file for o in KINDS.values() if o.info_required and o is not k]
    if any((folder / f).is_file() for f in others):
        return False
    return not k.info_required or (folder / k.info_file).is_file()


def model_folder(kind: str, folder: Path) -> Path | None:
    """``folder`` itself, or its ``best/`` when it is a training output; None otherwise."""
    if is_model(kind, folder):
        return folder
    if is_model(kind, folder / BEST_DIR):
        return folder / BEST_DIR
    return None


def named_model(kind: str, name: str) -> Path | None:
    """The model of ``kind`` installed as ``<models dir>/<name>/`` (the first of
    :func:`model_dirs` that holds one); None when there is none or ``name`` is a path."""
    if "/" in name or "\\" in name or name.startswith("."):
        return None
    for base in model_dirs():
        if (base / name).is_dir() and (model := model_folder(kind, base / name)) is not None:
            return model
    return None


def installed(kind: str) -> list[Path]:
    """Installed model folders of ``kind``, sorted by name (the first place wins for a name)."""
    found: dict[str, Path] = {}
    for base in model_dirs():
        if base.is_dir():
            for sub in sorted(base.iterdir()):
                model = model_folder(kind, sub) if sub.is_dir() else None
                if model is not None and sub.name not in found:
                    if kind != "translator" or (model / TGT_TOKENIZER_DIR).is_dir():
                        found[sub.name] = model
    return [found[k] for k in sorted(found)]


def read_info(kind: str, folder: Path) -> dict[str, Any]:
    """The kind's JSON in ``folder`` as a dict ({} when absent); a folder-naming error when
    unreadable."""
    k = kind_of(kind)
    path = folder / k.info_file
    if not path.is_file():
        return {}
    return read_json(
        path, what=f"model information ({k.info_file})", error=WeightsError, require_object=True
    )


def is_demo(kind: str, folder: Path) -> bool:
    """Marked ``"demo": true`` in its JSON (a shipped demo: never shadows a real model)."""
    try:
        return read_info(kind, folder).get("demo") is True
    except WeightsError:
        return False


def feature_settings(info: dict[str, Any]) -> dict[str, Any] | None:
    """The recorded feature-extractor settings (FeatureOptions field names), from the
    ``"features"`` block or a summarizer's former ``"video"`` block; None: none recorded.
    Unknown keys are kept so that callers can refuse them."""
    feats = info.get(FEATURES_KEY)
    if feats is not None:
        return feats if isinstance(feats, dict) else {"<not an object>": feats}
    video = info.get(LEGACY_VIDEO_KEY)
    if not isinstance(video, dict):
        return None
    out = {LEGACY_FIELD_NAMES.get(k, k): v for k, v in video.items()}
    return {k: v for k, v in out.items() if k in FEATURE_FIELDS}


def describe_installed(kind: str) -> str:
    """``synth-en-zh (en→zh, demo), my-en-zh (en→zh)``, or ``none``: installed models."""
    rows = []
    for p in installed(kind):
        if kind == "translator":
            src = tokenizer_lang(p, SRC_TOKENIZER_DIR)
            tgt = tokenizer_lang(p, TGT_TOKENIZER_DIR)
        elif kind == "align":  # video ↔ the languages it was trained on
            langs = (_read_json(p / kind_of(kind).info_file) or {}).get("languages") or ["?"]
            src, tgt = "video", "+".join(map(str, langs))
        else:
            info = _read_json(p / kind_of(kind).info_file) or {}
            src, tgt = info.get("src_lang"), info.get("tgt_lang")
        demo = ", demo)" if is_demo(kind, p) else ")"
        rows.append(f"{model_name(p)} ({src or '?'}→{tgt or '?'}{demo}")
    return ", ".join(rows) if rows else "none"


def missing(kind: str, what: str) -> WeightsError:
    """The refusal for a model that is not there: what is installed, and the ways out."""
    k = kind_of(kind)
    listed = describe_installed(kind)
    listed = listed if listed != "none" else "none installed"
    where = " and ".join(str(d) for d in model_dirs())
    hint = k.engines_hint.format(
        engines="|".join(engine_kinds()), llm_engines="|".join(engine_kinds(llm_only=True))
    )
    return WeightsError(
        f"{what}; models in {where}: {listed}. Pass {k.flag} NAME for one of them or "
        f"{k.flag} PATH for a folder with {k.files} (the output of `{k.train_command}` or its "
        f"{BEST_DIR}/ folder), or {hint}"
    )


def resolve(kind: str, name_or_path: str | Path | None, *, to: str = "") -> Path:
    """The model folder for ``--model`` (a path or a name); None picks the only installed
    model of ``kind`` into ``to`` (a demo only when no other one writes ``to``)."""
    k = kind_of(kind)
    if name_or_path is None:
        matches = [p for p in installed(kind) if _fits(k, k.target_lang(p) or "", to)]
        real = [p for p in matches if not is_demo(kind, p)]
        if len(real) == 1:
            return real[0]  # a demo never shadows a real model
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise missing(kind, k.none_into.format(to=to))
        names = ", ".join(model_name(p) for p in matches)
        raise missing(kind, f"several models write {to!r} ({names}): choose one with --model")
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        model = model_folder(kind, path)
        if model is None:
            raise WeightsError(
                f"not {k.a_name} folder: expected {k.files} (the output of "
                f"`{k.train_command}`, or a training output with {BEST_DIR}/)",
                path=path,
            )
        return model
    if path.exists():
        raise WeightsError(
            f"{k.flag} must be a model folder or a model name, not a file", path=path
        )
    name = str(name_or_path)
    model = named_model(kind, name)
    if model is not None:
        return model
    raise missing(kind, f"{k.name} model {name!r} not found")


def lang_base(lang: str) -> str:
    """``zh-Hans`` → ``zh``."""
    return re.split(r"[-_]", lang.lower(), maxsplit=1)[0]


def lang_region(lang: str) -> str:
    """``zh-Hans`` → ``hans``; ``""`` without one."""
    parts = re.split(r"[-_]", lang.lower(), maxsplit=1)
    return parts[1] if len(parts) > 1 else ""


def _fits(k: Kind, model_lang: str, to: str) -> bool:
    if k.exact_lang:
        return model_lang == to
    return bool(model_lang) and lang_base(model_lang) == lang_base(to)
