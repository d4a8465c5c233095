"""The rate limiter on its own: counting, Retry-After, the shared Redis counter, the fallback when
Redis is down, and the ADAL_RATE_* settings."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from flask import Flask
from flask_babel import Babel

from plugin.config import RATE_LIMIT_VARIABLES, ConfigError, load_config
from plugin.kernel.ratelimit import DEFAULT_RATES, LTI_USER, Limiter, Rate, RateLimited, retry_message

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture(autouse=True)
def _request_context() -> Iterator[None]:
    """Messages are translated, so they need an app with Babel (English here)."""
    app = Flask("ratelimit-test")
    Babel(app, locale_selector=lambda: "en")
    with app.test_request_context():
        yield


@pytest.fixture
def prefix() -> Iterator[str]:
    """A Redis key prefix of this test's own; its keys are deleted afterwards."""
    name = f"adal-test:{uuid.uuid4().hex}"
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.fail("Redis is not running at 127.0.0.1:6379 (see README, Running in production)")
    yield name
    for key in client.scan_iter(f"{name}:*"):
        client.delete(key)
    client.close()


def test_limit_is_per_bucket_and_key_and_refusal_carries_retry_after():
    limiter = Limiter()
    for _ in range(3):
        limiter.hit("b", "alice", limit=3, per_seconds=60)
    with pytest.raises(RateLimited) as refused:
        limiter.hit("b", "alice", limit=3, per_seconds=60)
    assert refused.value.status == 429
    assert 1 <= refused.value.retry_after <= 60
    assert str(refused.value).startswith("Try again in ")
    limiter.hit("b", "bob", limit=3, per_seconds=60)  # another key: its own window
    limiter.hit("other", "alice", limit=3, per_seconds=60)  # another bucket: its own window


def test_a_refused_hit_is_not_counted():
    """Hammering past the limit does not push the window on: the wait stays what it was."""
    limiter = Limiter()
    limiter.hit("b", "k", limit=1, per_seconds=60)
    waits = []
    for _ in range(5):
        with pytest.raises(RateLimited) as refused:
            limiter.hit("b", "k", limit=1, per_seconds=60)
        waits.append(refused.value.retry_after)
    assert max(waits) <= 60 and min(waits) >= max(waits) - 1


def test_named_buckets_use_the_configured_rate_and_unknown_ones_need_one():
    limiter = Limiter(rates={LTI_USER: Rate(2, 30)})
    limiter.hit(LTI_USER, "u")
    limiter.hit(LTI_USER, "u")
    with pytest.raises(RateLimited) as refused:
        limiter.hit(LTI_USER, "u")
    assert refused.value.retry_after <= 30
    with pytest.raises(ValueError, match="no rate is configured"):
        limiter.hit("made_up", "u")


def test_retry_message_uses_minutes_for_long_waits():
    assert retry_message(1) == "Try again in 1 second."
    assert retry_message(59) == "Try again in 59 seconds."
    assert retry_message(900) == "Try again in 15 minutes."


def test_two_limiters_share_one_counter_through_redis(prefix):
    """Two workers (or machines) with the same Redis: the second sees what the first counted."""
    first, second = Limiter(REDIS_URL, prefix=prefix), Limiter(REDIS_URL, prefix=prefix)
    first.hit("api_token", "t1", limit=3, per_seconds=60)
    second.hit("api_token", "t1", limit=3, per_seconds=60)
    first.hit("api_token", "t1", limit=3, per_seconds=60)
    with pytest.raises(RateLimited):
        second.hit("api_token", "t1", limit=3, per_seconds=60)
    keys = [k.decode() for k in redis.Redis.from_url(REDIS_URL).scan_iter(f"{prefix}:*")]
    assert keys, "the counter is in Redis"
    assert not any("t1" in key for key in keys), "keys are hashed: no token or user id in Redis"
    # A limiter without Redis (another installation) counts on its own.
    Limiter().hit("api_token", "t1", limit=3, per_seconds=60)


def test_redis_down_falls_back_to_counting_in_the_process(caplog):
    limiter = Limiter("redis://127.0.0.1:9/0")
    limiter.hit("b", "k", limit=2, per_seconds=60)
    limiter.hit("b", "k", limit=2, per_seconds=60)
    with pytest.raises(RateLimited):
        limiter.hit("b", "k", limit=2, per_seconds=60)
    assert caplog.text.count("Redis did not answer") == 1  # once, not once per request


def test_rates_come_from_the_environment(tmp_path):
    config = load_config({"ADAL_INSTANCE_PATH": str(tmp_path), "ADAL_RATE_LTI_USER": "5/10",
                          "ADAL_RATE_ADMIN_ADDRESS": " 100/3600 "})
    assert config.rate_limits == {"lti_user": (5, 10), "admin_login_address": (100, 3600)}
    assert load_config({"ADAL_INSTANCE_PATH": str(tmp_path)}).rate_limits == {}


@pytest.mark.parametrize("raw", ["30", "30/", "/60", "0/60", "30/0", "-1/60", "many/60"])
def test_a_bad_rate_names_its_variable(tmp_path, raw):
    with pytest.raises(ConfigError, match="ADAL_RATE_API_TOKEN must be REQUESTS/SECONDS"):
        load_config({"ADAL_INSTANCE_PATH": str(tmp_path), "ADAL_RATE_API_TOKEN": raw})


def test_every_bucket_has_a_default_and_a_variable():
    assert set(RATE_LIMIT_VARIABLES) == set(DEFAULT_RATES)


def test_the_in_process_windows_forget_keys_whose_window_has_passed():
    from plugin.kernel.ratelimit import Rate, _LocalWindows

    windows = _LocalWindows()
    rate = Rate(2, 60)
    for n in range(windows._SWEEP - 3):  # a class's worth of students, once each
        assert windows.hit(f"student-{n}", rate, 1000.0) is None
    assert windows.hit("student-0", rate, 1001.0) is None
    assert windows.hit("student-0", rate, 1002.0) == 1060.0  # full: room again when the first hit leaves
    assert len(windows._hits) == windows._SWEEP - 3
    windows.hit("late", rate, 1100.0)  # the SWEEP-th hit sweeps: every window but the newest has passed
    assert set(windows._hits) == {"late"}
