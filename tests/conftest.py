"""Shared fixtures."""

from __future__ import annotations

import pytest

from tests.fakes import DeterministicEmbeddings
from tests.pg import pg_database_url, pg_url  # noqa: F401  (shared fixtures)


@pytest.fixture
def embeddings() -> DeterministicEmbeddings:
    return DeterministicEmbeddings()
