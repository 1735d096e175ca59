"""Typed errors from the real server: 400, 401, 403, 404, 409."""

from __future__ import annotations

import pytest

import corix
from corix_testing import CorixServer


def test_401_bad_key(server: CorixServer) -> None:
    bad = corix.Client(api_key="crx_" + "f" * 40, base_url=server.base_url)
    with pytest.raises(corix.AuthenticationError) as info:
        bad.computers.list()
    assert info.value.status_code == 401 and info.value.code == "unauthorized" and info.value.error


def test_403_someone_elses_computer_and_plan_limit(server: CorixServer, computer: corix.Computer) -> None:
    key = server.create_user("sdk-starter@example.com", "starter")
    other = corix.Client(api_key=key, base_url=server.base_url)
    with pytest.raises(corix.PermissionDeniedError) as info:
        other.computers.get(computer.id)
    assert info.value.status_code == 403 and info.value.code == "forbidden"
    with pytest.raises(corix.PlanLimitError) as limit:
        other.computers.create(cpu=2, ram=4)
    assert limit.value.code == "plan_limit" and "plan" in limit.value.error
    assert isinstance(limit.value, corix.PermissionDeniedError)


def test_404_unknown_ids(client: corix.Client) -> None:
    with pytest.raises(corix.NotFoundError) as info:
        client.computers.get("00000000-0000-0000-0000-000000000000")
    assert info.value.status_code == 404 and info.value.code == "not_found"
    with pytest.raises(corix.NotFoundError):
        client.workspaces.get("00000000-0000-0000-0000-000000000000")


def test_409_duplicate_workspace(client: corix.Client) -> None:
    ws = client.workspaces.create("sdk-dup")
    try:
        with pytest.raises(corix.ConflictError) as info:
            client.workspaces.create("sdk-dup")
        assert info.value.status_code == 409 and info.value.code == "conflict"
    finally:
        client.workspaces.delete(ws)


def test_400_bad_input(client: corix.Client) -> None:
    with pytest.raises(corix.BadRequestError) as info:
        client.computers.create(cpu=3)
    assert info.value.status_code == 400 and info.value.code == "bad_request" and "cpu" in info.value.error
    with pytest.raises(corix.BadRequestError):
        client.workspaces.create("")


def test_terminal_handshake_errors(server: CorixServer, computer: corix.Computer) -> None:
    bad = corix.Client(api_key="crx_" + "f" * 40, base_url=server.base_url)
    with pytest.raises(corix.AuthenticationError) as info:
        corix.Computer._bind(bad, computer).terminal()
    assert info.value.code == "unauthorized"
    client = corix.Client(api_key=server.key, base_url=server.base_url)
    with pytest.raises(corix.NotFoundError):
        corix.Computer._bind(client, computer.model_copy(update={"id": "00000000-0000-0000-0000-000000000000"})).terminal()
