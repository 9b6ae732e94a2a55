"""A compatibility step for torchvision builds whose compiled ops cannot load.

Some torch/torchvision pairs install cleanly but fail at ``import torchvision`` with
``RuntimeError: operator torchvision::nms does not exist``: torchvision's compiled ops
(``torchvision/_C.so``) need a library the installed torch lacks (for example a CUDA
torchvision beside a CPU-only torch), and ``torchvision._meta_registrations`` then
registers a fake kernel for an operator that was never defined. Because transformers
imports torchvision whenever it is installed, this also breaks ``sentence_transformers``;
pytorchvideo additionally imports ``torchvision.transforms.functional_tensor``, a module
torchvision renamed to ``_functional_tensor``.

:func:`install_torchvision_compat` puts a finder on ``sys.meta_path`` that acts only when
torchvision is first imported (installing it imports nothing heavy). When torchvision's
import starts, the finder

1. returns at once if ``torchvision::nms`` is already defined;
2. tries to load torchvision's compiled ops itself; where they load (a matching CPU or
   CUDA pair) it does nothing more, so a working installation behaves exactly as before;
3. otherwise defines the ``torchvision::nms`` and ``torchvision::qnms`` operator schemas
   (no kernels: ``torchvision.ops.nms`` still raises, but every module that only
   *imports* torchvision works, including pytorchvideo's models, data and transforms).

It also resolves ``torchvision.transforms.functional_tensor`` to
``torchvision.transforms._functional_tensor`` when the former does not exist.
Installing twice is a no-op.

``import vloc`` installs nothing: vloc calls :func:`install_torchvision_compat` right before
its own imports of pytorchvideo and transformers (``vloc.backbones.build_backbone``,
``vloc.encoders.load_encoder``, ``vloc.engines.seq2seq``). Code that imports those libraries
itself (the tests' tiny-model builders) calls it first.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

TORCHVISION = "torchvision"
FUNCTIONAL_TENSOR = "torchvision.transforms.functional_tensor"  # removed in torchvision 0.17
FUNCTIONAL_TENSOR_NEW = "torchvision.transforms._functional_tensor"
# Operator schemas that torchvision registers fake kernels for at import time
# (torchvision/_meta_registrations.py uses ``torch.library.register_fake`` on these two,
# which fails when the operator does not exist; the others are guarded by ``_has_ops()``).
OP_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor qdets, Tensor scores, float iou_threshold) -> Tensor",
)


def _op_defined(name: str) -> bool:
    """Whether ``torchvision::<name>`` is a registered torch operator."""
    import torch

    try:
        torch._C._dispatch_find_schema_or_throw(f"torchvision::{name}", "")
    except RuntimeError:
        return False
    return True


class _PreparingLoader(importlib.abc.Loader):
    """Wrap torchvision's own loader: prepare the operators, then execute the package."""

    def __init__(
        self, inner: importlib.abc.Loader, finder: TorchvisionCompatFinder, where: Sequence[str]
    ):
        self._inner = inner
        self._finder = finder
        self._where = list(where)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._finder.prepare_ops(self._where)
        # torchvision sees its own loader, not this wrapper
        module.__loader__ = self._inner
        if module.__spec__ is not None:
            module.__spec__.loader = self._inner
        self._inner.exec_module(module)

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package, ...
        return getattr(self._inner, name)


class _AliasLoader(importlib.abc.Loader):
    """Load a module name as another, already importable module."""

    def __init__(self, target: str):
        self._target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self._target)

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the target module is already executed."""


class TorchvisionCompatFinder(importlib.abc.MetaPathFinder):
    """The ``sys.meta_path`` finder installed by :func:`install_torchvision_compat`.

    Attributes:
        status: what happened at torchvision's import: ``None`` (not imported yet),
            ``"native"`` (its ops loaded; nothing was changed) or ``"schemas"``
            (the operator schemas were defined here).
    """

    def __init__(self) -> None:
        self.status: str | None = None
        self._library: Any = None  # the torch.library.Library holding the schemas; kept alive
        self._busy = threading.local()

    def _find_elsewhere(self, fullname: str, path: Sequence[str] | None, target: Any) -> Any:
        """Ask the finders after this one (re-entrant calls see nothing here)."""
        self._busy.active = True
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    return spec
            return None
        finally:
            self._busy.active = False

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in (TORCHVISION, FUNCTIONAL_TENSOR) or getattr(self._busy, "active", False):
            return None
        spec = self._find_elsewhere(fullname, path, target)
        if fullname == FUNCTIONAL_TENSOR:
            if spec is not None or importlib.util.find_spec(FUNCTIONAL_TENSOR_NEW) is None:
                return spec
            return importlib.util.spec_from_loader(fullname, _AliasLoader(FUNCTIONAL_TENSOR_NEW))
        if spec is None or spec.loader is None or self.status is not None:
            return spec
        spec.loader = _PreparingLoader(spec.loader, self, spec.submodule_search_locations or [])
        return spec

    def prepare_ops(self, package_dirs: Sequence[str]) -> str:
        """Make ``import torchvision`` succeed; return :attr:`status` (see the class)."""
        if self.status is not None:
            return self.status
        import torch

        if not _op_defined("nms"):
            for folder in package_dirs:
                for lib in sorted(Path(folder).glob("_C*")):
                    if lib.suffix in (".so", ".pyd", ".dylib"):
                        try:
                            torch.ops.load_library(str(lib))
                        except OSError:
                            # the compiled ops need libraries this torch lacks: define schemas below
                            continue
        if _op_defined("nms"):
            self.status = "native"
            return self.status
        library = torch.library.Library(TORCHVISION, "DEF")
        for schema in OP_SCHEMAS:
            name = schema.split("(", 1)[0]
            if not _op_defined(name):
                library.define(schema)
        self._library = library
        self.status = "schemas"
        return self.status


def install_torchvision_compat() -> TorchvisionCompatFinder:
    """Install the finder at the front of ``sys.meta_path`` (once); return it.

    Costs microseconds and imports neither torch nor torchvision.
    """
    for finder in sys.meta_path:
        if type(finder).__name__ == TorchvisionCompatFinder.__name__ and hasattr(
            finder, "prepare_ops"
        ):
            return finder  # type: ignore[return-value]
    finder = TorchvisionCompatFinder()
    sys.meta_path.insert(0, finder)
    return finder
