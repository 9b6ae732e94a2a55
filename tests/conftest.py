"""Shared fixtures: an isolated vloc home, the real data folder, a canary API key in the engine
suites. Builders (tiny models, films, subtitle files) are in the ``tiny_*`` modules beside it."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_films import SHARED_DATA

from vloc._compat import install_torchvision_compat

# the tests build tiny transformers / sentence-transformers models themselves, outside the vloc
# functions that install the torchvision compatibility step
install_torchvision_compat()


@pytest.fixture(autouse=True)
def _isolated_vloc_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Point vloc's cache at a temp dir so tests never touch the user's cache."""
    home = tmp_path_factory.mktemp("vloc-home")
    monkeypatch.setenv("VLOC_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    return home


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the project, or skip when it is absent (as on users' machines)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder not found: {SHARED_DATA}")
    return SHARED_DATA


# the suites that talk to engines: each of their tests runs with a canary API key in the
# environment, and no file it leaves behind may hold it
ENGINE_SUITES = ("test_engine_llm", "test_translate_engines", "test_engine_real", "test_batch_e2e")
CANARY_KEY = "sk-canary-0123456789abcdef-never-written"


@pytest.fixture(autouse=True)
def _canary_key(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """In the engine suites: set ``VLOC_API_KEY`` to a canary and, after the test, fail when
    any file under its ``tmp_path`` (outputs, workspace, journals, reports) holds it."""
    if request.module.__name__.rsplit(".", 1)[-1] not in ENGINE_SUITES:
        yield
        return
    monkeypatch.setenv("VLOC_API_KEY", CANARY_KEY)  # a test may set its own after this
    # asked for now, so that it is torn down after this fixture's check
    root = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    yield
    if root is not None:
        leaked = [
            p for p in root.rglob("*") if p.is_file() and CANARY_KEY.encode() in p.read_bytes()
        ]
        assert not leaked, f"the API key reached {leaked}"
