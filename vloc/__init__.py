"""vloc: localize the subtitles of long videos, using the video itself as context.

The package is importable without torch: heavy libraries are imported inside the
functions that need them, so ``vloc --help`` stays instant.
"""

from __future__ import annotations

from vloc._compat import install_torchvision_compat

__version__ = "0.1.0"

install_torchvision_compat()  # lazy: acts only when torchvision is first imported
