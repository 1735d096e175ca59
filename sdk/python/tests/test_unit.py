"""Unit tests without a server: retries and backoff (httpx MockTransport, fake sleep), errors,
the prompt stream, parsing helpers."""

from __future__ import annotations

import io
import json
from typing import Callable, List

import httpx
import pytest

import corix
from corix._base import backoff_delay, parse_ram, parse_retry_after, terminal_base_url

BASE = "http://corix.test/api"
KEY = "crx_" + "0" * 40


def make_client(handler: Callable[[httpx.Request], httpx.Response], **kw) -> tuple:
    sleeps: List[float] = []
    client = corix.Client(api_key=KEY, base_url=BASE, http_client=httpx.Client(transport=httpx.MockTransport(handler)), **kw)
    client._sleep = sleeps.append
    return client, sleeps


def error(status: int, code: str, message: str = "nope", headers: dict = None) -> httpx.Response:
    return httpx.Response(status, json={"error": message, "code": code}, headers=headers or {})


WORKSPACES = {"workspaces": [{"id": "w1", "name": "Default", "status": "active", "created_at": "2026-01-01T00:00:00Z"}]}


def test_retry_after_is_honoured_then_success() -> None:
    answers = [error(429, "rate_limited", headers={"Retry-After": "2"}), httpx.Response(200, json=WORKSPACES)]
    seen: List[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    client, sleeps = make_client(handler)
    workspaces = client.workspaces.list()
    assert [w.name for w in workspaces] == ["Default"]
    assert sleeps == [2.0]
    assert len(seen) == 2
    assert seen[0].headers["authorization"] == f"Bearer {KEY}"
    assert str(seen[0].url) == f"{BASE}/v1/workspaces"


def test_rate_limit_error_after_the_retries() -> None:
    client, sleeps = make_client(lambda r: error(429, "rate_limited", "slow down", {"Retry-After": "3"}), max_retries=2)
    with pytest.raises(corix.RateLimitError) as info:
        client.workspaces.list()
    assert sleeps == [3.0, 3.0]
    assert info.value.status_code == 429
    assert info.value.code == "rate_limited"
    assert info.value.error == "slow down"
    assert info.value.retry_after == 3.0


def test_exponential_backoff_without_retry_after_is_capped_at_60s() -> None:
    client, sleeps = make_client(lambda r: error(502, "agent_unreachable"), max_retries=8)
    with pytest.raises(corix.AgentUnreachableError) as info:
        client.computers.get("c1")
    assert sleeps == [1, 2, 4, 8, 16, 32, 60, 60]
    assert info.value.code == "agent_unreachable"
    assert isinstance(info.value, corix.InternalServerError)
    assert [backoff_delay(n) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]


@pytest.mark.parametrize("status", [500, 503, 504])
def test_server_errors_are_retried(status: int) -> None:
    answers = [error(status, "internal_error"), httpx.Response(200, json=WORKSPACES)]
    client, sleeps = make_client(lambda r: answers.pop(0))
    assert client.workspaces.list()[0].id == "w1"
    assert sleeps == [1.0]


def test_a_long_retry_after_is_not_waited_for() -> None:
    client, sleeps = make_client(lambda r: error(429, "rate_limited", "daily limit", {"Retry-After": "3600"}))
    with pytest.raises(corix.RateLimitError) as info:
        client.workspaces.list()
    assert sleeps == []
    assert info.value.retry_after == 3600


def test_retry_after_as_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_max_retries_zero_and_with_options() -> None:
    calls: List[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return error(429, "rate_limited", headers={"Retry-After": "1"})

    client, sleeps = make_client(handler, max_retries=0)
    with pytest.raises(corix.RateLimitError):
        client.workspaces.list()
    assert len(calls) == 1 and sleeps == []
    more = client.with_options(max_retries=2)
    more._sleep = sleeps.append
    with pytest.raises(corix.RateLimitError):
        more.workspaces.list()
    assert len(calls) == 4 and sleeps == [1.0, 1.0]
    assert client.max_retries == 0


@pytest.mark.parametrize(
    "status,code,cls",
    [
        (400, "bad_request", corix.BadRequestError),
        (401, "unauthorized", corix.AuthenticationError),
        (403, "forbidden", corix.PermissionDeniedError),
        (403, "plan_limit", corix.PlanLimitError),
        (404, "not_found", corix.NotFoundError),
        (409, "conflict", corix.ConflictError),
        (409, "computer_not_running", corix.ComputerNotRunningError),
        (409, "prompt_running", corix.PromptRunningError),
        (413, "payload_too_large", corix.PayloadTooLargeError),
    ],
)
def test_typed_errors_are_not_retried(status: int, code: str, cls: type) -> None:
    client, sleeps = make_client(lambda r: error(status, code, "the sentence"))
    with pytest.raises(cls) as info:
        client.computers.get("c1")
    assert type(info.value) is cls
    assert isinstance(info.value, corix.APIStatusError) and isinstance(info.value, corix.CorixError)
    assert (info.value.status_code, info.value.code, info.value.error) == (status, code, "the sentence")
    assert sleeps == []


def test_non_json_error_body() -> None:
    client, _ = make_client(lambda r: httpx.Response(418, text="teapot"))
    with pytest.raises(corix.APIStatusError) as info:
        client.workspaces.list()
    assert info.value.status_code == 418 and info.value.code is None and info.value.error == "teapot"


def test_connection_errors_are_retried_then_raised() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client, sleeps = make_client(handler, max_retries=2)
    with pytest.raises(corix.APIConnectionError):
        client.workspaces.list()
    assert sleeps == [1.0, 2.0]


def test_timeouts_raise_api_timeout_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    client, _ = make_client(handler)
    with pytest.raises(corix.APITimeoutError):
        client.workspaces.list()


@pytest.mark.anyio
async def test_async_client_retries_with_retry_after() -> None:
    answers = [error(429, "rate_limited", headers={"Retry-After": "2"}), error(502, "agent_unreachable"),
               httpx.Response(200, json=WORKSPACES)]
    sleeps: List[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    client = corix.AsyncClient(
        api_key=KEY, base_url=BASE, http_client=httpx.AsyncClient(transport=httpx.MockTransport(lambda r: answers.pop(0)))
    )
    client._sleep = fake_sleep
    assert (await client.workspaces.list())[0].name == "Default"
    assert sleeps == [2.0, 2.0]  # Retry-After, then the backoff of the second retry
    client2 = corix.AsyncClient(
        api_key=KEY, base_url=BASE, max_retries=1,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(lambda r: error(429, "rate_limited", headers={"Retry-After": "1"}))),
    )
    client2._sleep = fake_sleep
    with pytest.raises(corix.RateLimitError):
        await client2.workspaces.list()


def test_configuration_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CORIX_API_KEY", raising=False)
    monkeypatch.delenv("CORIX_BASE_URL", raising=False)
    with pytest.raises(corix.CorixError):
        corix.Client()
    monkeypatch.setenv("CORIX_API_KEY", KEY)
    client = corix.Client()
    assert client.base_url == "https://corix.dev/api"
    assert client.terminal_url == "wss://compute.corix.dev"
    monkeypatch.setenv("CORIX_BASE_URL", "http://127.0.0.1:8080/api/")
    client = corix.Client()
    assert (client.api_key, client.base_url, client.terminal_url) == (KEY, "http://127.0.0.1:8080/api", "ws://127.0.0.1:8080")
    assert corix.Client(api_key="crx_other", base_url="https://x.example/api/v1").base_url == "https://x.example/api"
    assert corix.default_client() is corix.default_client()


def test_helpers() -> None:
    assert [parse_ram(v) for v in (8, "8gb", "8 GB", "16g", "4096mb", None)] == [8, 8, 8, 16, 4, None]
    with pytest.raises(ValueError):
        parse_ram("lots")
    assert terminal_base_url("https://host.example:8443/api") == "wss://host.example:8443"


COMPUTER = {
    "id": "c1", "workspace_id": "w1", "user_id": "u1", "name": "my-agent", "os": "linux", "cpu": 2, "ram": 8,
    "disk_size_gb": 8, "resolution": "1280x720x24", "status": "running", "container_id": "abc",
    "hostname": "127.0.0.1:1", "auto_stop_minutes": None, "created_at": "2026-05-17T12:00:00Z",
    "updated_at": "2026-05-17T12:00:00Z", "terminated_at": None, "future_field": 1,
}


def test_create_sends_the_spec_body_and_lifecycle_updates_in_place() -> None:
    bodies: List[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.content:
            bodies.append(json.loads(request.content))
        if request.url.path.endswith("/stop"):
            return httpx.Response(200, json={**COMPUTER, "status": "stopped"})
        return httpx.Response(201, json=COMPUTER)

    client, _ = make_client(handler)
    computer = client.computers.create(os="linux", cpu=2, ram="8gb")
    assert bodies == [{"os": "linux", "cpu": 2, "ram": 8}]
    assert computer.status == "running" and computer.model_extra == {"future_field": 1}
    assert computer.stop() is computer and computer.status == "stopped"


PROMPT_RESULT = {
    "output": "All done",
    "steps": [{"index": 0, "action": "screenshot", "arguments": {}, "output": "done"},
              {"index": 1, "action": "left_click", "arguments": {"coordinate": [1, 2]}}],
    "stop_reason": "done",
    "usage": {"input_tokens": 100, "output_tokens": 20},
}


def sse_body() -> bytes:
    events = [f"event: step\ndata: {json.dumps(step)}\n\n" for step in PROMPT_RESULT["steps"]]
    events.insert(0, ": keep-alive\n\n")
    events.append(f"event: result\ndata: {json.dumps(PROMPT_RESULT)}\n\n")
    return "".join(events).encode()


def prompt_handler(seen: List[httpx.Request]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/prompt"):
            if request.headers.get("accept") == "text/event-stream":
                return httpx.Response(200, content=sse_body(), headers={"content-type": "text/event-stream"})
            return httpx.Response(200, json=PROMPT_RESULT)
        return httpx.Response(200, json=COMPUTER)

    return handler


def test_prompt_json_and_stream() -> None:
    seen: List[httpx.Request] = []
    client, _ = make_client(prompt_handler(seen))
    computer = client.computers.get("c1")
    result = computer.prompt(model="claude-sonnet-4-6", task="Do it", max_steps=5, model_api_key="sk-model")
    assert result.output == "All done" and result.stop_reason == "done"
    assert result.usage.input_tokens == 100 and len(result.steps) == 2
    request = seen[-1]
    assert json.loads(request.content) == {"model": "claude-sonnet-4-6", "task": "Do it", "max_steps": 5}
    assert request.headers["x-model-api-key"] == "sk-model"
    assert request.url.path == "/api/v1/computers/c1/prompt"

    steps: List[corix.PromptStep] = []
    streamed = computer.prompt(model="claude-sonnet-4-6", task="Do it", on_step=steps.append)
    assert seen[-1].headers["accept"] == "text/event-stream"
    assert [s.action for s in steps] == ["screenshot", "left_click"]
    assert streamed == result


def test_prompt_stream_error_event() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/prompt"):
            body = b'event: error\ndata: {"error": "model failed", "code": "internal_error"}\n\n'
            return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})
        return httpx.Response(200, json=COMPUTER)

    client, _ = make_client(handler)
    with pytest.raises(corix.PromptError) as info:
        client.computers.get("c1").prompt(model="m", task="t", on_step=lambda s: None)
    assert info.value.error == "model failed"


@pytest.mark.anyio
async def test_async_prompt_stream_with_async_callback() -> None:
    seen: List[httpx.Request] = []
    client = corix.AsyncClient(
        api_key=KEY, base_url=BASE, http_client=httpx.AsyncClient(transport=httpx.MockTransport(prompt_handler(seen)))
    )
    computer = await client.computers.get("c1")
    steps: List[int] = []

    async def on_step(step: corix.PromptStep) -> None:
        steps.append(step.index)

    result = await computer.prompt(model="claude-sonnet-4-6", task="Do it", on_step=on_step)
    assert steps == [0, 1] and result.output == "All done"
    assert (await computer.prompt(model="claude-sonnet-4-6", task="Do it")).usage.output_tokens == 20


def test_screenshot_helpers(tmp_path) -> None:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 3), "red").save(buf, format="PNG")
    png = buf.getvalue()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/screenshot"):
            return httpx.Response(200, content=png, headers={"content-type": "image/png"})
        return httpx.Response(200, json=COMPUTER)

    client, _ = make_client(handler)
    shot = client.computers.get("c1").screenshot()
    assert isinstance(shot, bytes) and shot == png and shot.media_type == "image/png"
    shot.save(tmp_path / "s.png")
    assert (tmp_path / "s.png").read_bytes() == png
    assert shot.to_image().size == (4, 3)
