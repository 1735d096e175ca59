"""Test helpers: start the real ``corix serve`` binary, a fake model server, cleanup."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Optional

import httpx

REPO = Path(__file__).resolve().parents[3]
BINARY = Path(os.environ.get("CORIX_BIN", REPO / "target" / "release" / "corix"))
FAKE_OUTPUT = "FAKE-MODEL-DONE"


def fresh_key() -> str:
    return "crx_" + secrets.token_hex(20)


class CorixServer:
    """A real ``corix serve`` on a free port with a fresh store; ``stop()`` kills it and its computers."""

    def __init__(self, env: Optional[Dict[str, str]] = None) -> None:
        self.data = tempfile.mkdtemp(prefix="corix-sdk-test-")
        self.key = fresh_key()
        self.env = dict(os.environ)
        self.env.update(
            {
                "CORIX_LISTEN": "127.0.0.1:0",
                "CORIX_DATA_DIR": self.data,
                "CORIX_BOOTSTRAP_API_KEY": self.key,
            }
        )
        self.env.update(env or {})
        stderr = open(os.path.join(self.data, "server.err"), "wb")
        self.process = subprocess.Popen(
            [str(BINARY), "serve"], env=self.env, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
        stderr.close()
        found: List[str] = []
        ready = threading.Event()

        def read() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                if "listening on http://" in line and not found:
                    found.append(line.split("listening on http://", 1)[1].split()[0])
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + 600
        while not ready.wait(0.2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                raise RuntimeError("corix serve did not start: " + self.stderr())
        self.addr = found[0]
        self.base_url = f"http://{self.addr}/api"

    def stderr(self) -> str:
        try:
            return Path(self.data, "server.err").read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def cli(self, *args: str) -> str:
        """Runs ``corix ARGS`` on this server's store; returns the last line of stdout."""
        out = subprocess.run(
            [str(BINARY), *args], env={**self.env, "CORIX_DATA_DIR": self.data}, capture_output=True, text=True, check=True
        )
        lines = out.stdout.strip().splitlines()
        return lines[-1].strip() if lines else ""

    def create_user(self, email: str, plan: str) -> str:
        """A new user on ``plan``; returns its key."""
        return self.cli("users", "create", "--email", email, "--plan", plan)

    def instance(self) -> Optional[str]:
        try:
            with sqlite3.connect(os.path.join(self.data, "corix.db")) as db:
                row = db.execute("SELECT value FROM settings WHERE key = 'instance_id'").fetchone()
                return row[0] if row else None
        except sqlite3.Error:
            return None

    def stop(self) -> None:
        """Terminates what the tests left (API, then the engine by label), kills the server."""
        if self.process.poll() is None:
            try:
                with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {self.key}"}) as http:
                    listed = http.get(f"{self.base_url}/v1/computers")
                    for computer in listed.json().get("computers", []) if listed.status_code == 200 else []:
                        http.delete(f"{self.base_url}/v1/computers/{computer['id']}")
            except Exception:
                pass
            self.process.kill()
            self.process.wait()
        instance = self.instance()
        if instance and shutil.which("docker"):
            ids = subprocess.run(
                ["docker", "ps", "-aq", "--filter", f"label=dev.corix.instance={instance}"],
                capture_output=True, text=True,
            ).stdout.split()
            if ids:
                subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)
        shutil.rmtree(self.data, ignore_errors=True)


class FakeModel:
    """A stand-in model provider (Anthropic Messages, OpenAI Chat Completions and Responses).

    The first turn of a conversation asks for one action (a screenshot, or ``echo`` in bash for
    chat completions); once the conversation carries a tool result it answers ``FAKE_OUTPUT``.
    """

    def __init__(self) -> None:
        self.requests: List[Dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
                answer = fake.answer(self.path, body)
                data = json.dumps(answer).encode()
                self.send_response(200 if answer is not None else 404)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @staticmethod
    def answer(path: str, body: Dict[str, Any]) -> Any:
        text = json.dumps(body)
        if path.rstrip("/").endswith("/messages"):
            if "tool_result" in text:
                content: List[Dict[str, Any]] = [{"type": "text", "text": FAKE_OUTPUT}]
                stop = "end_turn"
            else:
                content = [{"type": "tool_use", "id": "toolu_1", "name": "computer", "input": {"action": "screenshot"}}]
                stop = "tool_use"
            return {
                "id": "msg_fake", "type": "message", "role": "assistant", "model": body.get("model"),
                "content": content, "stop_reason": stop, "stop_sequence": None,
                "usage": {"input_tokens": 10, "output_tokens": 5},
            }
        if path.rstrip("/").endswith("/chat/completions"):
            done = any(m.get("role") == "tool" for m in body.get("messages", []))
            tools = body.get("tools") or []
            names = [t.get("function", {}).get("name") for t in tools]
            if done or "bash" not in names:
                message: Dict[str, Any] = {"role": "assistant", "content": FAKE_OUTPUT}
                finish = "stop"
            else:
                message = {
                    "role": "assistant", "content": None,
                    "tool_calls": [{"id": "call_1", "type": "function",
                                    "function": {"name": "bash", "arguments": json.dumps({"command": "echo hi"})}}],
                }
                finish = "tool_calls"
            return {
                "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": body.get("model"),
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            }
        if path.rstrip("/").endswith("/responses"):
            return {
                "id": "resp_fake", "object": "response", "status": "completed", "model": body.get("model"),
                "output": [{"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                            "content": [{"type": "output_text", "text": FAKE_OUTPUT, "annotations": []}]}],
                "usage": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
            }
        return None

    def env(self) -> Dict[str, str]:
        """Environment that may point a server's agent loop at this fake (names the server might read)."""
        return {
            "CORIX_ANTHROPIC_BASE_URL": self.url,
            "ANTHROPIC_BASE_URL": self.url,
            "CORIX_OPENAI_BASE_URL": self.url + "/v1",
            "OPENAI_BASE_URL": self.url + "/v1",
            "CORIX_MODEL_BASE_URL": self.url,
            "ANTHROPIC_API_KEY": "fake-model-key",
            "OPENAI_API_KEY": "fake-model-key",
            "CORIX_ANTHROPIC_API_KEY": "fake-model-key",
            "CORIX_OPENAI_API_KEY": "fake-model-key",
        }

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def prompt_route_exists(base_url: str, key: str, computer_id: str) -> bool:
    """Whether the server has ``POST /computers/{id}/prompt``: on a computer we own, 404 means no route."""
    response = httpx.post(
        f"{base_url}/v1/computers/{computer_id}/prompt", json={}, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    return response.status_code not in (404, 405)
