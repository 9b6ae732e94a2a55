"""Output conventions shared by every command.

* Results go to stdout: a rich rendering, or with ``--json`` exactly one JSON object.
* Everything else (progress, warnings, errors) goes to stderr.
* Without a TTY there are no ANSI codes and no live displays: progress becomes a
  plain line every few seconds, suited to CI logs.
* A :class:`~vloc.errors.VlocError` becomes one ``error: ...`` line and exit code 1
  (with ``--json`` also ``{"ok": false, "error": ...}`` on stdout); usage errors exit 2.
* Nothing read from a file (cue text, file names, model names) can control the terminal:
  every console shows control characters (ESC, BEL, C1 codes, bidi overrides) visibly
  escaped, as ``\x1b``; ``--json`` keeps the exact text (JSON escapes it).
* Every string reaches rich as plain text: no console interprets markup (``[link=...]``,
  ``[bold]``) or emoji codes (``:x:``), whatever the caller passes; vloc's own styling is
  built as :class:`rich.text.Text` (:func:`styled`), never as markup.
* Before the command runs, every file it is asked to write (``-o``, ``--table``,
  ``--report``) is checked against every path it reads (:func:`vloc.guard.check_output`),
  and those inputs stay protected from atomic writes for the whole run.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.segment import Segment
from rich.text import Text

from vloc.errors import InputError, VlocError
from vloc.redact import redact

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
PLAIN_PROGRESS_EVERY_S = 10.0  # seconds between progress lines when stderr is not a TTY
# parameters that name files a command writes (checked against its inputs), and those that
# are not inputs to protect: folders written into, and batch's source folder (vloc.batch
# protects exactly the videos and subtitles it finds there)
OUTPUT_FILE_PARAMS = ("output", "table", "report")
NOT_INPUT_PARAMS = ("out", "workdir", "weights_dir", "source")
# C0 controls but tab and newline, DEL, C1 controls, bidirectional overrides and isolates
DEVICES = ("cpu", "cuda")  # what --device takes (checked by @command for every command)
DEVICE_OPTION = typer.Option("cpu", "--device", help="cpu | cuda.")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """``text`` with every terminal control character shown escaped (``ESC`` -> ``\\x1b``) and
    secrets hidden (:func:`vloc.redact.redact`)."""
    return _CONTROL.sub(
        lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}",
        redact(text),
    )


def one_line(text: str) -> str:
    """:func:`visible`, and newlines shown as ``\\n``: an error stays on one line."""
    return visible(text).replace("\n", "\\n")


class SafeConsole(Console):
    """A rich console that prints every string as the plain text it is: no markup
    (``[link=http://e.x]`` would become an OSC 8 hyperlink, ``[bold]`` an SGR escape), no
    emoji codes (``:x:`` would become ❌), no highlighting, and no control characters of the
    text passed to the terminal; rich's own styling and cursor controls are untouched.

    Strings are escaped before rich reads them (rich would silently drop BEL or CR);
    :class:`rich.text.Text` built elsewhere is escaped as it is written out. Tables, titles
    and ``print`` all go through :meth:`render_str`, so a caller's ``markup=True`` or
    ``emoji=True`` changes nothing."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**{**kwargs, "markup": False, "emoji": False, "highlight": False})

    def render_str(self, text: str, **kwargs: Any) -> Any:
        kwargs.update(markup=False, emoji=False, highlight=False)
        return super().render_str(visible(text), **kwargs)

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        def clean(segments: Iterable[Segment]) -> Iterator[Segment]:
            for seg in segments:
                if seg.control or not _CONTROL.search(seg.text):
                    yield seg
                else:
                    yield Segment(visible(seg.text), seg.style)

        return super()._render_buffer(clean(buffer))


def styled(label: str, style: str, text: str) -> Text:
    """``label`` in ``style``, a space, then ``text`` as plain text (control characters shown
    escaped): how vloc colours a line without ever reading the text as markup."""
    return Text.assemble((label, style), " ", visible(text))


class UI:
    """Where a command writes: ``ui.warn``/``ui.info`` to stderr, ``ui.result`` to stdout."""

    def __init__(self, json_mode: bool = False, quiet: bool = False) -> None:
        self.json_mode = json_mode
        self.quiet = quiet
        self.err = SafeConsole(stderr=True, soft_wrap=True)
        self.out = SafeConsole(soft_wrap=True)
        self.warnings: list[str] = []

    @property
    def interactive(self) -> bool:
        return self.err.is_terminal and not os.environ.get("CI")

    def info(self, msg: str) -> None:
        if not self.quiet:
            self.err.print(msg)

    def warn(self, msg: str) -> None:
        """Print a warning once: the same message reported by two stages shows once."""
        if msg in self.warnings:
            return
        self.warnings.append(msg)
        self.err.print(styled("warning:", "yellow", msg))

    def error(self, msg: str) -> None:
        self.err.print(styled("error:", "red", one_line(msg)))

    def result(self, obj: dict[str, Any], render: Callable[[Console], None] | None = None) -> None:
        """Print the command's result: JSON (with warnings) or the human rendering."""
        if self.json_mode:
            payload = {"ok": True, **obj}
            if self.warnings:
                payload.setdefault("warnings", self.warnings)
            sys.stdout.write(redact(json.dumps(payload, ensure_ascii=False, default=str)) + "\n")
            sys.stdout.flush()
        elif render is not None:
            render(self.out)

    def progress(self, total: int | None, description: str, unit: str) -> Progress:
        return Progress(self, total, description, unit)


class Progress:
    """A progress display: a rich bar with rate and ETA on a TTY, plain lines otherwise."""

    def __init__(self, ui: UI, total: int | None, description: str, unit: str) -> None:
        self.ui, self.total, self.description, self.unit = ui, total, description, unit
        self.done = 0
        self._t0 = time.perf_counter()
        self._last_line = self._t0
        self._bar = None
        if ui.interactive and not ui.quiet:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("{task.description}", markup=False),  # may name a file
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}", markup=False),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=ui.err,
                transient=True,
            )
            self._task = self._bar.add_task(description, total=total, rate="")

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    @property
    def rate(self) -> float:
        elapsed = time.perf_counter() - self._t0
        return self.done / elapsed if elapsed > 0 else 0.0

    def advance(self, n: int = 1, **fields: Any) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(self._task, advance=n, rate=f"{self.rate:.2f} {self.unit}/s", **fields)
            return
        now = time.perf_counter()
        if not self.ui.quiet and now - self._last_line >= PLAIN_PROGRESS_EVERY_S:
            self._last_line = now
            of = f"/{self.total}" if self.total else ""
            eta = ""
            if self.total and self.rate > 0:
                eta = f", ETA {(self.total - self.done) / self.rate:.0f} s"
            extra = "".join(f", {k} {v}" for k, v in fields.items())
            self.ui.info(
                f"{self.description}: {self.done}{of} {self.unit}, "
                f"{self.rate:.2f} {self.unit}/s{eta}{extra}"
            )


