"""A computer: its data (``id``, ``status``, ...) and every action on it, sync and async."""

from __future__ import annotations

import inspect
import os
from typing import TYPE_CHECKING, Any, List, Literal, Optional, Union, cast, overload

from pydantic import PrivateAttr

from . import _ops
from ._base import Op, T
from ._models import (
    ActionResult,
    ComputerData,
    CursorPosition,
    ExecResult,
    FileEntry,
    PromptResult,
    ScreenshotJson,
    Workspace,
)
from ._prompt import PromptError, SSEDecoder, StepCallback, interpret
from ._screenshot import Screenshot
from ._terminal import AsyncTerminal, Terminal, terminal_url

if TYPE_CHECKING:  # pragma: no cover
    from ._client import AsyncClient, Client

Button = Literal["left", "right", "middle"]
Direction = Literal["up", "down", "left", "right"]
DEFAULT_PROMPT_TIMEOUT = 900.0

__all__ = ["Computer", "AsyncComputer"]


def _workspace_id(workspace: Union[str, Workspace]) -> str:
    return workspace.id if isinstance(workspace, Workspace) else workspace


def _model_key(model_api_key: Optional[str]) -> Optional[str]:
    return model_api_key or os.environ.get("CORIX_MODEL_API_KEY") or None


class _ComputerBase(ComputerData):
    def _update(self, data: ComputerData) -> None:
        for name in type(self).model_fields:
            setattr(self, name, getattr(data, name))
        if data.__pydantic_extra__ is not None:
            self.__pydantic_extra__ = dict(data.__pydantic_extra__)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r}, name={self.name!r}, status={self.status!r})"


