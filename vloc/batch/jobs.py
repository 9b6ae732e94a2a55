"""What a batch is made of: the videos (:class:`VideoJob`), the ``--tasks`` list
(:class:`TaskSpec`, :func:`parse_tasks`), the settings every task gets (:class:`BatchOptions`)
and what a task and a video's run give back (:class:`TaskDone`, :class:`JobResult`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vloc.errors import InputError
from vloc.features.options import FeatureOptions
from vloc.pipeline.options import TranslateOptions
from vloc.summarizer.summarize import SummarizeOptions

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


def _translate_template() -> TranslateOptions:
    return TranslateOptions(to="")  # `to` comes from the task (translate:<to>)


@dataclass(frozen=True)
class BatchOptions:
    """The options every task of every video gets: each task's own options (those of the
    ``vloc`` command behind it), with what is per video — the target language, the output file,
    the workspace — filled in by the task (``dataclasses.replace``)."""

    features: FeatureOptions = field(default_factory=FeatureOptions)  # the features task
    translate: TranslateOptions = field(default_factory=_translate_template)  # translate:<to>
    # tasks: the decoder (OwnModel or EngineOptions), encoding, device, style, memory
    summarize: SummarizeOptions = field(default_factory=SummarizeOptions)  # summarize:<to>
    # tasks: the model, its feature extractor (None: the model's recorded one), device, ...
    encoder: str | None = None  # index task: the sentence encoder (None: the embedded default);
    # it reads the subtitles with the features' encoding

    @property
    def device(self) -> str:
        """ "cuda" when any task runs there (the Ray executor then gives each video a GPU)."""
        devices = (self.features.device, self.translate.device, self.summarize.device)
        return "cuda" if "cuda" in devices else "cpu"


@dataclass(frozen=True)
class TaskDone:
    """What a task returns: its output files and whether they were all already complete."""

    paths: list[Path]
    cached: bool = False
    warnings: tuple[str, ...] = ()  # what the task warned about (reported per video)


TaskFn = Callable[[VideoJob, TaskSpec, Path, BatchOptions], "TaskDone | list[Path]"]
