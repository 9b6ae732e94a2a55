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

Flags override the file; the file overrides the built-in defaults. The key itself is never
read from the file, the command line or a report: only from the named environment variable.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vloc.catalogue import ENGINE_KINDS, engine_kinds
from vloc.engines.openai_api import check_base_url
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
DEFAULT_API_KEY_ENV = "VLOC_API_KEY"
CONFIG_LIMIT_BYTES = 1 << 20  # engines.toml: a few hundred bytes in practice
SYNOPSIS_LIMIT_BYTES = 256 << 10  # --synopsis @file: a page or two; it goes into every prompt


@dataclass(frozen=True)
class EngineOptions:
    """Which engine translates and how much of the film it sees."""

    kind: str  # openai | gguf | seq2seq
    model: str | None = None  # openai: the server's model id; gguf: a .gguf path; seq2seq: a
    # hub name or folder
    base_url: str | None = None  # openai: e.g. http://127.0.0.1:8080/v1
    api_key_env: str = DEFAULT_API_KEY_ENV  # openai: name of the variable holding the key
    images: bool = False  # openai: the model takes images (keyframes are attached)
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
    punctuation: str = "subtitle"  # subtitle: the target's subtitle punctuation (Chinese: no
    #   。/，, a space between clauses; vloc.text.subtitle_punctuation) | keep: as the engine wrote
    timeout_s: float = 120.0  # openai: per request
    max_retries: int = 5  # openai: transport retries per request
    n_ctx: int = 4096  # gguf: context window in tokens
    threads: int | None = None  # gguf / seq2seq: CPU threads
    beam_size: int = 4  # seq2seq: beam width
    download: bool = True  # seq2seq: fetch a hub model into $VLOC_HOME/hf on first use (never
    # when HF_HUB_OFFLINE or VLOC_OFFLINE is set)
    seed: int = 0

    def check(self) -> None:
        if self.kind not in ENGINES:
            raise InputError(f"--engine {self.kind!r}; valid: {', '.join(ENGINES)}")
        if self.context not in CONTEXTS:
            raise InputError(f"--context {self.context!r}; valid: {', '.join(CONTEXTS)}")
        if self.punctuation not in SUBTITLE_PUNCTUATION:
            raise InputError(
                f"--punctuation {self.punctuation!r}; valid: {', '.join(SUBTITLE_PUNCTUATION)}"
            )
        if self.frame_select not in FRAME_SELECT:
            raise InputError(
                f"--frame-select {self.frame_select!r}; valid: {', '.join(FRAME_SELECT)}"
            )
        for name in ("batch_cues", "related", "concurrency", "lag", "n_ctx", "beam_size"):
            if getattr(self, name) < 1:
                raise InputError(f"--{name.replace('_', '-')} must be at least 1")
        for name in ("previous", "frames", "max_related", "max_retries"):
            if getattr(self, name) < 0:
                flag = "--retries" if name == "max_retries" else f"--{name.replace('_', '-')}"
                raise InputError(f"{flag} must not be negative")
        if not self.timeout_s > 0 or self.timeout_s == float("inf"):
            raise InputError(
                f"--timeout must be a positive number of seconds, not {self.timeout_s}"
            )
        if self.threads is not None and self.threads < 1:
            raise InputError("--threads must be at least 1")
        if self.base_url is not None:
            check_base_url(self.base_url)
        if self.kind == "openai" and not self.base_url:
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
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.api_key_env or ""):
            raise InputError(
                "--api-key-env takes the name of an environment variable (letters, digits, _), "
                "never the key itself"
            )


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
    defaults = {f.name: f.default for f in dataclasses.fields(EngineOptions)}
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
            if name not in defaults or name == "kind":
                known = ", ".join(sorted(n for n in defaults if n != "kind"))
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
    """An engine's options: flags (None = not given; ``kind`` is ``--engine``) over its table
    of the config file over the defaults."""
    config = read_config() if config is None else config
    kind = chosen_engine(flags.get("kind"), config)
    if kind == OWN_MODEL:
        raise InputError(
            f"--engine {OWN_MODEL} is vloc's own translator, not a pretrained engine "
            f"({', '.join(ENGINES)})"
        )
    section = config.get(kind, {}) if isinstance(config.get(kind), dict) else {}
    fields = {f.name for f in dataclasses.fields(EngineOptions)}
    if "api_key" in section or "api_key" in config:
        raise InputError(
            "engines.toml must not hold the key itself: set api_key_env to the name of an "
            "environment variable that holds it",
            path=vloc_home() / CONFIG_FILE,
        )
    _check_config(config)
    values: dict[str, Any] = {k: v for k, v in section.items() if k in fields}
    values.update({k: v for k, v in flags.items() if v is not None and k in fields})
    values["kind"] = kind
    synopsis = values.get("synopsis") or ""
    if isinstance(synopsis, str) and synopsis.startswith("@"):
        p = Path(synopsis[1:]).expanduser()
        note_read(p, "the synopsis")
        values["synopsis"] = read_text_limited(p, SYNOPSIS_LIMIT_BYTES, what="synopsis").strip()
    options = EngineOptions(**values)
    options.check()
    register_env(options.api_key_env)  # the key is hidden from every message from now on
    return options
