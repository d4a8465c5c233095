"""The case world as a fixture for the appeals package's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.case_world import build_world


@pytest.fixture
def world(db_session, tmp_path: Path) -> dict:
    return build_world(db_session, tmp_path)
