"""Typed objects of the Corix API (pydantic v2). Unknown fields the server adds are kept."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from pydantic import BaseModel, ConfigDict

__all__ = [
    "CorixModel",
    "ComputerData",
    "Workspace",
    "WorkspaceDeleted",
    "ExecResult",
    "ActionResult",
    "FileEntry",
    "FileList",
    "ScreenshotMetadata",
    "ScreenshotJson",
    "CursorPosition",
    "TerminalMessage",
    "PromptStep",
    "PromptUsage",
    "PromptResult",
]


class CorixModel(BaseModel):
    """Base of every model: extra fields from newer servers are kept, not rejected."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class ComputerData(CorixModel):
    """The computer object, as the API returns it."""

    id: str
    workspace_id: str
    user_id: Optional[str] = None
    name: str
    os: str = "linux"
    cpu: int
    ram: int
    disk_size_gb: Optional[int] = None
    resolution: Optional[str] = None
    status: str
    container_id: Optional[str] = None
    hostname: Optional[str] = None
    auto_stop_minutes: Optional[int] = None
    created_at: str
    updated_at: Optional[str] = None
    terminated_at: Optional[str] = None


class Workspace(CorixModel):
    """A workspace: a group of computers."""

    id: str
    user_id: Optional[str] = None
    name: str
    status: str
    icon_url: Optional[str] = None
    created_at: str
    updated_at: Optional[str] = None


class WorkspaceDeleted(CorixModel):
    """The answer of deleting a workspace."""

    id: str
    deleted: bool
    terminated_computers: int = 0


class ExecResult(CorixModel):
    """The result of ``bash`` or ``python``."""

    stdout: str
    stderr: str
    exit_code: int
    timed_out: bool = False
    truncated: bool = False


class ActionResult(CorixModel):
    """The answer of every input action."""

    success: bool


class FileEntry(CorixModel):
    """One entry of a directory listing."""

    name: str
    type: str
    size: int
    modified_at: Optional[str] = None


class FileList(CorixModel):
    """A directory listing."""

    path: str
    entries: List[FileEntry]


class ScreenshotMetadata(CorixModel):
    """Screenshot facts from ``?format=base64``."""

    width: int
    height: int
    format: str
    size: int
    timestamp: str


class ScreenshotJson(CorixModel):
    """``GET /screenshot?format=base64``."""

    success: bool
    image: str
    metadata: ScreenshotMetadata


class CursorPosition(CorixModel):
    """The pointer position."""

    x: int
    y: int


class TerminalMessage(CorixModel):
    """A message from the terminal: ``stdout``, ``stderr`` (with ``data``) or ``exit`` (with ``code``)."""

    type: str
    data: Optional[str] = None
    code: Optional[int] = None


class PromptStep(CorixModel):
    """One action the model asked for, as the agent loop performed it."""

    index: int = 0
    action: str = ""
    arguments: Any = None
    output: Optional[str] = None
    error: Optional[str] = None


class PromptUsage(CorixModel):
    """Tokens over all model turns."""

    input_tokens: int = 0
    output_tokens: int = 0


class PromptResult(CorixModel):
    """The result of ``computer.prompt()``: the model's final text, the steps, why it stopped, usage."""

    output: str = ""
    steps: List[PromptStep] = []
    stop_reason: str = "done"
    usage: PromptUsage = PromptUsage()
    error: Optional[str] = None


def dump(value: Dict[str, Any]) -> Dict[str, Any]:
    """Drops ``None`` values from a request body."""
    return {k: v for k, v in value.items() if v is not None}
