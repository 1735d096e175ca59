"""``corix.Client`` and ``corix.AsyncClient``: one shared base, httpx underneath."""

from __future__ import annotations

import copy
import time
from typing import Any, Callable, Awaitable, List, Mapping, Optional, Union

import anyio
import httpx

from . import _ops
from ._base import BaseClient, Op, T
from ._computer import AsyncComputer, Computer, _workspace_id
from ._errors import APIConnectionError, APITimeoutError
from ._models import Workspace, WorkspaceDeleted

__all__ = ["Client", "AsyncClient"]


class Computers:
    """``client.computers``: create, get and list computers."""

    def __init__(self, client: "Client") -> None:
        self._client = client

    def create(
        self,
        name: Optional[str] = None,
        *,
        os: Optional[str] = None,
        cpu: Optional[int] = None,
        ram: Union[int, str, None] = None,
        disk_size_gb: Optional[int] = None,
        workspace_id: Union[str, Workspace, None] = None,
        resolution: Optional[str] = None,
        wait: bool = True,
    ) -> Computer:
        """Creates a computer and returns it once its desktop is up (``wait=False``: at once, status ``creating``).

        Args:
            name: defaults to a generated ``computer-xxxxxxxx``.
            os: only ``"linux"``.
            cpu: 1, 2, 4, 8 or 16 vCPU.
            ram: GB as an int (4, 8, 16, 32, 64) or a string like ``"8gb"``.
            disk_size_gb: disk size in GB.
            workspace_id: a workspace id or :class:`Workspace` (default: the default workspace).
            resolution: ``"WxH"`` or ``"WxHxD"`` (default ``1280x720x24``).
        """
        op = _ops.create_computer(
            name=name, os=os, cpu=cpu, ram=ram, disk_size_gb=disk_size_gb,
            workspace_id=None if workspace_id is None else _workspace_id(workspace_id),
            resolution=resolution, wait=wait,
        )
        return Computer._bind(self._client, self._client._run(op))

    def get(self, computer_id: str) -> Computer:
        """The computer with this id."""
        return Computer._bind(self._client, self._client._run(_ops.get_computer(computer_id)))

    def list(self) -> List[Computer]:
        """Every computer of the caller that is not terminated."""
        return [Computer._bind(self._client, c) for c in self._client._run(_ops.list_computers())]

    def delete(self, computer_id: str) -> Computer:
        """Terminates the computer with this id for good."""
        return Computer._bind(self._client, self._client._run(_ops.delete_computer(computer_id)))


class Workspaces:
    """``client.workspaces``: create, get, list and delete workspaces."""

    def __init__(self, client: "Client") -> None:
        self._client = client

    def create(self, name: str) -> Workspace:
        """Creates a workspace named ``name`` (409 :class:`ConflictError` when the name is taken)."""
        return self._client._run(_ops.create_workspace(name))

    def get(self, workspace_id: str) -> Workspace:
        """The workspace with this id."""
        return self._client._run(_ops.get_workspace(workspace_id))

    def list(self) -> List[Workspace]:
        """Every workspace of the caller."""
        return self._client._run(_ops.list_workspaces())

    def delete(self, workspace: Union[str, Workspace]) -> WorkspaceDeleted:
        """Deletes the workspace and terminates its computers."""
        return self._client._run(_ops.delete_workspace(_workspace_id(workspace)))


class AsyncComputers:
    """``client.computers`` of :class:`AsyncClient`."""

    def __init__(self, client: "AsyncClient") -> None:
        self._client = client

    async def create(
        self,
        name: Optional[str] = None,
        *,
        os: Optional[str] = None,
        cpu: Optional[int] = None,
        ram: Union[int, str, None] = None,
        disk_size_gb: Optional[int] = None,
        workspace_id: Union[str, Workspace, None] = None,
        resolution: Optional[str] = None,
        wait: bool = True,
    ) -> AsyncComputer:
        """Creates a computer; see :meth:`Computers.create`."""
        op = _ops.create_computer(
            name=name, os=os, cpu=cpu, ram=ram, disk_size_gb=disk_size_gb,
            workspace_id=None if workspace_id is None else _workspace_id(workspace_id),
            resolution=resolution, wait=wait,
        )
        return AsyncComputer._bind(self._client, await self._client._run(op))

    async def get(self, computer_id: str) -> AsyncComputer:
        """The computer with this id."""
        return AsyncComputer._bind(self._client, await self._client._run(_ops.get_computer(computer_id)))

    async def list(self) -> List[AsyncComputer]:
        """Every computer of the caller that is not terminated."""
        return [AsyncComputer._bind(self._client, c) for c in await self._client._run(_ops.list_computers())]

    async def delete(self, computer_id: str) -> AsyncComputer:
        """Terminates the computer with this id for good."""
        return AsyncComputer._bind(self._client, await self._client._run(_ops.delete_computer(computer_id)))


