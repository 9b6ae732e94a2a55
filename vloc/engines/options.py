"""Engine settings: the command line, with defaults from ``$VLOC_HOME/engines.toml``.

A CI job needs no flags: put the endpoint in the config file, e.g.::

    engine = "openai"                     # default engine for `vloc translate`
    [openai]
    base_url = "http://127.0.0.1:11434/v1"
    model = "qwen2.5:7b-instruct"
    api_key_env = "MY_ENDPOINT_KEY"       # the variable's *name*; the key stays in the environment
    images = false                        # true for a vision-language model
    [gguf]
    model = "~/models/qwen2.5-1.5b-instruct-q4_k_m.gguf"
    [seq2seq]
    model = "Helsinki-NLP/opus-mt-en-zh"

Flags override the file; the file overrides the built-in defaults. :func:`resolve` gives the
table of the chosen engine to its settings class (:data:`BACKENDS`: its model and e.g.
``base_url``, ``n_ctx``, ``beam_size``) and the settings every engine shares (``batch_cues``,
``context``, ...) to :class:`EngineOptions`, which holds both. The key itself is never
read from the file, the command line or a report: only from the named environment variable.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vloc.catalogue import ENGINE_KINDS, engine_kinds
from vloc.engines.gguf import GGUFSettings
from vloc.engines.openai_api import DEFAULT_API_KEY_ENV, OpenAISettings
from vloc.engines.seq2seq import Seq2SeqSettings
from vloc.errors import InputError
from vloc.fileio import read_text_limited
from vloc.guard import note_read
from vloc.redact import register_env
from vloc.text import SUBTITLE_PUNCTUATION
from vloc.translator.options import OwnModel
from vloc.workspace import vloc_home

ENGINES = tuple(ENGINE_KINDS)  # openai | gguf | seq2seq: the catalogue's engine kinds
OWN_MODEL = OwnModel.kind  # "vloc": vloc's own translator, the default of --engine
DECODERS = (OWN_MODEL, *ENGINES)  # what --engine takes
LLM_ENGINES = engine_kinds(llm_only=True)
CONTEXTS = ("global", "window", "none")
FRAME_SELECT = ("text", "uniform")
CONFIG_FILE = "engines.toml"
CONFIG_LIMIT_BYTES = 1 << 20  # engines.toml: a few hundred bytes in practice
SYNOPSIS_LIMIT_BYTES = 256 << 10  # --synopsis @file: a page or two; it goes into every prompt

Backend = OpenAISettings | GGUFSettings | Seq2SeqSettings
BACKENDS: dict[str, type[Backend]] = {
    cls.kind: cls for cls in (OpenAISettings, GGUFSettings, Seq2SeqSettings)
}  # --engine → its settings class (the keys are ENGINES)
# what the flags and engines.toml may set of a backend's settings (None: every field); the rest
# of Seq2SeqSettings is decoding tuning that only Python callers change
SETTABLE: dict[str, tuple[str, ...] | None] = {
    "openai": None,
    "gguf": None,
    "seq2seq": ("model", "download", "beam_size", "threads"),
}
# the defaults of the command line and engines.toml where they differ from the class's
RESOLVED_DEFAULTS: dict[str, dict[str, Any]] = {"seq2seq": {"download": True}}


@dataclass(frozen=True)
class EngineOptions:
    """Which engine translates (``backend``: its kind, model and own settings) and how much of
    the film it sees (the rest, shared by every engine)."""

    backend: Backend  # OpenAISettings | GGUFSettings | Seq2SeqSettings (vloc.engines.openai_api,
    # .gguf, .seq2seq): the kind is its class's, the model and e.g. base_url / n_ctx / beam_size
    # its fields
    batch_cues: int = 20  # consecutive cues per request (LLM engines) or per beam-search batch
    context: str = "global"  # global: related lines from the whole film + previous lines;
    # window: previous lines only; none: the batch alone
    related: int = 10  # P: retrieved lines per cue (eq. 1), merged over the batch
    max_related: int = 24  # most related lines shown per batch
    previous: int = 5  # k: lines just before the batch
    lag: int = 1  # a batch sees the translations of batches that end at least this many
    # batches before it (1: up to the batch just before); the output depends on it, never on
    # --concurrency
    concurrency: int = 1  # batches in flight (openai); at most ``lag`` overlap, since a batch
    # waits for the translations it may see
    frames: int = 0  # K keyframes attached per batch (models that take images)
    frame_select: str = "text"  # text: ranked by relevance to the batch's text; uniform
    glossary: str | None = None  # TSV file of terms (source, target, optional note)
    synopsis: str = ""  # what the film is about ("@file" reads it from a file)
    punctuation: str | None = None  # subtitle: the target's subtitle punctuation (Chinese: no
    #   。/，, a space between clauses; vloc.text.subtitle_punctuation) | keep: as the engine
    #   wrote; None: the --style profile's convention for the target, else subtitle

    @property
    def kind(self) -> str:
        """openai | gguf | seq2seq: the backend's."""
        return str(getattr(self.backend, "kind", type(self.backend).__name__))

    @property
    def model(self) -> str | None:
        """The server's model id, the .gguf path or the seq2seq model (None: not given)."""
        model = self.backend.model
        return None if model is None else str(model)

    def with_model(self, model: str | None) -> EngineOptions:
        """The same options with another model (None: this one)."""
        if model is None:
            return self
        return dataclasses.replace(self, backend=dataclasses.replace(self.backend, model=model))

    def with_profile(self, profile: Any, target_lang: str) -> EngineOptions:
        """The same options with the punctuation convention of ``profile`` (a
        :class:`vloc.style.profiles.StyleProfile`, None: none) for ``target_lang`` where no
        ``--punctuation`` was given: the convention belongs to the client's profile."""
        if profile is None or self.punctuation is not None:
            return self
        punctuation = profile.for_language(target_lang).punctuation
        return dataclasses.replace(self, punctuation=punctuation)

    def check(self) -> None:
        if self.kind not in ENGINES or not isinstance(self.backend, BACKENDS[self.kind]):
            raise InputError(f"--engine {self.kind!r}; valid: {', '.join(ENGINES)}")
        if self.context not in CONTEXTS:
            raise InputError(f"--context {self.context!r}; valid: {', '.join(CONTEXTS)}")
        if self.punctuation is not None and self.punctuation not in SUBTITLE_PUNCTUATION:
            raise InputError(
                f"--punctuation {self.punctuation!r}; valid: {', '.join(SUBTITLE_PUNCTUATION)}"
            )
        if self.frame_select not in FRAME_SELECT:
            raise InputError(
                f"--frame-select {self.frame_select!r}; valid: {', '.join(FRAME_SELECT)}"
            )
        for name in ("batch_cues", "related", "concurrency", "lag"):
            if getattr(self, name) < 1:
                raise InputError(f"--{name.replace('_', '-')} must be at least 1")
        for name in ("previous", "frames", "max_related"):
            if getattr(self, name) < 0:
                raise InputError(f"--{name.replace('_', '-')} must not be negative")
        self.backend.check()
        if isinstance(self.backend, OpenAISettings) and not self.backend.base_url:
            raise InputError(
                "--engine openai needs --base-url (e.g. http://127.0.0.1:11434/v1) or base_url "
                f"in {vloc_home() / CONFIG_FILE}"
            )
        if self.kind in engine_kinds() and not self.model:
            *some, last = (ENGINE_KINDS[k].model_is for k in engine_kinds())
            raise InputError(
                f"--engine {self.kind} needs --model ({', '.join(some)} or {last}) or model in "
                f"{vloc_home() / CONFIG_FILE}"
            )


