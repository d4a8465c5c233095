"""Fixtures for integration tests: a live Adal and independent LTI platforms registered in it."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from tests.lti_flow import register
from tests.lti_platform import TestPlatform


@pytest.fixture
def adal(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


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


