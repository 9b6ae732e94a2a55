"""The decoding journal: every finished batch of a translation, appended and fsynced.

A killed ``vloc translate`` restarts from its journal and decodes only what is left. Entries
are ``{"k": key, "t": translation}`` JSON lines; the key hashes everything that determines
the translation (model or engine identity, decoding settings, the cue's text and the context
it saw), so a stale entry is never reused.

A run decodes while holding the journal's workspace lock (:meth:`Journal.open`,
:meth:`vloc.workspace.Workspace.lock`) and reads the journal once it holds it: of two runs on
the same subtitles, target and settings, the second waits and then reuses every entry.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path

from vloc.errors import VlocError
from vloc.fileio import append_lines
from vloc.workspace import Workspace, safe_name

JOURNAL_DIR = "translations"  # workspace sub-folder of decoding journals
JOURNAL_FORMAT = 1  # bump when the meaning of a journal entry changes


def journal_path(
    video: Path, workdir: str | Path | None, subtitles: Path, to: str, key: str
) -> Path:
    """Where the journal of one (video, subtitles, target, run key) lives in the workspace."""
    ws = Workspace.for_video(video, workdir)
    return ws.root / JOURNAL_DIR / f"{safe_name(subtitles.name)}.{to}.{key[:16]}.jsonl"


class Journal:
    """Append-only JSON lines ``{"k": key, "t": translation}``; each batch fsynced."""

    @classmethod
    @contextlib.contextmanager
    def open(
        cls,
        video: Path,
        workdir: str | Path | None,
        subtitles: Path,
        to: str,
        key: str,
        *,
        notify: Callable[[str], None] | None = None,
    ) -> Iterator[Journal]:
        """The journal of :func:`journal_path`, read and used under its workspace lock
        (``notify`` is told once when another run has held it for a while)."""
        path = journal_path(video, workdir, subtitles, to, key)
        ws = Workspace.for_video(video, workdir)
        with ws.lock(f"translation-{path.stem}", notify=notify):
            yield cls(path)

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, str] = {}
        if path.is_file():
            try:
                raw = path.read_text(encoding="utf-8", errors="replace")
            except OSError as e:
                raise VlocError(f"cannot read the translation journal: {e}", path=path) from e
            for line in raw.split("\n"):
                try:
                    item = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a kill, or blank
                if isinstance(item, dict) and isinstance(item.get("k"), str):
                    self.entries[item["k"]] = str(item.get("t", ""))

    def append(self, items: list[tuple[str, str]]) -> None:
        text = "".join(json.dumps({"k": k, "t": t}, ensure_ascii=False) + "\n" for k, t in items)
        append_lines(self.path, text, what="translation journal")
        self.entries.update(items)
