"""Fixtures for integration tests: a live Adal and independent LTI platforms registered in it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.lti_flow import register
from tests.lti_platform import TestPlatform
from tests.servers import serve_wsgi


@pytest.fixture
def adal(app) -> Iterator[str]:
    with serve_wsgi(app) as url:
        yield url


@pytest.fixture
def lms(app, adal) -> Iterator[TestPlatform]:
    platform = TestPlatform("moodle")
    with platform.serve(adal):
        register(app, platform)
        yield platform


@pytest.fixture
def canvas(app, adal) -> Iterator[TestPlatform]:
    platform = TestPlatform("canvas", client_id="10000000000042", deployment_id="canvas-dep")
    with platform.serve(adal):
        register(app, platform)
        yield platform