class Computer(_ComputerBase):
    """A computer (a Linux desktop). Its fields are the API's computer object; methods act on it.

    Lifecycle methods (``stop``, ``start``, ``restart``, ``resize``, ``move``, ``terminate``,
    ``refresh``) update the fields in place from the server's answer and return ``self``.
    """

    _client: "Client" = PrivateAttr()

    @classmethod
    def _bind(cls, client: "Client", data: ComputerData) -> "Computer":
        computer = cls.model_validate(data.model_dump())
        computer._client = client
        return computer

    def _run(self, op: Op[T]) -> T:
        return self._client._run(op)

    def _lifecycle(self, op: Op[ComputerData]) -> "Computer":
        self._update(self._run(op))
        return self

    # ---- lifecycle ----------------------------------------------------------------------

    def refresh(self) -> "Computer":
        """Reloads the computer's fields from the server."""
        return self._lifecycle(_ops.get_computer(self.id))

    def stop(self) -> "Computer":
        """Stops the computer; its filesystem is kept."""
        return self._lifecycle(_ops.lifecycle(self.id, "stop"))

    def start(self) -> "Computer":
        """Starts a stopped computer; answers once the desktop is up."""
        return self._lifecycle(_ops.lifecycle(self.id, "start"))

    def restart(self) -> "Computer":
        """Reboots the computer: processes end, the filesystem stays, a fresh desktop starts."""
        return self._lifecycle(_ops.lifecycle(self.id, "restart"))

    def terminate(self) -> "Computer":
        """Removes the computer for good (``DELETE /computers/{id}``)."""
        return self._lifecycle(_ops.delete_computer(self.id))

    def delete(self) -> "Computer":
        """Same as :meth:`terminate`."""
        return self.terminate()

    def resize(self, cpu: Optional[int] = None, ram: Union[int, str, None] = None) -> "Computer":
        """Live-resizes CPU and/or RAM (GB, or a string like ``"8gb"``)."""
        return self._lifecycle(_ops.resize(self.id, cpu, ram))

    def move(self, workspace: Union[str, Workspace]) -> "Computer":
        """Moves the computer to another workspace (an id or a :class:`Workspace`)."""
        return self._lifecycle(_ops.move(self.id, _workspace_id(workspace)))

    def clone(self, name: Optional[str] = None, *, wait: bool = True) -> "Computer":
        """Creates a new computer with the same specs (not the files); ``name`` defaults to ``"{name} (copy)"``."""
        return Computer._bind(self._client, self._run(_ops.clone(self.id, name, wait)))

    def auto_stop(self, minutes: Optional[int] = None) -> Optional[int]:
        """Without ``minutes``: the auto-stop setting. With it: sets it (0 disables). Returns the minutes or ``None``."""
        if minutes is None:
            value = self._run(_ops.get_auto_stop(self.id))
        else:
            value = self._run(_ops.set_auto_stop(self.id, minutes))
        self.auto_stop_minutes = value
        return value

    # ---- screen and input -------------------------------------------------------------------

    def screenshot(
        self,
        *,
        format: Literal["png", "jpeg"] = "png",
        quality: Optional[int] = None,
        width: Optional[int] = None,
        scale: Optional[float] = None,
        cursor: Optional[bool] = None,
    ) -> Screenshot:
        """The desktop as image bytes (PNG by default); ``.save(path)`` and ``.to_image()`` (Pillow) help."""
        return self._run(_ops.screenshot(self.id, format=format, quality=quality, width=width, scale=scale, cursor=cursor))

    def screenshot_base64(
        self, *, width: Optional[int] = None, scale: Optional[float] = None, cursor: Optional[bool] = None
    ) -> ScreenshotJson:
        """The desktop as ``{"image": "data:image/png;base64,...", "metadata": {...}}``."""
        return self._run(_ops.screenshot_base64(self.id, width=width, scale=scale, cursor=cursor))

    def click(
        self, x: int, y: int, button: Button = "left", double: bool = False, *,
        clicks: Optional[int] = None, hold_keys: Optional[str] = None,
    ) -> ActionResult:
        """Clicks ``button`` at (x, y); ``double=True`` double-clicks, ``clicks=3`` triple-clicks.
        ``hold_keys`` (``"shift"``, ``"ctrl+shift"``) are held down during the click."""
        return self._run(_ops.click(self.id, x, y, button, double, clicks, hold_keys))

    def double_click(self, x: int, y: int, button: Button = "left") -> ActionResult:
        """Double-clicks at (x, y)."""
        return self.click(x, y, button=button, double=True)

    def move_mouse(self, x: int, y: int) -> ActionResult:
        """Moves the pointer to (x, y)."""
        return self._run(_ops.mouse_move(self.id, x, y))

    def cursor(self) -> CursorPosition:
        """The pointer position."""
        return self._run(_ops.cursor(self.id))

    def mouse_down(self, x: Optional[int] = None, y: Optional[int] = None, button: Button = "left") -> ActionResult:
        """Presses ``button`` and keeps it down, at (x, y) if given, else where the pointer is."""
        return self._run(_ops.mouse_button(self.id, True, x, y, button))

    def mouse_up(self, x: Optional[int] = None, y: Optional[int] = None, button: Button = "left") -> ActionResult:
        """Releases ``button``, at (x, y) if given, else where the pointer is."""
        return self._run(_ops.mouse_button(self.id, False, x, y, button))

    def hold_key(self, key: str, seconds: float) -> ActionResult:
        """Holds every key of ``key`` (``"shift"``, ``"ctrl+alt"``) down for ``seconds`` (at most 30)."""
        return self._run(_ops.hold_key(self.id, key, seconds, _seconds(self._client.timeout)))

    def drag(self, start_x: int, start_y: int, end_x: int, end_y: int, button: Button = "left") -> ActionResult:
        """Drags from (start_x, start_y) to (end_x, end_y) holding ``button``."""
        return self._run(_ops.drag(self.id, start_x, start_y, end_x, end_y, button))

    def type(self, text: str) -> ActionResult:
        """Types ``text``."""
        return self._run(_ops.type_text(self.id, text))

    def key(self, key: str) -> ActionResult:
        """Presses a key (``Return``, ``F5``) or a combination (``ctrl+c``, ``alt+F4``)."""
        return self._run(_ops.key(self.id, key))

    def scroll(
        self, x: int, y: int, direction: Direction = "down", amount: int = 3, *, hold_keys: Optional[str] = None
    ) -> ActionResult:
        """Scrolls ``amount`` wheel clicks in ``direction`` at (x, y), with ``hold_keys`` held down."""
        return self._run(_ops.scroll(self.id, x, y, direction, amount, hold_keys))

    def wait(self, seconds: float) -> ActionResult:
        """Waits ``seconds`` (at most 30) on the server."""
        return self._run(_ops.wait(self.id, seconds, _seconds(self._client.timeout)))

    # ---- code -------------------------------------------------------------------------------

    @overload
    def bash(self, command: str, *, timeout: Optional[float] = ..., full: Literal[False] = ...) -> str: ...

    @overload
    def bash(self, command: str, *, timeout: Optional[float] = ..., full: Literal[True]) -> ExecResult: ...

    def bash(self, command: str, *, timeout: Optional[float] = None, full: bool = False) -> Union[str, ExecResult]:
        """Runs a bash command and returns its stdout; ``full=True`` returns the :class:`ExecResult`
        (stdout, stderr, exit_code, timed_out, truncated). ``timeout`` in seconds (server default 60)."""
        result: ExecResult = self._run(_ops.bash(self.id, command, timeout, _seconds(self._client.timeout)))
        return result if full else result.stdout

    @overload
    def python(self, code: str, *, timeout: Optional[float] = ..., full: Literal[False] = ...) -> str: ...

    @overload
    def python(self, code: str, *, timeout: Optional[float] = ..., full: Literal[True]) -> ExecResult: ...

    def python(self, code: str, *, timeout: Optional[float] = None, full: bool = False) -> Union[str, ExecResult]:
        """Runs Python code and returns its stdout; ``full=True`` returns the :class:`ExecResult`."""
        result: ExecResult = self._run(_ops.python(self.id, code, timeout, _seconds(self._client.timeout)))
        return result if full else result.stdout

    # ---- files ------------------------------------------------------------------------------

    def list_files(self, path: str = "/root") -> List[FileEntry]:
        """The entries of the directory at ``path``."""
        return self._run(_ops.list_files(self.id, path))

    def upload(self, path: str, content: _ops.Content) -> ActionResult:
        """Writes ``content`` to ``path`` in the computer (parents are created).

        ``content``: bytes, ``str`` (written as UTF-8 text), a ``pathlib.Path`` of a local file, or a binary file object.
        """
        return self._run(_ops.upload(self.id, path, content))

    def download(self, path: str, to: Union[str, "os.PathLike[str]", None] = None) -> bytes:
        """The file at ``path`` as bytes (at most 50 MB); also written to the local file ``to`` when given."""
        data: bytes = self._run(_ops.download(self.id, path))
        if to is not None:
            with open(os.fspath(to), "wb") as f:
                f.write(data)
        return data

    def delete_file(self, path: str, *, recursive: bool = False) -> ActionResult:
        """Deletes the file at ``path``; a directory only with ``recursive=True``."""
        return self._run(_ops.delete_file(self.id, path, recursive))

    # ---- terminal ---------------------------------------------------------------------------

    def terminal(self, *, cols: Optional[int] = None, rows: Optional[int] = None) -> Terminal:
        """Opens an interactive shell over a WebSocket; use it as a context manager."""
        client = self._client
        url = terminal_url(client.terminal_url, self.id, cols, rows)
        return Terminal(url, client.auth_headers, open_timeout=_seconds(client.timeout))

    # ---- agent loop -------------------------------------------------------------------------

    def prompt(
        self,
        model: str,
        task: str,
        *,
        max_steps: Optional[int] = None,
        system: Optional[str] = None,
        provider: Optional[str] = None,
        model_api_key: Optional[str] = None,
        on_step: Optional[StepCallback] = None,
        timeout: Optional[float] = DEFAULT_PROMPT_TIMEOUT,
    ) -> PromptResult:
        """Runs the agent loop (see, decide, act) on this computer until the model is done.

        Args:
            model: e.g. ``"claude-sonnet-4-6"``.
            task: what to do, in plain words.
            max_steps: model turns before the loop stops (server default 50).
            system: replaces the default system prompt.
            provider: ``"anthropic"``, ``"openai_responses"`` or ``"openai_chat"`` (default: from the model name).
            model_api_key: the model provider's key, sent as ``X-Model-Api-Key`` (default: ``CORIX_MODEL_API_KEY``).
            on_step: called with each :class:`PromptStep` as it happens (streams the answer as server-sent events).
            timeout: seconds to wait for the answer (``None``: no limit).

        Returns:
            The :class:`PromptResult`: ``.output``, ``.steps``, ``.stop_reason``, ``.usage``.
        """
        op = _ops.prompt(
            self.id, model=model, task=task, max_steps=max_steps, system=system, provider=provider,
            model_api_key=_model_key(model_api_key), stream=on_step is not None, timeout=timeout,
        )
        if on_step is None:
            return self._run(op)
        response = self._client._send(op)
        try:
            if "text/event-stream" not in response.headers.get("content-type", ""):
                response.read()
                result = PromptResult.model_validate(response.json())
                for step in result.steps:
                    on_step(step)
                return result
            decoder = SSEDecoder()
            for line in response.iter_lines():
                for event, data in decoder.feed(line):
                    kind, value = interpret(event, data)
                    if kind == "step":
                        on_step(value)
                    elif kind == "result":
                        return cast(PromptResult, value)
            for event, data in decoder.flush():
                kind, value = interpret(event, data)
                if kind == "result":
                    return cast(PromptResult, value)
            raise PromptError("The prompt stream ended without a result")
        finally:
            response.close()

    def cancel_prompt(self) -> bool:
        """Cancels the agent loop running on this computer (``DELETE /computers/{id}/prompt``)."""
        return self._run(_ops.cancel_prompt(self.id))


