"""vloc: localize the subtitles of long videos, using the video itself as context.

The package is importable without torch: heavy libraries are imported inside the
functions that need them, so ``vloc --help`` stays instant.
"""

from __future__ import annotations

__version__ = "0.1.0"
