"""Every API call as an :class:`Op`, shared by the sync and async clients."""

from __future__ import annotations

import os
from typing import IO, Any, Dict, List, Optional, Union

import httpx

from ._base import Op, parse_ram
from ._models import (
    ActionResult,
    ComputerData,
    CursorPosition,
    ExecResult,
    FileEntry,
    FileList,
    PromptResult,
    ScreenshotJson,
    Workspace,
    WorkspaceDeleted,
    dump,
)
from ._screenshot import Screenshot

Content = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]", IO[bytes]]


def _q(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def _computer(r: httpx.Response) -> ComputerData:
    return ComputerData.model_validate(r.json())


def _action(r: httpx.Response) -> ActionResult:
    return ActionResult.model_validate(r.json())


def _minutes(r: httpx.Response) -> Optional[int]:
    value = r.json().get("auto_stop_minutes")
    return None if value is None else int(value)


# ---- workspaces -----------------------------------------------------------------------------

def create_workspace(name: str) -> Op[Workspace]:
    return Op("POST", "/workspaces", json={"name": name}, parse=lambda r: Workspace.model_validate(r.json()))


def get_workspace(workspace_id: str) -> Op[Workspace]:
    return Op("GET", f"/workspaces/{_q(workspace_id)}", parse=lambda r: Workspace.model_validate(r.json()))


def list_workspaces() -> Op[List[Workspace]]:
    return Op("GET", "/workspaces", parse=lambda r: [Workspace.model_validate(w) for w in r.json()["workspaces"]])


def delete_workspace(workspace_id: str) -> Op[WorkspaceDeleted]:
    return Op("DELETE", f"/workspaces/{_q(workspace_id)}", parse=lambda r: WorkspaceDeleted.model_validate(r.json()))


# ---- computers ------------------------------------------------------------------------------

def create_computer(
    *,
    name: Optional[str],
    os: Optional[str],
    cpu: Optional[int],
    ram: Union[int, str, None],
    disk_size_gb: Optional[int],
    workspace_id: Optional[str],
    resolution: Optional[str],
    wait: bool,
) -> Op[ComputerData]:
    body = dump(
        {
            "name": name,
            "os": os,
            "cpu": cpu,
            "ram": parse_ram(ram),
            "disk_size_gb": disk_size_gb,
            "workspace_id": workspace_id,
            "resolution": resolution,
        }
    )
    return Op("POST", "/computers", params=None if wait else {"wait": "false"}, json=body, parse=_computer)


def get_computer(computer_id: str) -> Op[ComputerData]:
    return Op("GET", f"/computers/{_q(computer_id)}", parse=_computer)


def list_computers() -> Op[List[ComputerData]]:
    return Op("GET", "/computers", parse=lambda r: [ComputerData.model_validate(c) for c in r.json()["computers"]])


def _c(computer_id: str, rest: str = "") -> str:
    return f"/computers/{_q(computer_id)}{rest}"


def delete_computer(computer_id: str) -> Op[ComputerData]:
    return Op("DELETE", _c(computer_id), parse=_computer)


def lifecycle(computer_id: str, action: str) -> Op[ComputerData]:
    return Op("POST", _c(computer_id, f"/{action}"), parse=_computer)


def clone(computer_id: str, name: Optional[str], wait: bool) -> Op[ComputerData]:
    return Op(
        "POST", _c(computer_id, "/clone"), params=None if wait else {"wait": "false"}, json=dump({"name": name}), parse=_computer
    )


def resize(computer_id: str, cpu: Optional[int], ram: Union[int, str, None]) -> Op[ComputerData]:
    body = dump({"cpu": cpu, "ram": parse_ram(ram)})
    if not body:
        raise ValueError("resize needs cpu, ram or both")
    return Op("POST", _c(computer_id, "/resize"), json=body, parse=_computer)


def move(computer_id: str, workspace_id: str) -> Op[ComputerData]:
    return Op("POST", _c(computer_id, "/move"), json={"workspace_id": workspace_id}, parse=_computer)


def get_auto_stop(computer_id: str) -> Op[Optional[int]]:
    return Op("GET", _c(computer_id, "/auto-stop"), parse=_minutes)


def set_auto_stop(computer_id: str, minutes: int) -> Op[Optional[int]]:
    return Op(
        "PATCH", _c(computer_id, "/auto-stop"), json={"minutes": minutes}, parse=_minutes
    )


# ---- actions --------------------------------------------------------------------------------

def screenshot(
    computer_id: str,
    *,
    format: Optional[str],
    quality: Optional[int],
    width: Optional[int],
    scale: Optional[float],
    cursor: Optional[bool],
) -> Op[Screenshot]:
    params: Dict[str, Any] = {
        "format": None if format in (None, "png") else format,
        "quality": quality,
        "width": width,
        "scale": scale,
        "cursor": None if cursor is None else ("true" if cursor else "false"),
    }
    return Op(
        "GET",
        _c(computer_id, "/screenshot"),
        params=params,
        headers={"Accept": "image/png, image/jpeg"},
        parse=lambda r: Screenshot(r.content, media_type=r.headers.get("content-type", "image/png").split(";")[0]),
    )


def screenshot_base64(computer_id: str, *, width: Optional[int], scale: Optional[float], cursor: Optional[bool]) -> Op[ScreenshotJson]:
    params = {"format": "base64", "width": width, "scale": scale, "cursor": None if cursor is None else str(cursor).lower()}
    return Op("GET", _c(computer_id, "/screenshot"), params=params, parse=lambda r: ScreenshotJson.model_validate(r.json()))


def click(
    computer_id: str, x: int, y: int, button: str, double: bool, clicks: Optional[int], hold_keys: Optional[str]
) -> Op[ActionResult]:
    body: Dict[str, Any] = {"x": x, "y": y, "button": button}
    if double:
        body["double_click"] = True
    if clicks is not None:
        body["clicks"] = clicks
    if hold_keys is not None:
        body["hold_keys"] = hold_keys
    return Op("POST", _c(computer_id, "/click"), json=body, parse=_action)


def mouse_button(computer_id: str, press: bool, x: Optional[int], y: Optional[int], button: str) -> Op[ActionResult]:
    body: Dict[str, Any] = {"button": button}
    if x is not None or y is not None:
        body.update(x=x, y=y)
    return Op("POST", _c(computer_id, "/mouse-down" if press else "/mouse-up"), json=body, parse=_action)


def hold_key(computer_id: str, key: str, seconds: float, client_timeout: float) -> Op[ActionResult]:
    return Op(
        "POST", _c(computer_id, "/hold-key"), json={"key": key, "duration": seconds}, parse=_action,
        timeout=max(client_timeout, seconds + 30.0),
    )


def mouse_move(computer_id: str, x: int, y: int) -> Op[ActionResult]:
    return Op("POST", _c(computer_id, "/mouse-move"), json={"x": x, "y": y}, parse=_action)


def cursor(computer_id: str) -> Op[CursorPosition]:
    return Op("GET", _c(computer_id, "/cursor"), parse=lambda r: CursorPosition.model_validate(r.json()))


def drag(computer_id: str, start_x: int, start_y: int, end_x: int, end_y: int, button: str) -> Op[ActionResult]:
    body = {"start_x": start_x, "start_y": start_y, "end_x": end_x, "end_y": end_y, "button": button}
    return Op("POST", _c(computer_id, "/drag"), json=body, parse=_action)


def type_text(computer_id: str, text: str) -> Op[ActionResult]:
    return Op("POST", _c(computer_id, "/type"), json={"text": text}, parse=_action)


def key(computer_id: str, key: str) -> Op[ActionResult]:
    return Op("POST", _c(computer_id, "/key"), json={"key": key}, parse=_action)


def scroll(computer_id: str, x: int, y: int, direction: str, amount: int, hold_keys: Optional[str]) -> Op[ActionResult]:
    body: Dict[str, Any] = {"x": x, "y": y, "direction": direction, "amount": amount}
    if hold_keys is not None:
        body["hold_keys"] = hold_keys
    return Op("POST", _c(computer_id, "/scroll"), json=body, parse=_action)


def wait(computer_id: str, seconds: float, client_timeout: float) -> Op[ActionResult]:
    return Op(
        "POST", _c(computer_id, "/wait"), json={"duration": seconds}, parse=_action,
        timeout=max(client_timeout, seconds + 30.0),
    )


def _exec_timeout(timeout: Optional[float], client_timeout: float) -> float:
    return max(client_timeout, (timeout or 60.0) + 30.0)


def bash(computer_id: str, command: str, timeout: Optional[float], client_timeout: float) -> Op[ExecResult]:
    return Op(
        "POST",
        _c(computer_id, "/bash"),
        json=dump({"command": command, "timeout": timeout}),
        parse=lambda r: ExecResult.model_validate(r.json()),
        timeout=_exec_timeout(timeout, client_timeout),
    )


def python(computer_id: str, code: str, timeout: Optional[float], client_timeout: float) -> Op[ExecResult]:
    return Op(
        "POST",
        _c(computer_id, "/python"),
        json=dump({"code": code, "timeout": timeout}),
        parse=lambda r: ExecResult.model_validate(r.json()),
        timeout=_exec_timeout(timeout, client_timeout),
    )


# ---- files ----------------------------------------------------------------------------------

def list_files(computer_id: str, path: str) -> Op[List[FileEntry]]:
    return Op(
        "GET", _c(computer_id, "/files"), params={"path": path},
        parse=lambda r: FileList.model_validate(r.json()).entries,
    )


def read_content(content: Content) -> bytes:
    """Bytes from bytes, text (UTF-8), a local path (``pathlib.Path``) or a binary file object."""
    if isinstance(content, (bytes, bytearray, memoryview)):
        return bytes(content)
    if isinstance(content, str):
        return content.encode("utf-8")
    if isinstance(content, os.PathLike):
        with open(os.fspath(content), "rb") as f:
            return f.read()
    if hasattr(content, "read"):
        data = content.read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    raise TypeError(f"cannot upload {type(content).__name__}: pass bytes, str, a pathlib.Path or a binary file")


def upload(computer_id: str, path: str, content: Content) -> Op[ActionResult]:
    return Op(
        "POST",
        _c(computer_id, "/files/upload"),
        params={"path": path},
        content=read_content(content),
        headers={"Content-Type": "application/octet-stream"},
        parse=_action,
    )


def download(computer_id: str, path: str) -> Op[bytes]:
    return Op(
        "GET", _c(computer_id, "/files/download"), params={"path": path},
        headers={"Accept": "application/octet-stream"}, parse=lambda r: r.content,
    )


def delete_file(computer_id: str, path: str, recursive: bool) -> Op[ActionResult]:
    params: Dict[str, Any] = {"path": path}
    if recursive:
        params["recursive"] = "true"
    return Op("DELETE", _c(computer_id, "/files"), params=params, parse=_action)


# ---- prompt ---------------------------------------------------------------------------------

def prompt(
    computer_id: str,
    *,
    model: str,
    task: str,
    max_steps: Optional[int],
    system: Optional[str],
    provider: Optional[str],
    model_api_key: Optional[str],
    stream: bool,
    timeout: Optional[float],
) -> Op[PromptResult]:
    headers: Dict[str, str] = {}
    if model_api_key:
        headers["X-Model-Api-Key"] = model_api_key
    if stream:
        headers["Accept"] = "text/event-stream"
    body = dump({"model": model, "task": task, "max_steps": max_steps, "system": system, "provider": provider})
    return Op(
        "POST",
        _c(computer_id, "/prompt"),
        json=body,
        headers=headers,
        parse=lambda r: PromptResult.model_validate(r.json()),
        timeout=httpx.Timeout(timeout, connect=30.0),
    )


def cancel_prompt(computer_id: str) -> Op[bool]:
    return Op("DELETE", _c(computer_id, "/prompt"), parse=_cancelled)


def _cancelled(r: httpx.Response) -> bool:
    return bool(r.json().get("cancelled", False))


