"""Rate limits: at most ``limit`` requests per ``per_seconds`` in any moving window, per bucket and key.

A *bucket* is a policy (LTI launches per user, integration API per token, ...); a *key* says whose
requests are counted in it (a platform and a user, a token, an account). Callers pass what the
request carries, never the address alone for LTI: a whole class behind one school NAT shares it.

Counters live in Redis when the installation has ``ADAL_REDIS_URL`` (several gunicorn workers or
machines must share them), in this process otherwise. Built on the ``limits`` library (moving
window: exact, and the oldest hit in the window gives an exact ``Retry-After``). Keys are hashed
before they reach the store, so Redis holds no user id or token. In one process the same moving
window is kept by ``_LocalWindows`` below: the library's in-memory store re-scans every key from a
timer thread after each hit, which cost a launch 5 ms of CPU with a class's worth of keys.

If Redis does not answer, the counters fall back to this process (logged): a broken cache must not
stop a class from launching, and each worker still limits what it sees.

The rates a bucket uses by default are in ``DEFAULT_RATES``; the app factory passes the
installation's overrides (``ADAL_RATE_*``, read by ``plugin.config``) to ``install``.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from flask import Flask, current_app
from flask_babel import ngettext
from limits import RateLimitItemPerSecond
from limits.errors import StorageError
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from plugin.kernel.errors import AdalError

log = logging.getLogger("adal.ratelimit")
_EXTENSION = "adal.ratelimit"

#: LTI ``/lti/login`` and ``/lti/launch``, per platform and user (login_hint, or the token's ``sub``).
LTI_USER = "lti_user"
#: LTI ``/lti/login`` and ``/lti/launch``, per platform (issuer and client id): a generous backstop.
LTI_PLATFORM = "lti_platform"
#: The integration API, per bearer token.
API_TOKEN = "api_token"  # noqa: S105  (a bucket's name, not a token)
#: Admin console sign-in, per account name tried, and per client address.
ADMIN_LOGIN_ACCOUNT = "admin_login_account"
ADMIN_LOGIN_ADDRESS = "admin_login_address"


@dataclass(frozen=True)
class Rate:
    limit: int
    per_seconds: int

    def __post_init__(self) -> None:
        if self.limit < 1 or self.per_seconds < 1:
            raise ValueError(f"a rate needs at least 1 request per at least 1 second, got {self}")

    def __str__(self) -> str:
        return f"{self.limit}/{self.per_seconds}"


#: Defaults, documented in README ("Security"). A student relaunching the activity a few times a
#: minute stays far below LTI_USER; 6,000 launches a minute per platform is a whole faculty at once.
DEFAULT_RATES: dict[str, Rate] = {
    LTI_USER: Rate(30, 60),
    LTI_PLATFORM: Rate(6000, 60),
    API_TOKEN: Rate(600, 60),
    ADMIN_LOGIN_ACCOUNT: Rate(10, 900),
    ADMIN_LOGIN_ADDRESS: Rate(50, 900),
}


class RateLimited(AdalError):
    """Too many requests in this bucket for this key; ``retry_after`` is in whole seconds."""

    status = 429

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(retry_message(retry_after))


def retry_message(seconds: int) -> str:
    if seconds < 120:
        return ngettext("Try again in %(num)d second.", "Try again in %(num)d seconds.", seconds)
    minutes = math.ceil(seconds / 60)
    return ngettext("Try again in %(num)d minute.", "Try again in %(num)d minutes.", minutes)


class _LocalWindows:
    """Moving windows in this process: per key, the times of the hits still inside its window.
    Pruned at each hit of the key, and all keys every ``_SWEEP`` hits, so memory follows the
    keys active in the last window."""

    _SWEEP = 4096

    def __init__(self) -> None:
        self._hits: dict[str, tuple[int, deque[float]]] = {}
        self._lock = threading.Lock()
        self._count = 0

    def hit(self, key: str, rate: Rate, now: float) -> float | None:
        """Count a hit and return None, or return when the window has room again (nothing counted)."""
        with self._lock:
            self._count += 1
            if self._count % self._SWEEP == 0:
                self._sweep(now)
            _per, times = self._hits.setdefault(key, (rate.per_seconds, deque()))
            while times and times[0] <= now - rate.per_seconds:
                times.popleft()
            if len(times) >= rate.limit:
                return times[len(times) - rate.limit] + rate.per_seconds
            times.append(now)
            return None

    def _sweep(self, now: float) -> None:
        for key in [k for k, (per, times) in self._hits.items() if not times or times[-1] <= now - per]:
            del self._hits[key]


class Limiter:
    """One per app. ``redis_url`` None: counters in this process only."""

    def __init__(self, redis_url: str | None = None, *, rates: Mapping[str, Rate] | None = None,
                 prefix: str = "adal:rl") -> None:
        self.rates = {**DEFAULT_RATES, **(rates or {})}
        self.shared = redis_url is not None
        self._local = _LocalWindows()
        self._redis: MovingWindowRateLimiter | None = None
        if redis_url:
            storage = RedisStorage(redis_url, key_prefix=prefix, wrap_exceptions=True,
                                   socket_timeout=2, socket_connect_timeout=2)
            self._redis = MovingWindowRateLimiter(storage)
        self._last_warning = 0.0
        self._lock = threading.Lock()

    def rate(self, bucket: str) -> Rate:
        try:
            return self.rates[bucket]
        except KeyError:
            raise ValueError(f"no rate is configured for bucket {bucket!r}: pass limit and per_seconds") from None

    def hit(self, bucket: str, key: str, *, limit: int | None = None, per_seconds: int | None = None) -> None:
        """Count one request of ``key`` in ``bucket``; raise ``RateLimited`` (nothing counted) when
        the window is full. ``limit``/``per_seconds`` default to the bucket's configured rate."""
        rate = self.rate(bucket) if limit is None or per_seconds is None else Rate(limit, per_seconds)
        ident = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        reset_at: float | None
        if self._redis is not None:
            item = RateLimitItemPerSecond(rate.limit, rate.per_seconds, namespace=bucket)
            try:
                if self._redis.hit(item, ident):
                    return
                reset_at = self._redis.get_window_stats(item, ident).reset_time
                raise RateLimited(max(1, math.ceil(reset_at - time.time())))
            except StorageError as exc:
                self._warn(exc)
        now = time.time()
        reset_at = self._local.hit(f"{bucket}|{rate}|{ident}", rate, now)
        if reset_at is not None:
            raise RateLimited(max(1, math.ceil(reset_at - now)))

    def _warn(self, exc: StorageError) -> None:
        with self._lock:  # once a minute at most: a Redis outage must not flood the log
            now = time.monotonic()
            if now - self._last_warning < 60:
                return
            self._last_warning = now
        log.warning("rate limits: Redis did not answer (%s); counting in this process until it does",
                    exc.storage_error)


def install(app: Flask, *, redis_url: str | None, rates: Mapping[str, Rate] | None = None,
            prefix: str = "adal:rl") -> Limiter:
    limiter = Limiter(redis_url, rates=rates, prefix=prefix)
    app.extensions[_EXTENSION] = limiter
    return limiter


def limiter() -> Limiter:
    return current_app.extensions[_EXTENSION]  # type: ignore[no-any-return]


def hit(bucket: str, key: str, *, limit: int | None = None, per_seconds: int | None = None) -> None:
    """Count one request of ``key`` in ``bucket`` for the current app. Raises ``RateLimited``
    (status 429, a translated "try again in ..." message, ``retry_after`` seconds for the
    ``Retry-After`` header, which the error handler adds). Omit ``limit``/``per_seconds`` to use
    the installation's configured rate of one of the named buckets above."""
    limiter().hit(bucket, key, limit=limit, per_seconds=per_seconds)
