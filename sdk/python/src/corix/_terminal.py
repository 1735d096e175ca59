"""The interactive terminal over a WebSocket (``/ws/terminal/{id}``)."""

from __future__ import annotations

import json
import time
from typing import Any, AsyncIterator, Dict, Iterator, Optional

import httpx

from ._errors import APIConnectionError, APITimeoutError, CorixError, make_status_error
from ._models import TerminalMessage

__all__ = ["Terminal", "AsyncTerminal", "TerminalClosed"]


class TerminalClosed(CorixError):
    """The terminal's WebSocket is closed."""


def terminal_url(base: str, computer_id: str, cols: Optional[int], rows: Optional[int]) -> str:
    from urllib.parse import quote, urlencode

    query = urlencode({k: v for k, v in {"cols": cols, "rows": rows}.items() if v is not None})
    return f"{base}/ws/terminal/{quote(computer_id, safe='')}" + (f"?{query}" if query else "")


def handshake_error(exc: Exception, url: str) -> Exception:
    """Maps a refused WebSocket handshake to the typed error of its HTTP status."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if response is not None and status is not None:
        body = getattr(response, "body", b"") or b""
        raw_headers = getattr(response, "headers", None)
        headers = {}
        for name in ("content-type", "retry-after"):
            value = raw_headers.get(name) if raw_headers is not None else None
            if value is not None:
                headers[name] = value
        fake = httpx.Response(status, headers=headers, content=bytes(body), request=httpx.Request("GET", url))
        fake.read()
        return make_status_error(fake)
    if isinstance(exc, TimeoutError):
        return APITimeoutError("Terminal connection timed out")
    return APIConnectionError(f"Terminal connection failed: {exc}")


def _parse(raw: Any) -> TerminalMessage:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    try:
        value = json.loads(raw)
    except ValueError:
        return TerminalMessage(type="stdout", data=raw)
    return TerminalMessage.model_validate(value)


class _Output:
    """Collected output and the exit code, shared by both terminals."""

    exit_code: Optional[int]

    def __init__(self) -> None:
        self.exit_code = None
        self._buffer = ""

    def _note(self, message: TerminalMessage) -> None:
        if message.type in ("stdout", "stderr") and message.data:
            self._buffer += message.data
        elif message.type == "exit":
            self.exit_code = message.code

    @property
    def output(self) -> str:
        """Everything received on stdout and stderr so far."""
        return self._buffer


class Terminal(_Output):
    """A live shell on the computer. Use it as a context manager::

        with computer.terminal() as term:
            term.send("echo hello\\n")
            term.expect("hello")
    """

    def __init__(self, url: str, headers: Dict[str, str], open_timeout: float = 30.0) -> None:
        super().__init__()
        from websockets.sync.client import connect

        self.url = url
        try:
            # ``__enter__`` returns the open connection on every websockets version (and marks it as managed).
            self._ws = connect(
                url, additional_headers=headers, open_timeout=open_timeout, proxy=None, max_size=None
            ).__enter__()
        except Exception as e:
            raise handshake_error(e, url) from e

    def send(self, data: str) -> None:
        """Writes ``data`` to the shell's stdin (add ``\\n`` to run a line)."""
        self._send({"type": "stdin", "data": data})

    def resize(self, cols: int, rows: int) -> None:
        """Resizes the terminal to ``cols`` x ``rows``."""
        self._send({"type": "resize", "cols": cols, "rows": rows})

    def _send(self, message: Dict[str, Any]) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            self._ws.send(json.dumps(message))
        except ConnectionClosed as e:
            raise TerminalClosed("The terminal is closed") from e

    def recv(self, timeout: Optional[float] = None) -> TerminalMessage:
        """The next message (``stdout``, ``stderr`` or ``exit``); ``TimeoutError`` after ``timeout`` seconds."""
        from websockets.exceptions import ConnectionClosed

        try:
            raw = self._ws.recv(timeout=timeout)
        except ConnectionClosed as e:
            raise TerminalClosed("The terminal is closed") from e
        message = _parse(raw)
        self._note(message)
        return message

    def expect(self, text: str, timeout: float = 30.0) -> str:
        """Reads until the output received so far contains ``text``; returns all output so far."""
        deadline = time.monotonic() + timeout
        while text not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{text!r} did not appear within {timeout} s; got {self._buffer[-500:]!r}")
            message = self.recv(timeout=left)
            if message.type == "exit" and text not in self._buffer:
                raise TerminalClosed(f"The shell exited ({message.code}) before {text!r} appeared")
        return self._buffer

    def __iter__(self) -> Iterator[TerminalMessage]:
        """Messages until the terminal closes."""
        while True:
            try:
                yield self.recv()
            except TerminalClosed:
                return

    def close(self) -> None:
        """Closes the WebSocket (the shell ends)."""
        self._ws.close()

    def __enter__(self) -> "Terminal":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncTerminal(_Output):
    """The async twin of :class:`Terminal`; open it with ``await computer.terminal()`` or ``async with``."""

    def __init__(self, url: str, headers: Dict[str, str], open_timeout: float = 30.0) -> None:
        super().__init__()
        self.url = url
        self._headers = headers
        self._open_timeout = open_timeout
        self._ws: Any = None

    async def connect(self) -> "AsyncTerminal":
        """Opens the WebSocket."""
        from websockets.asyncio.client import connect

        try:
            self._ws = await connect(
                self.url, additional_headers=self._headers, open_timeout=self._open_timeout, proxy=None, max_size=None
            )
        except Exception as e:
            raise handshake_error(e, self.url) from e
        return self

    def __await__(self) -> Any:
        return self.connect().__await__()

    async def send(self, data: str) -> None:
        """Writes ``data`` to the shell's stdin."""
        await self._send({"type": "stdin", "data": data})

    async def resize(self, cols: int, rows: int) -> None:
        """Resizes the terminal to ``cols`` x ``rows``."""
        await self._send({"type": "resize", "cols": cols, "rows": rows})

    async def _send(self, message: Dict[str, Any]) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            await self._ws.send(json.dumps(message))
        except ConnectionClosed as e:
            raise TerminalClosed("The terminal is closed") from e

    async def recv(self, timeout: Optional[float] = None) -> TerminalMessage:
        """The next message; ``TimeoutError`` after ``timeout`` seconds."""
        import asyncio

        from websockets.exceptions import ConnectionClosed

        try:
            raw = await asyncio.wait_for(self._ws.recv(), timeout)
        except ConnectionClosed as e:
            raise TerminalClosed("The terminal is closed") from e
        except asyncio.TimeoutError as e:
            raise TimeoutError("No terminal message within the timeout") from e
        message = _parse(raw)
        self._note(message)
        return message

    async def expect(self, text: str, timeout: float = 30.0) -> str:
        """Reads until the output so far contains ``text``; returns all output so far."""
        deadline = time.monotonic() + timeout
        while text not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{text!r} did not appear within {timeout} s; got {self._buffer[-500:]!r}")
            message = await self.recv(timeout=left)
            if message.type == "exit" and text not in self._buffer:
                raise TerminalClosed(f"The shell exited ({message.code}) before {text!r} appeared")
        return self._buffer

    async def __aiter__(self) -> AsyncIterator[TerminalMessage]:
        while True:
            try:
                yield await self.recv()
            except TerminalClosed:
                return

    async def close(self) -> None:
        """Closes the WebSocket."""
        if self._ws is not None:
            await self._ws.close()

    async def __aenter__(self) -> "AsyncTerminal":
        if self._ws is None:
            await self.connect()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()
