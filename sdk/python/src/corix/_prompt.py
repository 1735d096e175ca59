"""Server-sent events of ``POST /computers/{id}/prompt`` with ``Accept: text/event-stream``."""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable, Iterator, List, Optional, Tuple, Union

from ._errors import CorixError
from ._models import PromptResult, PromptStep

StepCallback = Callable[[PromptStep], Union[None, Awaitable[None]]]


class PromptError(CorixError):
    """The agent loop's stream reported an error (``event: error``) or ended without a result."""

    def __init__(self, error: str, code: Optional[str] = None) -> None:
        super().__init__(f"{code or 'prompt_error'}: {error}")
        self.error = error
        self.code = code


class SSEDecoder:
    """Turns lines of a ``text/event-stream`` into ``(event, data)`` pairs."""

    def __init__(self) -> None:
        self._event: Optional[str] = None
        self._data: List[str] = []

    def feed(self, line: str) -> Iterator[Tuple[Optional[str], str]]:
        """Feeds one line (without its end); yields an event when a blank line completes it."""
        line = line.rstrip("\r\n")
        if line == "":
            if self._data or self._event:
                event, data = self._event, "\n".join(self._data)
                self._event, self._data = None, []
                yield event, data
            return
        if line.startswith(":"):
            return
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)

    def flush(self) -> Iterator[Tuple[Optional[str], str]]:
        """Yields a last event the stream did not end with a blank line."""
        yield from self.feed("")


def interpret(event: Optional[str], data: str) -> Tuple[str, Any]:
    """Classifies one event: ``("step", PromptStep)``, ``("result", PromptResult)`` or ``("other", None)``.

    Raises :class:`PromptError` for ``event: error``.
    """
    try:
        payload = json.loads(data) if data else None
    except ValueError:
        payload = data
    if event == "error":
        if isinstance(payload, dict):
            raise PromptError(str(payload.get("error") or payload), payload.get("code"))
        raise PromptError(str(payload))
    if not isinstance(payload, dict):
        return "other", None
    if event in ("result", "done", "end", "final") or (
        event in (None, "message") and "stop_reason" in payload and "output" in payload
    ):
        body = payload.get("result", payload) if isinstance(payload.get("result"), dict) else payload
        return "result", PromptResult.model_validate(body)
    if event == "step" or (event in (None, "message") and "action" in payload):
        body = payload.get("step", payload) if isinstance(payload.get("step"), dict) else payload
        return "step", PromptStep.model_validate(body)
    return "other", None
