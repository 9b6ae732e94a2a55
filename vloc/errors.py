"""Typed exceptions. The CLI turns any :class:`VlocError` into one line and exit code 1.

Messages name the file and the problem and, where possible, what would be valid:
they are shown to users as they are, without a traceback.
"""

from __future__ import annotations

from pathlib import Path

from vloc.redact import redact


class VlocError(Exception):
    """An expected failure with a message fit for a user (secrets redacted, see
    :mod:`vloc.redact`)."""

    def __init__(self, message: str, *, path: str | Path | None = None) -> None:
        self.path = None if path is None else str(path)
        super().__init__(redact(f"{self.path}: {message}" if self.path else message))


class InputError(VlocError):
    """A user-supplied file or value is missing, unreadable or malformed."""


class SubtitleError(InputError):
    """A subtitle file cannot be read (encoding, syntax, timestamps)."""


class MediaError(InputError):
    """A video cannot be probed or decoded (missing, empty, not a video, truncated)."""


class WeightsError(VlocError):
    """Model weights cannot be found, downloaded or verified."""


class CacheError(VlocError):
    """A cached artefact (feature store, index) is corrupt or from another format."""
