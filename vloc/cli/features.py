"""`vloc features` (being built)."""

from __future__ import annotations

from vloc.cli._ui import JSON_OPTION, UI, command
from vloc.errors import NotBuiltError


@command
def features(json_output: bool = JSON_OPTION, *, ui: UI) -> None:
    """Extract clip features from a video."""
    raise NotBuiltError("'vloc features' is not built yet in this version of vloc")
