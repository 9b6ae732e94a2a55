"""The package's layers (docs/architecture.md): every import between two folders of ``vloc/``
runs downwards, counting imports inside functions and under ``TYPE_CHECKING``. ``vloc/__main__``
(``python -m vloc``) is the entry point above the command line, not one of the modules at the
bottom."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "vloc"

# bottom to top; "" is the modules directly in vloc/ (errors, fileio, catalogue, ...)
LAYERS: list[tuple[str, ...]] = [
    ("",),
    ("media", "subtitles", "backbones"),
    ("features", "style"),
    ("align",),
    ("index",),
    ("search", "memory"),
    ("glossary",),
    ("decoding",),
    ("translator", "summarizer"),
    ("engines",),
    ("pipeline", "review", "synthetic"),
    ("batch",),
    ("cli",),
    ("__main__",),  # python -m vloc
]
ALLOWED_UP: set[tuple[str, str]] = set()  # (module, module it imports) allowed to run up


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _exists(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(path: Path) -> set[str]:
    """Every vloc module ``path`` imports, wherever the import statement stands."""
    mod = _module(path)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, *([node.module] if node.module else [])])
            names = [base, *(f"{base}.{a.name}" for a in node.names)]
        for name in names:
            parts = name.split(".")
            while parts and not _exists(".".join(parts)):
                parts.pop()
            if len(parts) > 1 and parts[0] == "vloc":
                found.add(".".join(parts))
    return found


def _folder(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 2 or (PACKAGE / parts[-1]).is_dir() or parts[-1] == "__main__":
        return parts[1]
    return ""


def _edges() -> dict[tuple[str, str], set[tuple[str, str]]]:
    edges: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for path in sorted(PACKAGE.rglob("*.py")):
        src = _module(path)
        for dst in _imports(path):
            a, b = _folder(src), _folder(dst)
            if a != b:
                edges[a, b].add((src, dst))
    return edges


def test_every_folder_has_a_layer():
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    placed = {f for layer in LAYERS for f in layer}
    assert folders | {"", "__main__"} == placed


def test_no_two_folders_import_each_other():
    edges = _edges()
    both = sorted((a or "vloc/", b or "vloc/") for a, b in edges if a < b and (b, a) in edges)
    assert not both, f"folders importing each other: {both}"


def test_imports_run_down_the_layers_but_one():
    level = {f: i for i, layer in enumerate(LAYERS) for f in layer}
    up = sorted(
        (src, dst)
        for (a, b), pairs in _edges().items()
        if level[a] < level[b]
        for src, dst in pairs
    )
    assert set(up) <= ALLOWED_UP, f"imports from a lower layer up: {sorted(set(up) - ALLOWED_UP)}"


def test_the_checker_sees_imports_inside_functions_and_type_checking(tmp_path):
    """A checker that cannot fail would be no check: the lazy and typing-only imports count."""
    engines = _imports(PACKAGE / "engines" / "decode.py")
    assert "vloc.index" in engines  # imported inside decode_with_engine
    pipeline = _imports(PACKAGE / "pipeline" / "decoders.py")
    assert "vloc.engines.options" in pipeline  # under TYPE_CHECKING
