"""End to end against the real server and a real computer: actions, code, files, terminal, lifecycle."""

from __future__ import annotations

import pathlib
import time

import pytest

import corix


def test_list_get_refresh(client: corix.Client, computer: corix.Computer) -> None:
    assert computer.status == "running" and computer.cpu == 1 and computer.ram == 4
    assert computer.id in [c.id for c in client.computers.list()]
    again = client.computers.get(computer.id)
    assert again.name == "sdk-shared" and again.workspace_id == computer.workspace_id
    assert computer.refresh() is computer and computer.status == "running"


def test_screenshot(computer: corix.Computer, tmp_path: pathlib.Path) -> None:
    shot = computer.screenshot()
    assert isinstance(shot, bytes) and shot.startswith(b"\x89PNG\r\n\x1a\n")
    assert shot.to_image().size == (1280, 720)
    shot.save(tmp_path / "s.png")
    assert (tmp_path / "s.png").read_bytes() == shot
    small = computer.screenshot(format="jpeg", quality=60, width=640)
    assert small.media_type == "image/jpeg" and small.to_image().size == (640, 360)
    data = computer.screenshot_base64()
    assert data.image.startswith("data:image/png;base64,") and data.metadata.width == 1280


def test_input_actions(computer: corix.Computer) -> None:
    assert computer.move_mouse(10, 20).success
    assert (computer.cursor().x, computer.cursor().y) == (10, 20)
    assert computer.click(500, 300).success
    assert computer.click(500, 300, button="right").success
    assert computer.key("Escape").success
    assert computer.click(600, 400, double=True).success
    assert computer.double_click(600, 400).success
    assert computer.drag(100, 200, 400, 300).success
    assert computer.type("Hello from Corix").success
    assert computer.key("ctrl+a").success
    assert computer.scroll(640, 360, direction="down", amount=3).success
    started = time.monotonic()
    assert computer.wait(0.5).success
    assert time.monotonic() - started >= 0.45


def test_held_buttons_and_keys(computer: corix.Computer) -> None:
    assert computer.mouse_down(100, 120).success
    assert (computer.cursor().x, computer.cursor().y) == (100, 120)
    assert computer.move_mouse(200, 220).success
    assert computer.mouse_up().success
    assert (computer.cursor().x, computer.cursor().y) == (200, 220)
    assert computer.click(300, 320, clicks=3, hold_keys="shift").success
    assert (computer.cursor().x, computer.cursor().y) == (300, 320)
    assert computer.scroll(640, 360, direction="up", amount=1, hold_keys="ctrl").success
    started = time.monotonic()
    assert computer.hold_key("shift", 0.5).success
    assert time.monotonic() - started >= 0.45
    with pytest.raises(corix.BadRequestError, match="hold_keys"):
        computer.click(1, 1, hold_keys="nosuchkey")
    with pytest.raises(corix.BadRequestError, match="x and y"):
        computer.mouse_down(x=5)


def test_bash_and_python(computer: corix.Computer) -> None:
    assert computer.bash("echo hello") == "hello\n"
    full = computer.bash("echo out; echo err >&2; exit 3", full=True)
    assert (full.stdout, full.stderr, full.exit_code, full.timed_out) == ("out\n", "err\n", 3, False)
    timed = computer.bash("sleep 5", timeout=1, full=True)
    assert timed.timed_out and timed.exit_code == 124
    assert computer.python("print(6*7)") == "42\n"
    assert computer.python("import sys; sys.exit(2)", full=True).exit_code == 2


def test_files_round_trip(computer: corix.Computer, tmp_path: pathlib.Path) -> None:
    payload = bytes(range(256)) * 1000
    assert computer.upload("/root/sdk/data.bin", payload).success
    computer.upload("/root/sdk/note.txt", "héllo\n")
    local = tmp_path / "local.csv"
    local.write_text("a,b\n1,2\n")
    computer.upload("/root/sdk/local.csv", local)
    with open(local, "rb") as f:
        computer.upload("/root/sdk/fileobj.csv", f)
    entries = {e.name: e for e in computer.list_files("/root/sdk")}
    assert set(entries) == {"data.bin", "note.txt", "local.csv", "fileobj.csv"}
    assert entries["data.bin"].size == len(payload) and entries["data.bin"].type == "file"
    assert computer.download("/root/sdk/data.bin") == payload
    assert computer.download("/root/sdk/note.txt", to=tmp_path / "note.txt") == "héllo\n".encode()
    assert (tmp_path / "note.txt").read_text() == "héllo\n"
    assert computer.bash("cat /root/sdk/fileobj.csv") == "a,b\n1,2\n"
    assert computer.delete_file("/root/sdk/note.txt").success
    with pytest.raises(corix.NotFoundError):
        computer.download("/root/sdk/note.txt")
    with pytest.raises(corix.BadRequestError):
        computer.delete_file("/root/sdk")
    assert computer.delete_file("/root/sdk", recursive=True).success
    assert "sdk" not in [e.name for e in computer.list_files("/root")]


def test_terminal_echo(computer: corix.Computer) -> None:
    with computer.terminal(cols=100, rows=30) as term:
        term.send("echo corix-$((6*7))\n")
        assert "corix-42" in term.expect("corix-42", timeout=30)
        term.resize(120, 40)
        term.send("stty size\n")
        term.expect("40 120", timeout=30)
        term.send("exit 7\n")
        while term.exit_code is None:
            term.recv(timeout=30)
        assert term.exit_code == 7


def test_auto_stop_and_resize(computer: corix.Computer) -> None:
    assert computer.auto_stop() is None
    assert computer.auto_stop(30) == 30 and computer.auto_stop_minutes == 30
    assert computer.auto_stop() == 30
    assert computer.auto_stop(0) is None
    assert computer.resize(cpu=2, ram="8gb") is computer
    assert (computer.cpu, computer.ram) == (2, 8)
    computer.resize(cpu=1, ram=4)
    assert (computer.cpu, computer.ram) == (1, 4)


def test_workspaces_move_and_clone(client: corix.Client, computer: corix.Computer) -> None:
    default = computer.workspace_id
    ws = client.workspaces.create("sdk-tests")
    assert client.workspaces.get(ws.id).name == "sdk-tests"
    assert "sdk-tests" in [w.name for w in client.workspaces.list()]
    assert computer.move(ws).workspace_id == ws.id
    assert computer.move(default).workspace_id == default
    copy = computer.clone()
    try:
        assert copy.name == "sdk-shared (copy)" and copy.status == "running" and copy.id != computer.id
        assert copy.cpu == computer.cpu
        copy.move(ws.id)
    finally:
        deleted = client.workspaces.delete(ws)
    assert deleted.deleted and deleted.terminated_computers == 1
    assert client.computers.get(copy.id).status == "terminated"


def test_lifecycle_and_not_running(client: corix.Client, computer: corix.Computer) -> None:
    computer.upload("/root/kept.txt", "kept")
    assert computer.stop().status == "stopped"
    with pytest.raises(corix.ComputerNotRunningError) as info:
        computer.bash("true")
    assert info.value.status_code == 409 and info.value.code == "computer_not_running"
    assert computer.start().status == "running"
    assert computer.download("/root/kept.txt") == b"kept"
    assert computer.restart().status == "running"
    assert computer.bash("cat /root/kept.txt") == "kept"
