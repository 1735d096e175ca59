"""Retries against a real server whose rate limit is 0.5 calls/s with a burst of 1."""

from __future__ import annotations

import time
from typing import Iterator, List

import pytest

import corix
from corix_testing import CorixServer


@pytest.fixture(scope="module")
def limited() -> Iterator[CorixServer]:
    srv = CorixServer({"CORIX_RATE_LIMIT_PER_SECOND": "0.5", "CORIX_RATE_LIMIT_BURST": "1"})
    yield srv
    srv.stop()


def test_429_is_retried_after_retry_after(limited: CorixServer) -> None:
    client = corix.Client(api_key=limited.key, base_url=limited.base_url, max_retries=3)
    waits: List[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    client._sleep = sleep
    time.sleep(2.1)  # a full bucket
    client.workspaces.list()
    started = time.monotonic()
    assert [w.name for w in client.workspaces.list()] == ["Default"]
    assert waits == [2.0]  # the server's Retry-After for an empty bucket at 0.5/s
    assert time.monotonic() - started >= 1.9


def test_429_raises_the_typed_error_after_the_retries(limited: CorixServer) -> None:
    waits: List[float] = []
    client = corix.Client(api_key=limited.key, base_url=limited.base_url, max_retries=2)
    client._sleep = waits.append  # do not wait: every retry meets an empty bucket
    time.sleep(2.1)
    client.workspaces.list()
    with pytest.raises(corix.RateLimitError) as info:
        client.workspaces.list()
    assert waits == [2.0, 2.0]
    assert info.value.status_code == 429 and info.value.code == "rate_limited"
    assert info.value.retry_after is not None and info.value.retry_after >= 1
    with pytest.raises(corix.RateLimitError):
        client.with_options(max_retries=0).workspaces.list()
