"""Benchmark: full LTI login + launch rounds against Adal and against a bare pylti1p3 tool.

Both run under gunicorn with the same workers and threads, get the same kind of RS256 tokens from
the same in-process platform, and are measured interleaved in one run. The load generator shares
the machine, so the figure that matters is the tool's own CPU time per launch (CPU time of the
server's processes over a round divided by launches), reported beside launches/s and p50/p95.

    .venv/bin/python bench/launch.py [--rounds 6] [--launches 100] [--clients 4] [--workers 2] [--threads 4]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, jsonify
from jwt.algorithms import RSAAlgorithm
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
TICKS = os.sysconf("SC_CLK_TCK")
CLIENT_ID, DEPLOYMENT_ID = "bench-client", "bench-deployment"


class Platform:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.pem = self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption())
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk.update({"kid": "bench-key", "alg": "RS256", "use": "sig"})
        app = Flask("bench-platform")
        app.get("/jwks")(lambda: jsonify({"keys": [jwk]}))
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def token(self, *, nonce: str, sub: str, target: str) -> str:
        now = int(time.time())
        lti = "https://purl.imsglobal.org/spec/lti/claim/"
        return jwt.encode({
            "iss": self.url, "aud": CLIENT_ID, "sub": sub, "nonce": nonce, "iat": now, "exp": now + 300,
            "name": "Bench Testuly", lti + "message_type": "LtiResourceLinkRequest", lti + "version": "1.3.0",
            lti + "deployment_id": DEPLOYMENT_ID, lti + "target_link_uri": target,
            lti + "resource_link": {"id": "rl-bench"}, lti + "roles": [
                "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
            lti + "context": {"id": "bench-course", "title": "Bench Course"},
        }, self.key, algorithm="RS256", headers={"kid": "bench-key"})  # a key object: no PEM parsing per token


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry.name)] = fields
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        if current in stats:
            fields = stats[current]
            total += (int(fields[11]) + int(fields[12])) / TICKS
        todo.extend(children.get(current, []))
    return total


def wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {url}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"server did not start: {url}")


class Tool:
    def __init__(self, name: str, base: str, login_path: str, launch_path: str, proc: subprocess.Popen[bytes]) -> None:
        self.name, self.base, self.proc = name, base, proc
        self.login_url, self.launch_url = base + login_path, base + launch_path

    def one_launch(self, platform: Platform, sub: str) -> float:
        http = requests.Session()
        started = time.perf_counter()
        login = http.get(self.login_url, params={"iss": platform.url, "login_hint": sub, "client_id": CLIENT_ID,
                                                 "target_link_uri": self.launch_url}, allow_redirects=False,
                         timeout=30)
        assert login.status_code == 302, (self.name, login.status_code, login.text[:300])
        query = {k: v[0] for k, v in parse_qs(urlsplit(login.headers["Location"]).query).items()}
        token = platform.token(nonce=query["nonce"], sub=sub, target=self.launch_url)
        response = http.post(self.launch_url, data={"id_token": token, "state": query["state"]}, timeout=30)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, (self.name, response.status_code, response.text[:300])
        return elapsed


def run_round(tool: Tool, platform: Platform, launches: int, clients: int) -> tuple[float, float, list[float]]:
    subs = [f"student-{i % 50:03d}" for i in range(launches)]
    cpu_before, wall_before = process_tree_cpu(tool.proc.pid), time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        latencies = list(pool.map(lambda s: tool.one_launch(platform, s), subs))
    wall = time.perf_counter() - wall_before
    return process_tree_cpu(tool.proc.pid) - cpu_before, wall, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--launches", type=int, default=100, help="launches per round per tool")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--database-url", default=None,
                        help="run Adal on this database (e.g. an empty PostgreSQL schema) instead of SQLite")
    args = parser.parse_args()

    platform = Platform()
    tmp = Path(tempfile.mkdtemp(prefix="adal-bench-"))
    env = {**os.environ, "ADAL_INSTANCE_PATH": str(tmp / "instance"), "ADAL_LANG": "en"}
    env.pop("ADAL_DATABASE_URL", None)
    if args.database_url:
        env["ADAL_DATABASE_URL"] = args.database_url
    adal = str(VENV_BIN / "adal")
    subprocess.run([adal, "init"], env=env, check=True, capture_output=True)
    subprocess.run([adal, "platform", "add", "--issuer", platform.url, "--client-id", CLIENT_ID,
                    "--deployment-id", DEPLOYMENT_ID, "--keyset-url", platform.url + "/jwks",
                    "--auth-login-url", platform.url + "/auth", "--auth-token-url", platform.url + "/token"],
                   env=env, check=True, capture_output=True)
    adal_port, bare_port = free_port(), free_port()
    servers = [
        subprocess.Popen([adal, "serve", "--port", str(adal_port), "--workers", str(args.workers),
                          "--threads", str(args.threads)], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL),
        subprocess.Popen([str(VENV_BIN / "gunicorn"), "-w", str(args.workers), "--threads", str(args.threads),
                          "-k", "gthread", "-b", f"127.0.0.1:{bare_port}", "--chdir", str(ROOT / "bench"),
                          "bare_tool:create_app()"],
                         env={**env, "BENCH_ISS": platform.url, "BENCH_CLIENT_ID": CLIENT_ID,
                              "BENCH_DEPLOYMENT_ID": DEPLOYMENT_ID},
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    tools = [Tool("adal", f"http://127.0.0.1:{adal_port}", "/lti/login", "/lti/launch", servers[0]),
             Tool("bare pylti1p3", f"http://127.0.0.1:{bare_port}", "/login", "/launch", servers[1])]
    try:
        for tool in tools:
            wait_up(tool.base + "/", tool.proc)
            run_round(tool, platform, 20, args.clients)  # warm-up: imports, key caches, connections
        results: dict[str, dict[str, list[float]]] = {t.name: {"cpu": [], "wall": [], "lat": []} for t in tools}
        for number in range(args.rounds):
            order = tools if number % 2 == 0 else tools[::-1]  # interleaved, alternating who goes first
            for tool in order:
                cpu, wall, latencies = run_round(tool, platform, args.launches, args.clients)
                results[tool.name]["cpu"].append(cpu)
                results[tool.name]["wall"].append(wall)
                results[tool.name]["lat"].extend(latencies)
        total = args.rounds * args.launches
        print(f"# {args.rounds} rounds x {args.launches} launches per tool, {args.clients} concurrent clients, "
              f"gunicorn {args.workers} workers x {args.threads} threads, {os.cpu_count()} cores; "
              f"Adal on {'SQLite' if not args.database_url else args.database_url.split(':')[0]}")
        print(f"{'tool':<15} {'CPU ms/launch':>14} {'launches/s':>11} {'p50 ms':>8} {'p95 ms':>8}")
        summary = {}
        for name, data in results.items():
            cpu_ms = sum(data["cpu"]) / total * 1000
            per_s = total / sum(data["wall"])
            lat = sorted(data["lat"])
            p50 = statistics.median(lat) * 1000
            p95 = lat[int(len(lat) * 0.95) - 1] * 1000
            summary[name] = cpu_ms
            print(f"{name:<15} {cpu_ms:>14.2f} {per_s:>11.1f} {p50:>8.1f} {p95:>8.1f}")
        print(f"ratio adal / bare pylti1p3 (CPU per launch): {summary['adal'] / summary['bare pylti1p3']:.2f}x")
        print("latencies are client-side (login + launch, two requests); the load generator shares the CPU")
    finally:
        for proc in servers:
            proc.send_signal(signal.SIGTERM)
        for proc in servers:
            proc.wait(timeout=20)
        platform.server.shutdown()


if __name__ == "__main__":
    main()
