"""What a batch is made of: the videos (:class:`VideoJob`), the ``--tasks`` list
(:class:`TaskSpec`, :func:`parse_tasks`), the settings every task gets (:class:`BatchOptions`)
and what a task and a video's run give back (:class:`TaskDone`, :class:`JobResult`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from vloc.errors import InputError

if TYPE_CHECKING:
    from vloc.engines.options import EngineOptions


KNOWN_TASKS = ("features", "index", "translate", "summarize")
TASKS_WITH_LANGUAGE = ("translate", "summarize")


@dataclass(frozen=True)
class VideoJob:
    """One video of a batch and where its outputs go."""

    name: str  # unique, file-system-safe; the output folder is OUT/name
    video: Path
    subs: Path | None = None
    lang: str | None = None  # source-subtitle language tag, e.g. "en" from film.en.srt


@dataclass(frozen=True)
class TaskSpec:
    """A task of the ``--tasks`` list: ``translate:zh`` is TaskSpec("translate", "zh")."""

    name: str
    arg: str | None = None

    def __str__(self) -> str:
        return f"{self.name}:{self.arg}" if self.arg else self.name


@dataclass
class JobResult:
    """What happened to one video; a row of the report."""

    name: str
    video: str
    status: str = "pending"  # "ok", "failed" or "skipped" (everything already complete)
    outputs: dict[str, list[str]] = field(default_factory=dict)  # task -> files (relative to OUT)
    seconds: dict[str, float] = field(default_factory=dict)  # task -> wall time
    cached: list[str] = field(default_factory=list)  # tasks that found their outputs complete
    error: str | None = None  # one line, with the task that failed
    warnings: list[str] = field(default_factory=list)  # "task: warning" (e.g. model coverage)


def parse_tasks(spec: str) -> list[TaskSpec]:
    """``"features,index,translate:zh"`` -> task specs, validated, in order, no duplicates."""
    tasks: list[TaskSpec] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        name, _, arg = part.partition(":")
        if name not in KNOWN_TASKS:
            raise InputError(
                f"unknown task {name!r} in --tasks: choose from {', '.join(KNOWN_TASKS)}"
            )
        if name in TASKS_WITH_LANGUAGE and not arg:
            raise InputError(f"task {name!r} needs a target language, e.g. {name}:zh")
        if name not in TASKS_WITH_LANGUAGE and arg:
            raise InputError(f"task {name!r} takes no argument (got {part!r})")
        task = TaskSpec(name, arg or None)
        if task in tasks:
            raise InputError(f"task {part!r} is listed twice in --tasks")
        tasks.append(task)
    if not tasks:
        raise InputError("--tasks is empty: give e.g. features,index,translate:zh")
    return tasks


@dataclass(frozen=True)
class BatchOptions:
    """Settings passed to every task of every video (the per-command options of ``vloc``)."""

    backbone: str | None = None  # feature backbone; None: i3d_r50 for the features task, the
    # model's recorded extractor for translate/summarize
    weights: str | None = None  # backbone weights: registry name, local file, or "random"
    seed: int | None = None  # seed for --weights random
    encoder: str | None = None  # sentence encoder for the index (None: the embedded default)
    device: str = "cpu"  # "cpu" or "cuda"
    model: str | None = None  # translation / summarization model name or path
    weights_dir: str | None = None  # cache of published backbone checkpoints (None: default)
    fps: float | None = None  # feature decode rate, frames/s (None: the backbone's)
    size: int | None = None  # feature crop side in px (None: the backbone's)
    clip_len: int = 16  # frames per feature clip
    encoding: str | None = None  # subtitle encoding override (None: detect)
    width: float = 1.0  # backbone width multiplier (1.0 = the real model; tests use less)
    compile: bool = False  # torch.compile the backbone of the features task (the same as
    # backbone_path="compile" there; the translate task follows backbone_path only)
    backbone_path: str = "auto"  # features and translate tasks: how the video backbone runs,
    # "auto" | "eager" | "jit" | "compile" (vloc.features.execution)
    strict: bool = False  # translate/summarize fail when the model does not know the text
    allow_truncated: bool = False  # features of a truncated video: go on with what decodes
    engine: EngineOptions | None = None  # translate task: openai | gguf | seq2seq and context
    style: str | None = None  # translate task: a style profile (vloc translate --style)
    memory: tuple[str, ...] = ()  # translate task: translation memory files (--memory)


@dataclass(frozen=True)
class TaskDone:
    """What a task returns: its output files and whether they were all already complete."""

    paths: list[Path]
    cached: bool = False
    warnings: tuple[str, ...] = ()  # what the task warned about (reported per video)


TaskFn = Callable[[VideoJob, TaskSpec, Path, BatchOptions], "TaskDone | list[Path]"]
