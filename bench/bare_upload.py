"""The floor for bench/burst.py: an upload endpoint that only stores what it receives.

Flask parses the same multipart form Adal gets and each uploaded file is streamed into Adal's
own ``FileStore`` (hashed, fsynced, linked), with no database, no checks and no copy: what any
upload costs on this machine before Adal does anything of its own.

    gunicorn -k gthread -w 2 --threads 4 --chdir . "bench.bare_upload:create_app()"   # BENCH_STORE=folder
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, redirect, request
from werkzeug.wrappers import Response

from plugin.kernel.filestore import FileStore


def create_app() -> Flask:
    store = FileStore(Path(os.environ["BENCH_STORE"]))
    app = Flask("bare-upload")
    app.config["MAX_CONTENT_LENGTH"] = 50 * 1024 * 1024  # Adal's default limit

    @app.get("/")
    def index() -> str:
        return "ok"

    @app.post("/upload")
    def upload() -> Response | tuple[str, int]:
        stored = [store.put_stream(part.stream) for part in request.files.getlist("files") if part.filename]
        if not stored:
            return "no file", 400
        return redirect(f"/r/{stored[0].sha256}", code=303)  # Adal answers with a redirect to the receipt too

    return app
