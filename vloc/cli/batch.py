"""`vloc batch` (not built yet)."""

from __future__ import annotations

from vloc.cli._ui import JSON_OPTION, UI, command
from vloc.errors import NotBuiltError


@command
def batch(json_output: bool = JSON_OPTION, *, ui: UI) -> None:
    """Not built yet in this version of vloc."""
    raise NotBuiltError("'vloc batch' is not built yet in this version of vloc")
