"""The async client against the real server."""

from __future__ import annotations

import anyio
import pytest

import corix
from corix_testing import CorixServer


@pytest.mark.anyio
async def test_async_client(server: CorixServer, computer: corix.Computer) -> None:
    async with corix.AsyncClient(api_key=server.key, base_url=server.base_url) as client:
        remote = await client.computers.get(computer.id)
        assert isinstance(remote, corix.AsyncComputer) and remote.status == "running"
        assert computer.id in [c.id for c in await client.computers.list()]
        assert await remote.bash("echo async") == "async\n"
        assert (await remote.python("print(1+1)", full=True)).stdout == "2\n"
        shot = await remote.screenshot()
        assert shot.startswith(b"\x89PNG")
        assert (await remote.click(100, 100)).success
        assert (await remote.type("x")).success
        await remote.upload("/root/async.txt", b"async-data")
        assert await remote.download("/root/async.txt") == b"async-data"
        assert "async.txt" in [f.name for f in await remote.list_files("/root")]
        assert (await remote.delete_file("/root/async.txt")).success

        results: list = [None] * 4

        async def run(i: int) -> None:
            results[i] = await remote.bash(f"echo {i}")

        async with anyio.create_task_group() as tg:
            for i in range(4):
                tg.start_soon(run, i)
        assert results == ["0\n", "1\n", "2\n", "3\n"]

        async with remote.terminal() as term:
            await term.send("echo term-$((2+3))\n")
            assert "term-5" in await term.expect("term-5", timeout=30)

        with pytest.raises(corix.NotFoundError):
            await client.computers.get("00000000-0000-0000-0000-000000000000")
        ws = await client.workspaces.create("sdk-async")
        assert (await client.workspaces.get(ws.id)).name == "sdk-async"
        assert (await client.workspaces.delete(ws)).deleted