class AsyncComputer(_ComputerBase):
    """The async twin of :class:`Computer`: the same fields, every method a coroutine."""

    _client: "AsyncClient" = PrivateAttr()

    @classmethod
    def _bind(cls, client: "AsyncClient", data: ComputerData) -> "AsyncComputer":
        computer = cls.model_validate(data.model_dump())
        computer._client = client
        return computer

    async def _run(self, op: Op[T]) -> T:
        return await self._client._run(op)

    async def _lifecycle(self, op: Op[ComputerData]) -> "AsyncComputer":
        self._update(await self._run(op))
        return self

    async def refresh(self) -> "AsyncComputer":
        """Reloads the computer's fields from the server."""
        return await self._lifecycle(_ops.get_computer(self.id))

    async def stop(self) -> "AsyncComputer":
        """Stops the computer; its filesystem is kept."""
        return await self._lifecycle(_ops.lifecycle(self.id, "stop"))

    async def start(self) -> "AsyncComputer":
        """Starts a stopped computer; answers once the desktop is up."""
        return await self._lifecycle(_ops.lifecycle(self.id, "start"))

    async def restart(self) -> "AsyncComputer":
        """Reboots the computer."""
        return await self._lifecycle(_ops.lifecycle(self.id, "restart"))

    async def terminate(self) -> "AsyncComputer":
        """Removes the computer for good."""
        return await self._lifecycle(_ops.delete_computer(self.id))

    async def delete(self) -> "AsyncComputer":
        """Same as :meth:`terminate`."""
        return await self.terminate()

    async def resize(self, cpu: Optional[int] = None, ram: Union[int, str, None] = None) -> "AsyncComputer":
        """Live-resizes CPU and/or RAM."""
        return await self._lifecycle(_ops.resize(self.id, cpu, ram))

    async def move(self, workspace: Union[str, Workspace]) -> "AsyncComputer":
        """Moves the computer to another workspace."""
        return await self._lifecycle(_ops.move(self.id, _workspace_id(workspace)))

    async def clone(self, name: Optional[str] = None, *, wait: bool = True) -> "AsyncComputer":
        """Creates a new computer with the same specs (not the files)."""
        return AsyncComputer._bind(self._client, await self._run(_ops.clone(self.id, name, wait)))

    async def auto_stop(self, minutes: Optional[int] = None) -> Optional[int]:
        """Gets (no argument) or sets (0 disables) the auto-stop minutes."""
        if minutes is None:
            value = await self._run(_ops.get_auto_stop(self.id))
        else:
            value = await self._run(_ops.set_auto_stop(self.id, minutes))
        self.auto_stop_minutes = value
        return value

    async def screenshot(
        self,
        *,
        format: Literal["png", "jpeg"] = "png",
        quality: Optional[int] = None,
        width: Optional[int] = None,
        scale: Optional[float] = None,
        cursor: Optional[bool] = None,
    ) -> Screenshot:
        """The desktop as image bytes (PNG by default)."""
        return await self._run(
            _ops.screenshot(self.id, format=format, quality=quality, width=width, scale=scale, cursor=cursor)
        )

    async def screenshot_base64(
        self, *, width: Optional[int] = None, scale: Optional[float] = None, cursor: Optional[bool] = None
    ) -> ScreenshotJson:
        """The desktop as base64 JSON with metadata."""
        return await self._run(_ops.screenshot_base64(self.id, width=width, scale=scale, cursor=cursor))

    async def click(
        self, x: int, y: int, button: Button = "left", double: bool = False, *,
        clicks: Optional[int] = None, hold_keys: Optional[str] = None,
    ) -> ActionResult:
        """Clicks ``button`` at (x, y); ``double=True`` double-clicks, ``clicks=3`` triple-clicks."""
        return await self._run(_ops.click(self.id, x, y, button, double, clicks, hold_keys))

    async def double_click(self, x: int, y: int, button: Button = "left") -> ActionResult:
        """Double-clicks at (x, y)."""
        return await self.click(x, y, button=button, double=True)

    async def move_mouse(self, x: int, y: int) -> ActionResult:
        """Moves the pointer to (x, y)."""
        return await self._run(_ops.mouse_move(self.id, x, y))

    async def cursor(self) -> CursorPosition:
        """The pointer position."""
        return await self._run(_ops.cursor(self.id))

    async def mouse_down(self, x: Optional[int] = None, y: Optional[int] = None, button: Button = "left") -> ActionResult:
        """Presses ``button`` and keeps it down."""
        return await self._run(_ops.mouse_button(self.id, True, x, y, button))

    async def mouse_up(self, x: Optional[int] = None, y: Optional[int] = None, button: Button = "left") -> ActionResult:
        """Releases ``button``."""
        return await self._run(_ops.mouse_button(self.id, False, x, y, button))

    async def hold_key(self, key: str, seconds: float) -> ActionResult:
        """Holds every key of ``key`` down for ``seconds`` (at most 30)."""
        return await self._run(_ops.hold_key(self.id, key, seconds, _seconds(self._client.timeout)))

    async def drag(self, start_x: int, start_y: int, end_x: int, end_y: int, button: Button = "left") -> ActionResult:
        """Drags from (start_x, start_y) to (end_x, end_y)."""
        return await self._run(_ops.drag(self.id, start_x, start_y, end_x, end_y, button))

    async def type(self, text: str) -> ActionResult:
        """Types ``text``."""
        return await self._run(_ops.type_text(self.id, text))

    async def key(self, key: str) -> ActionResult:
        """Presses a key or a combination."""
        return await self._run(_ops.key(self.id, key))

    async def scroll(
        self, x: int, y: int, direction: Direction = "down", amount: int = 3, *, hold_keys: Optional[str] = None
    ) -> ActionResult:
        """Scrolls at (x, y), with ``hold_keys`` held down."""
        return await self._run(_ops.scroll(self.id, x, y, direction, amount, hold_keys))

    async def wait(self, seconds: float) -> ActionResult:
        """Waits ``seconds`` (at most 30) on the server."""
        return await self._run(_ops.wait(self.id, seconds, _seconds(self._client.timeout)))

    @overload
    async def bash(self, command: str, *, timeout: Optional[float] = ..., full: Literal[False] = ...) -> str: ...

    @overload
    async def bash(self, command: str, *, timeout: Optional[float] = ..., full: Literal[True]) -> ExecResult: ...

    async def bash(self, command: str, *, timeout: Optional[float] = None, full: bool = False) -> Union[str, ExecResult]:
        """Runs a bash command; returns stdout, or the :class:`ExecResult` with ``full=True``."""
        result: ExecResult = await self._run(_ops.bash(self.id, command, timeout, _seconds(self._client.timeout)))
        return result if full else result.stdout

    @overload
    async def python(self, code: str, *, timeout: Optional[float] = ..., full: Literal[False] = ...) -> str: ...

    @overload
    async def python(self, code: str, *, timeout: Optional[float] = ..., full: Literal[True]) -> ExecResult: ...

    async def python(self, code: str, *, timeout: Optional[float] = None, full: bool = False) -> Union[str, ExecResult]:
        """Runs Python code; returns stdout, or the :class:`ExecResult` with ``full=True``."""
        result: ExecResult = await self._run(_ops.python(self.id, code, timeout, _seconds(self._client.timeout)))
        return result if full else result.stdout

    async def list_files(self, path: str = "/root") -> List[FileEntry]:
        """The entries of the directory at ``path``."""
        return await self._run(_ops.list_files(self.id, path))

    async def upload(self, path: str, content: _ops.Content) -> ActionResult:
        """Writes ``content`` (bytes, text, a local ``pathlib.Path`` or a binary file) to ``path``."""
        return await self._run(_ops.upload(self.id, path, content))

    async def download(self, path: str, to: Union[str, "os.PathLike[str]", None] = None) -> bytes:
        """The file at ``path`` as bytes; also written to the local file ``to`` when given."""
        data: bytes = await self._run(_ops.download(self.id, path))
        if to is not None:
            with open(os.fspath(to), "wb") as f:
                f.write(data)
        return data

    async def delete_file(self, path: str, *, recursive: bool = False) -> ActionResult:
        """Deletes the file at ``path``; a directory only with ``recursive=True``."""
        return await self._run(_ops.delete_file(self.id, path, recursive))

    def terminal(self, *, cols: Optional[int] = None, rows: Optional[int] = None) -> AsyncTerminal:
        """An interactive shell: ``async with computer.terminal() as term`` or ``term = await computer.terminal()``."""
        client = self._client
        url = terminal_url(client.terminal_url, self.id, cols, rows)
        return AsyncTerminal(url, client.auth_headers, open_timeout=_seconds(client.timeout))

    async def prompt(
        self,
        model: str,
        task: str,
        *,
        max_steps: Optional[int] = None,
        system: Optional[str] = None,
        provider: Optional[str] = None,
        model_api_key: Optional[str] = None,
        on_step: Optional[StepCallback] = None,
        timeout: Optional[float] = DEFAULT_PROMPT_TIMEOUT,
    ) -> PromptResult:
        """Runs the agent loop on this computer; see :meth:`Computer.prompt`. ``on_step`` may be async."""
        op = _ops.prompt(
            self.id, model=model, task=task, max_steps=max_steps, system=system, provider=provider,
            model_api_key=_model_key(model_api_key), stream=on_step is not None, timeout=timeout,
        )
        if on_step is None:
            return await self._run(op)

        async def call(step: Any) -> None:
            value = on_step(step)
            if inspect.isawaitable(value):
                await value

        response = await self._client._send(op)
        try:
            if "text/event-stream" not in response.headers.get("content-type", ""):
                await response.aread()
                result = PromptResult.model_validate(response.json())
                for step in result.steps:
                    await call(step)
                return result
            decoder = SSEDecoder()
            async for line in response.aiter_lines():
                for event, data in decoder.feed(line):
                    kind, value = interpret(event, data)
                    if kind == "step":
                        await call(value)
                    elif kind == "result":
                        return cast(PromptResult, value)
            for event, data in decoder.flush():
                kind, value = interpret(event, data)
                if kind == "result":
                    return cast(PromptResult, value)
            raise PromptError("The prompt stream ended without a result")
        finally:
            await response.aclose()

    async def cancel_prompt(self) -> bool:
        """Cancels the agent loop running on this computer."""
        return await self._run(_ops.cancel_prompt(self.id))


def _seconds(timeout: Any) -> float:
    if isinstance(timeout, (int, float)):
        return float(timeout)
    read = getattr(timeout, "read", None)
    return float(read) if read else 180.0
