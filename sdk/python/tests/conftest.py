from __future__ import annotations

import os
import sys
from typing import Iterator

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import corix  # noqa: E402
from corix_testing import BINARY, CorixServer, FakeModel, prompt_route_exists  # noqa: E402


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    if BINARY.exists():
        return
    skip = pytest.mark.skip(reason=f"{BINARY} is missing: cargo build --release -p corix-cli")
    for item in items:
        if "server" in getattr(item, "fixturenames", ()):
            item.add_marker(skip)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def fake_model() -> Iterator[FakeModel]:
    fake = FakeModel()
    yield fake
    fake.close()


@pytest.fixture(scope="session")
def server(fake_model: FakeModel) -> Iterator[CorixServer]:
    """The real server, for the whole session (its computers are removed at the end)."""
    srv = CorixServer(fake_model.env())
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def client(server: CorixServer) -> Iterator[corix.Client]:
    with corix.Client(api_key=server.key, base_url=server.base_url) as c:
        yield c


@pytest.fixture(scope="session")
def computer(client: corix.Client) -> Iterator[corix.Computer]:
    """One running computer shared by the action tests."""
    c = client.computers.create(name="sdk-shared", cpu=1, ram=4)
    yield c
    try:
        c.terminate()
    except corix.CorixError:
        pass


@pytest.fixture(scope="session")
def has_prompt(server: CorixServer, computer: corix.Computer) -> bool:
    return prompt_route_exists(server.base_url, server.key, computer.id)
