"""The baseline for bench/launch.py: a minimal LTI 1.3 tool on plain pylti1p3 (its documented
Flask usage, with public-key caching on), doing nothing but validating the launch."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from flask import Flask, request
from pylti1p3.contrib.flask import FlaskCacheDataStorage, FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
from pylti1p3.tool_config import ToolConfDict


class MemoryCache:
    """What flask-caching's SimpleCache offers pylti1p3: get and set with an expiry, per process."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[Any, float | None]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            value = self._data.get(key)
        if value is None or (value[1] is not None and value[1] < time.time()):
            return None
        return value[0]

    def set(self, key: str, value: Any, exp: int | None = None) -> None:
        with self._lock:
            self._data[key] = (value, time.time() + exp if exp else None)


def create_app() -> Flask:
    conf = ToolConfDict({os.environ["BENCH_ISS"]: [{
        "default": True, "client_id": os.environ["BENCH_CLIENT_ID"],
        "auth_login_url": os.environ["BENCH_ISS"] + "/auth", "auth_token_url": os.environ["BENCH_ISS"] + "/token",
        "key_set_url": os.environ["BENCH_ISS"] + "/jwks", "key_set": None,
        "deployment_ids": [os.environ["BENCH_DEPLOYMENT_ID"]],
    }]})
    app = Flask("bare-pylti1p3-tool")
    app.secret_key = os.urandom(32)
    cache = MemoryCache()

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        oidc = FlaskOIDCLogin(FlaskRequest(), conf, launch_data_storage=FlaskCacheDataStorage(cache))
        return oidc.redirect(request.values["target_link_uri"])

    @app.post("/launch")
    def launch() -> str:
        storage = FlaskCacheDataStorage(cache)
        message = FlaskMessageLaunch(FlaskRequest(), conf, launch_data_storage=storage)
        message.set_public_key_caching(storage, cache_lifetime=7200)
        data = message.get_launch_data()
        return f"<p>Hello {data['sub']}</p>"

    return app
