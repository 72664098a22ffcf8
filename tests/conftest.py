"""Shared fixtures."""

from __future__ import annotations

import pytest

from tests.fakes import DeterministicEmbeddings


@pytest.fixture
def embeddings() -> DeterministicEmbeddings:
    return DeterministicEmbeddings()
