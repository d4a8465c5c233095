"""Single use of a nonce across several machines, when the installation has Redis."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache

import redis


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


class NonceStoreUnavailable(RuntimeError):
    pass


def claim_in_redis(url: str, nonce: str, *, ttl: timedelta) -> bool:
    """True for the first claim of ``nonce``; False for every later one until it expires.

    Raises ``NonceStoreUnavailable`` when Redis does not answer: a launch is then refused, never
    accepted without the check.
    """
    try:
        return bool(_client(url).set(f"adal:lti:nonce:{nonce}", b"1", nx=True, ex=int(ttl.total_seconds())))
    except redis.RedisError as exc:
        raise NonceStoreUnavailable(str(exc)) from exc