class AsyncWorkspaces:
    """``client.workspaces`` of :class:`AsyncClient`."""

    def __init__(self, client: "AsyncClient") -> None:
        self._client = client

    async def create(self, name: str) -> Workspace:
        """Creates a workspace named ``name``."""
        return await self._client._run(_ops.create_workspace(name))

    async def get(self, workspace_id: str) -> Workspace:
        """The workspace with this id."""
        return await self._client._run(_ops.get_workspace(workspace_id))

    async def list(self) -> List[Workspace]:
        """Every workspace of the caller."""
        return await self._client._run(_ops.list_workspaces())

    async def delete(self, workspace: Union[str, Workspace]) -> WorkspaceDeleted:
        """Deletes the workspace and terminates its computers."""
        return await self._client._run(_ops.delete_workspace(_workspace_id(workspace)))


class Client(BaseClient):
    """The synchronous Corix client.

    Args:
        api_key: a ``crx_`` key; default ``CORIX_API_KEY``.
        base_url: default ``CORIX_BASE_URL``, else ``https://corix.dev/api``.
        timeout: seconds per request (or an ``httpx.Timeout``); default 180.
        max_retries: retries on 429, 502 and other 5xx answers and on connection failures, with
            exponential backoff (1 s, 2 s, 4 s, ... at most 60 s) or the server's ``Retry-After``; default 3.
        terminal_url: WebSocket root for terminals; default derived from ``base_url``.
        default_headers: extra headers on every request.
        http_client: an ``httpx.Client`` to use (e.g. with a custom transport).
    """

    computers: Computers
    workspaces: Workspaces

    def __init__(
        self,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        *,
        timeout: Union[float, httpx.Timeout, None] = None,
        max_retries: Optional[int] = None,
        terminal_url: Optional[str] = None,
        default_headers: Optional[Mapping[str, str]] = None,
        http_client: Optional[httpx.Client] = None,
    ) -> None:
        super().__init__(
            api_key, base_url, timeout=timeout, max_retries=max_retries,
            terminal_url=terminal_url, default_headers=default_headers,
        )
        self._http = http_client or httpx.Client(timeout=self.timeout, follow_redirects=True)
        self._sleep: Callable[[float], None] = time.sleep
        self.computers = Computers(self)
        self.workspaces = Workspaces(self)

    def with_options(
        self, *, timeout: Union[float, httpx.Timeout, None] = None, max_retries: Optional[int] = None
    ) -> "Client":
        """A copy of this client (sharing its connections) with another timeout or retry count."""
        clone = copy.copy(self)
        if timeout is not None:
            clone.timeout = timeout
        if max_retries is not None:
            clone.max_retries = max_retries
        clone.computers = Computers(clone)
        clone.workspaces = Workspaces(clone)
        return clone

    def _send(self, op: "Op[Any]") -> httpx.Response:
        """Sends ``op``, retrying as configured; returns the successful response, open for streaming."""
        request = self._build_request(self._http, op)
        retries = 0
        while True:
            try:
                response = self._http.send(request, stream=True)
            except httpx.TimeoutException as e:
                raise APITimeoutError(request=request) from e
            except httpx.TransportError as e:
                delay = self._retry_delay(retries, None) if isinstance(e, httpx.ConnectError) else None
                if delay is None:
                    raise APIConnectionError(f"Connection error: {e}", request=request) from e
                self._sleep(delay)
                retries += 1
                continue
            if response.is_success:
                return response
            delay = self._retry_delay(retries, response)
            if delay is None:
                try:
                    response.read()
                finally:
                    response.close()
                raise self._error(response)
            response.close()
            self._sleep(delay)
            retries += 1

    def _run(self, op: Op[T]) -> T:
        """Sends ``op`` (with retries) and returns its parsed answer."""
        response = self._send(op)
        try:
            response.read()
        except httpx.TimeoutException as e:
            raise APITimeoutError(request=response.request) from e
        except httpx.TransportError as e:
            raise APIConnectionError(f"Connection error: {e}", request=response.request) from e
        finally:
            response.close()
        return op.parse(response)

    def health(self) -> Any:
        """``GET /api/health``: ``{"status": "ok", "version": ...}`` (needs no key)."""
        response = self._http.get(self.base_url + "/health", timeout=self.timeout)
        if not response.is_success:
            raise self._error(response)
        return response.json()

    def close(self) -> None:
        """Closes the connections."""
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncClient(BaseClient):
    """The asynchronous Corix client: the same arguments as :class:`Client`, every call awaitable."""

    computers: AsyncComputers
    workspaces: AsyncWorkspaces

    def __init__(
        self,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        *,
        timeout: Union[float, httpx.Timeout, None] = None,
        max_retries: Optional[int] = None,
        terminal_url: Optional[str] = None,
        default_headers: Optional[Mapping[str, str]] = None,
        http_client: Optional[httpx.AsyncClient] = None,
    ) -> None:
        super().__init__(
            api_key, base_url, timeout=timeout, max_retries=max_retries,
            terminal_url=terminal_url, default_headers=default_headers,
        )
        self._http = http_client or httpx.AsyncClient(timeout=self.timeout, follow_redirects=True)
        self._sleep: Callable[[float], Awaitable[None]] = anyio.sleep
        self.computers = AsyncComputers(self)
        self.workspaces = AsyncWorkspaces(self)

    def with_options(
        self, *, timeout: Union[float, httpx.Timeout, None] = None, max_retries: Optional[int] = None
    ) -> "AsyncClient":
        """A copy of this client (sharing its connections) with another timeout or retry count."""
        clone = copy.copy(self)
        if timeout is not None:
            clone.timeout = timeout
        if max_retries is not None:
            clone.max_retries = max_retries
        clone.computers = AsyncComputers(clone)
        clone.workspaces = AsyncWorkspaces(clone)
        return clone

    async def _send(self, op: "Op[Any]") -> httpx.Response:
        """Sends ``op``, retrying as configured; returns the successful response, open for streaming."""
        request = self._build_request(self._http, op)
        retries = 0
        while True:
            try:
                response = await self._http.send(request, stream=True)
            except httpx.TimeoutException as e:
                raise APITimeoutError(request=request) from e
            except httpx.TransportError as e:
                delay = self._retry_delay(retries, None) if isinstance(e, httpx.ConnectError) else None
                if delay is None:
                    raise APIConnectionError(f"Connection error: {e}", request=request) from e
                await self._sleep(delay)
                retries += 1
                continue
            if response.is_success:
                return response
            delay = self._retry_delay(retries, response)
            if delay is None:
                try:
                    await response.aread()
                finally:
                    await response.aclose()
                raise self._error(response)
            await response.aclose()
            await self._sleep(delay)
            retries += 1

    async def _run(self, op: Op[T]) -> T:
        """Sends ``op`` (with retries) and returns its parsed answer."""
        response = await self._send(op)
        try:
            await response.aread()
        except httpx.TimeoutException as e:
            raise APITimeoutError(request=response.request) from e
        except httpx.TransportError as e:
            raise APIConnectionError(f"Connection error: {e}", request=response.request) from e
        finally:
            await response.aclose()
        return op.parse(response)

    async def health(self) -> Any:
        """``GET /api/health`` (needs no key)."""
        response = await self._http.get(self.base_url + "/health", timeout=self.timeout)
        if not response.is_success:
            raise self._error(response)
        return response.json()

    async def close(self) -> None:
        """Closes the connections."""
        await self._http.aclose()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()
