"""The platforms' public keys: fetched with timeouts, cached with a TTL, refetched once (and at
most every few seconds) when a token names a ``kid`` the cache does not know."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from flask_babel import gettext as _
from jwt.algorithms import RSAAlgorithm

from lti.errors import LaunchRefused

MAX_JWKS_BYTES = 512 * 1024


@dataclass
class _Entry:
    fetched_at: float
    keys: dict[str, Any]  # kid -> RSA public key object


@dataclass
class PlatformKeyCache:
    ttl_seconds: float = 600.0
    refetch_interval_seconds: float = 5.0
    timeout: tuple[float, float] = (3.0, 5.0)
    _entries: dict[str, _Entry] = field(default_factory=dict)
    _last_refetch: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _http: requests.Session = field(default_factory=requests.Session)

    def key_for(self, keyset_url: str, kid: str) -> Any:
        """The platform's public key ``kid``. Raises ``LaunchRefused`` when it cannot be had."""
        now = time.monotonic()
        entry = self._entries.get(keyset_url)
        if entry is not None and now - entry.fetched_at < self.ttl_seconds and kid in entry.keys:
            return entry.keys[kid]
        with self._lock:
            entry = self._entries.get(keyset_url)
            fresh = entry is not None and now - entry.fetched_at < self.ttl_seconds
            if fresh and kid in entry.keys:  # type: ignore[union-attr]
                return entry.keys[kid]  # type: ignore[union-attr]
            # An unknown kid in a fresh cache (the platform rotated its key) triggers a refetch,
            # but not more often than the interval, so a stream of forged kids cannot make Adal
            # hammer the platform.
            if fresh:
                if now - self._last_refetch.get(keyset_url, float("-inf")) < self.refetch_interval_seconds:
                    raise LaunchRefused("unknown_kid",
                                        _("The LMS signed this launch with a key it does not publish."))
                self._last_refetch[keyset_url] = now
            entry = _Entry(fetched_at=time.monotonic(), keys=self._fetch(keyset_url))
            self._entries[keyset_url] = entry
        if kid not in entry.keys:
            raise LaunchRefused("unknown_kid", _("The LMS signed this launch with a key it does not publish."))
        return entry.keys[kid]

    def _fetch(self, keyset_url: str) -> dict[str, Any]:
        unreachable = LaunchRefused("jwks_unavailable", _(
            "Adal could not get the LMS's public keys in time. Try again in a minute; if it keeps happening, "
            "tell your administrator."), status=502)
        try:
            with self._http.get(keyset_url, timeout=self.timeout, stream=True, allow_redirects=False) as response:
                if response.status_code != 200:
                    raise unreachable
                body = b""
                for chunk in response.iter_content(64 * 1024):  # wraps urllib3's errors in requests'
                    body += chunk
                    if len(body) > MAX_JWKS_BYTES:
                        break
        except requests.RequestException:
            raise unreachable from None
        if len(body) > MAX_JWKS_BYTES:
            raise unreachable
        try:
            document = json.loads(body)
            keys = {}
            for jwk in document["keys"]:
                if jwk.get("kty") != "RSA" or not jwk.get("kid") or jwk.get("alg", "RS256") != "RS256":
                    continue
                keys[str(jwk["kid"])] = RSAAlgorithm.from_jwk(jwk)
        except (ValueError, KeyError, TypeError):
            raise unreachable from None
        return keys