def _shared() -> dict[str, Any]:
    """EngineOptions' own settings (every engine's) → their defaults."""
    return {f.name: f.default for f in dataclasses.fields(EngineOptions) if f.name != "backend"}


def _settable(kind: str) -> dict[str, Any]:
    """What the flags and engines.toml may set of ``kind``'s backend → the defaults there."""
    names = SETTABLE[kind]
    fields = {f.name: f.default for f in dataclasses.fields(BACKENDS[kind])}
    defaults = {n: d for n, d in fields.items() if names is None or n in names}
    return {**defaults, **RESOLVED_DEFAULTS.get(kind, {})}


def read_config(path: Path | None = None) -> dict[str, Any]:
    """The engine config file as a dict ({} when there is none); at most
    :data:`CONFIG_LIMIT_BYTES`, a regular file (one :class:`InputError` naming it otherwise)."""
    path = path or vloc_home() / CONFIG_FILE
    if not path.exists() and not path.is_symlink():
        return {}
    note_read(path, "the engine settings")
    try:
        import tomllib
    except ImportError:  # Python 3.10
        raise InputError("reading engines.toml needs Python 3.11 or newer", path=path) from None
    try:
        return tomllib.loads(
            read_text_limited(path, CONFIG_LIMIT_BYTES, what="engine config", encoding="utf-8")
        )
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"not a valid TOML file: {e}", path=path) from None


