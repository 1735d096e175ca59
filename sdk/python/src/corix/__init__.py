"""Corix: Linux desktops for AI agents.

Quickstart::

    import corix
    computer = corix.create(os="linux", cpu=2, ram="8gb")
    print(computer.bash("uname -a"))
"""

from __future__ import annotations

import os as _os
import threading as _threading
from typing import Dict, Optional, Tuple, Union

from ._base import DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from ._client import AsyncClient, AsyncComputers, AsyncWorkspaces, Client, Computers, Workspaces
from ._computer import AsyncComputer, Computer
from ._errors import (
    AgentUnreachableError,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ComputerNotRunningError,
    ConflictError,
    CorixError,
    InternalServerError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    PlanLimitError,
    PromptRunningError,
    RateLimitError,
    ServiceUnavailableError,
)
from ._models import (
    ActionResult,
    ComputerData,
    CursorPosition,
    ExecResult,
    FileEntry,
    FileList,
    PromptResult,
    PromptStep,
    PromptUsage,
    ScreenshotJson,
    ScreenshotMetadata,
    TerminalMessage,
    Workspace,
    WorkspaceDeleted,
)
from ._prompt import PromptError
from ._screenshot import Screenshot
from ._terminal import AsyncTerminal, Terminal, TerminalClosed
from ._version import __version__

APIError = APIStatusError

__all__ = [
    "__version__",
    "create",
    "default_client",
    "Client",
    "AsyncClient",
    "Computers",
    "AsyncComputers",
    "Workspaces",
    "AsyncWorkspaces",
    "Computer",
    "AsyncComputer",
    "ComputerData",
    "Workspace",
    "WorkspaceDeleted",
    "ExecResult",
    "ActionResult",
    "FileEntry",
    "FileList",
    "CursorPosition",
    "Screenshot",
    "ScreenshotJson",
    "ScreenshotMetadata",
    "Terminal",
    "AsyncTerminal",
    "TerminalMessage",
    "TerminalClosed",
    "PromptResult",
    "PromptStep",
    "PromptUsage",
    "PromptError",
    "CorixError",
    "APIError",
    "APIStatusError",
    "APIConnectionError",
    "APITimeoutError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "PlanLimitError",
    "NotFoundError",
    "ConflictError",
    "ComputerNotRunningError",
    "PromptRunningError",
    "PayloadTooLargeError",
    "RateLimitError",
    "InternalServerError",
    "AgentUnreachableError",
    "ServiceUnavailableError",
    "DEFAULT_BASE_URL",
    "DEFAULT_TIMEOUT",
    "DEFAULT_MAX_RETRIES",
]

_clients: Dict[Tuple[Optional[str], Optional[str]], Client] = {}
_lock = _threading.Lock()


def default_client() -> Client:
    """The client module-level functions use: ``CORIX_API_KEY`` and ``CORIX_BASE_URL`` from the environment."""
    key = (_os.environ.get("CORIX_API_KEY"), _os.environ.get("CORIX_BASE_URL"))
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = Client()
        return client


def create(
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
    """Creates a computer with the environment's key (``CORIX_API_KEY``): ``corix.create(os="linux", cpu=2, ram="8gb")``.

    ``ram`` is GB as an int or a string like ``"8gb"``. See :meth:`Computers.create`.
    """
    return default_client().computers.create(
        name, os=os, cpu=cpu, ram=ram, disk_size_gb=disk_size_gb, workspace_id=workspace_id,
        resolution=resolution, wait=wait,
    )
