"""Two tiny sentence encoders (random weights, different vocabularies) for the index tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_models import build_tiny_sentence_model


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_sentence_model(tmp_path_factory.mktemp("tiny-a"))


@pytest.fixture(scope="session")
def tiny_model_b(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_sentence_model(tmp_path_factory.mktemp("tiny-b"), seed=1)
