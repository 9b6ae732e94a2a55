"""`vloc index` (not built yet)."""

from __future__ import annotations

from vloc.cli._ui import JSON_OPTION, UI, command
from vloc.errors import NotBuiltError


@command
def index(json_output: bool = JSON_OPTION, *, ui: UI) -> None:
    """Not built yet in this version of vloc."""
    raise NotBuiltError("'vloc index' is not built yet in this version of vloc")
