"""`vloc summarize` (not built yet)."""

from __future__ import annotations

from vloc.cli._ui import JSON_OPTION, UI, command
from vloc.errors import NotBuiltError


@command
def summarize(json_output: bool = JSON_OPTION, *, ui: UI) -> None:
    """Not built yet in this version of vloc."""
    raise NotBuiltError("'vloc summarize' is not built yet in this version of vloc")