class Bars:
    """Adapt a library's ``progress(name, done, total)`` calls to one UI bar per name (a stage,
    a model, a kind of features); closes them all on exit::

        with Bars(ui, "features ({})", "clips") as bars:
            extract_features(..., progress=bars)
    """

    def __init__(self, ui: UI, label: str = "{}", unit: str | Mapping[str, str] = "items") -> None:
        self.ui = ui
        self.label = label  # the bar's description; "{}" is replaced by the name
        self.unit = unit  # one unit, or one per name ("items" for names not listed)
        self.bars: dict[str, Progress] = {}
        self.done: dict[str, int] = {}

    def __call__(self, name: str, done: int, total: int) -> None:
        if name not in self.bars:
            unit = self.unit if isinstance(self.unit, str) else self.unit.get(name, "items")
            self.bars[name] = self.ui.progress(total, self.label.format(name), unit).__enter__()
            self.done[name] = 0
        if done > self.done[name]:
            self.bars[name].advance(done - self.done[name])
            self.done[name] = done

    def __enter__(self) -> Bars:
        return self

    def __exit__(self, *exc: object) -> None:
        for bar in self.bars.values():
            bar.__exit__(None, None, None)
        self.bars.clear()


def coverage_line(coverage: Mapping[str, Any], model: str) -> str:
    """A result's coverage check (:mod:`vloc.coverage`, its ``to_json``) as one line: the share
    of the words unknown to ``model`` and whether it is under the limit."""
    c = coverage
    return (
        f"coverage: {100 * c['unknown_share']:.1f} % of {c['words']:,} words unknown to "
        f"{model} (limit {100 * c['limit']:g} %): " + ("ok" if c["ok"] else "NOT COVERED")
    )