def _check_config(config: dict[str, Any]) -> None:
    """Refuse what the config file cannot mean: an unknown table or setting (a typo such as
    ``temprature`` would otherwise be ignored silently) or a value of the wrong type."""
    path = vloc_home() / CONFIG_FILE
    defaults = _shared()
    for kind in ENGINES:  # a table may name any engine's setting (used by its own engine)
        defaults.update(_settable(kind))
    for key, value in config.items():
        if key == "engine":
            if not isinstance(value, str):
                raise InputError(
                    f"engine must be a string (one of {', '.join(DECODERS)})", path=path
                )
            continue
        if key not in DECODERS:
            raise InputError(
                f"unknown setting {key!r} at the top level; expected engine or a table "
                f"[{'], ['.join(DECODERS)}]",
                path=path,
            )
        if not isinstance(value, dict):
            raise InputError(f"{key} must be a table ([{key}])", path=path)
        for name, v in value.items():
            if name == "api_key":
                continue  # refused with its own message
            if name not in defaults:
                known = ", ".join(sorted(defaults))
                raise InputError(f"unknown setting {name!r} in [{key}]; known: {known}", path=path)
            _check_type(name, v, defaults[name], f"[{key}] {name}", path)


def _check_type(name: str, value: Any, default: Any, where: str, path: Path) -> None:
    if default is None:  # str | None or int | None settings
        want: tuple[type, ...] = (int,) if name == "threads" else (str,)
    elif isinstance(default, bool):
        want = (bool,)
    elif isinstance(default, float):
        want = (int, float)
    else:
        want = (type(default),)
    ok = isinstance(value, want) and not (isinstance(value, bool) and bool not in want)
    if not ok:
        kind = " or ".join(t.__name__ for t in want)
        raise InputError(f"{where} must be {kind}, not {type(value).__name__}", path=path)


def chosen_engine(flag: str | None, config: dict[str, Any] | None = None) -> str:
    """What ``--engine`` picks: the flag, else the config file's ``engine``, else vloc's own
    translator (:data:`OWN_MODEL`); one of :data:`DECODERS`. The config file is read only when
    the flag is not given."""
    if flag is None:
        config = read_config() if config is None else config
        _check_config(config)
    kind = flag or (config or {}).get("engine") or OWN_MODEL
    if kind not in DECODERS:
        raise InputError(f"--engine {kind!r}; valid: {', '.join(DECODERS)}")
    return kind


def resolve(flags: dict[str, Any], config: dict[str, Any] | None = None) -> EngineOptions:
    """An engine's options: flags (None = not given; ``kind`` is ``--engine``; the other keys
    are fields of :class:`EngineOptions` or of the engine's settings class) over its table of
    the config file over the defaults. A setting of another engine (``n_ctx`` with openai) is
    accepted and left out, as it has no effect there."""
    config = read_config() if config is None else config
    kind = chosen_engine(flags.get("kind"), config)
    if kind == OWN_MODEL:
        raise InputError(
            f"--engine {OWN_MODEL} is vloc's own translator, not a pretrained engine "
            f"({', '.join(ENGINES)})"
        )
    section = config.get(kind, {}) if isinstance(config.get(kind), dict) else {}
    if "api_key" in section or "api_key" in config:
        raise InputError(
            "engines.toml must not hold the key itself: set api_key_env to the name of an "
            "environment variable that holds it",
            path=vloc_home() / CONFIG_FILE,
        )
    _check_config(config)
    own, shared = _settable(kind), _shared()
    values: dict[str, Any] = dict(RESOLVED_DEFAULTS.get(kind, {}))
    values.update({k: v for k, v in section.items() if k in own or k in shared})
    values.update({k: v for k, v in flags.items() if v is not None and (k in own or k in shared)})
    synopsis = values.get("synopsis") or ""
    if isinstance(synopsis, str) and synopsis.startswith("@"):
        p = Path(synopsis[1:]).expanduser()
        note_read(p, "the synopsis")
        values["synopsis"] = read_text_limited(p, SYNOPSIS_LIMIT_BYTES, what="synopsis").strip()
    backend = BACKENDS[kind](**{k: v for k, v in values.items() if k in own})
    options = EngineOptions(backend, **{k: v for k, v in values.items() if k in shared})
    options.check()
    # the key is hidden from every message from now on
    register_env(getattr(backend, "api_key_env", DEFAULT_API_KEY_ENV))
    return options