def check_device(device: str | None) -> None:
    """``--device`` must be one of :data:`DEVICES` (None: the command's default)."""
    if device is not None and device not in DEVICES:
        raise InputError(f"--device must be {' or '.join(DEVICES)}, got {device!r}")


def command(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a CLI command: turn vloc errors into one line and exit code 1.

    The wrapped function receives a ``ui`` keyword built from its ``json_output`` flag; a
    ``device`` parameter is checked here (:func:`check_device`) for every command.
    Set ``VLOC_DEBUG=1`` to see tracebacks of unexpected errors.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from vloc.guard import declare_inputs, declare_output, run_guard

        ui = UI(json_mode=bool(kwargs.get("json_output", False)))
        try:
            check_device(kwargs.get("device"))
            with run_guard():
                for name, path in _input_paths(kwargs):
                    declare_inputs([path], _option_name(name, "input"))
                for name in OUTPUT_FILE_PARAMS:
                    if kwargs.get(name) is not None:
                        declare_output(kwargs[name], _option_name(name, "output"))
                return fn(*args, ui=ui, **kwargs)
        except typer.Exit:
            raise
        except VlocError as e:
            _fail(ui, str(e))
        except KeyboardInterrupt:
            ui.error("interrupted")
            raise typer.Exit(130) from None
        except Exception as e:  # an unexpected failure: still one line unless debugging
            if os.environ.get("VLOC_DEBUG"):
                raise
            why = redact(f"unexpected {type(e).__name__}: {e}")
            _fail(ui, f"{why} (set VLOC_DEBUG=1 for a traceback)")

    # typer reads the signature: hide the injected ``ui`` parameter
    sig = inspect.signature(fn)
    wrapper.__signature__ = sig.replace(  # type: ignore[attr-defined]
        parameters=[p for p in sig.parameters.values() if p.name != "ui"]
    )
    return wrapper


def _option_name(param: str, role: str) -> str:
    """How a message names a command's file: ``output``, ``--table file``; an input by its
    parameter (``subs``, ``glossary``)."""
    if role == "input":
        return param
    return "output" if param == "output" else f"--{param.replace('_', '-')} file"


def _input_paths(kwargs: dict[str, Any]) -> list[tuple[str, str]]:
    """(parameter, path) of every existing path among a command's arguments except the outputs
    it writes: the files (and model folders) the run reads. ``@file`` (a synopsis read from a
    file) names ``file``."""
    skip = {*OUTPUT_FILE_PARAMS, *NOT_INPUT_PARAMS}
    found: list[tuple[str, str]] = []
    for name, value in kwargs.items():
        if name in skip or value is None or isinstance(value, bool | int | float):
            continue
        for v in value if isinstance(value, list | tuple) else [value]:
            if isinstance(v, str) and v.startswith("@"):
                v = v[1:]
            if isinstance(v, str | Path) and str(v) and os.path.exists(v):
                found.append((name, str(v)))
    return found


def _fail(ui: UI, message: str, *, code: int = EXIT_FAILURE) -> None:
    ui.error(message)
    if ui.json_mode:
        obj: dict[str, Any] = {"ok": False, "error": message}
        if code == EXIT_USAGE:
            obj["usage"] = True
        sys.stdout.write(redact(json.dumps(obj, ensure_ascii=False)) + "\n")
    raise typer.Exit(code)


def usage_error(ui: UI, message: str) -> None:
    """A wrong combination of flags: one ``error:`` line (and the JSON object), exit 2."""
    _fail(ui, message, code=EXIT_USAGE)


JSON_OPTION = typer.Option(False, "--json", help="Print one JSON object on stdout, nothing else.")
