"""Typed errors. Every error the server answers carries its ``error`` sentence and ``code``."""

from __future__ import annotations

from typing import Any, Dict, Optional, Type

import httpx

__all__ = [
    "CorixError",
    "APIConnectionError",
    "APITimeoutError",
    "APIStatusError",
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
]


class CorixError(Exception):
    """The base of every error this SDK raises."""


class APIConnectionError(CorixError):
    """The server could not be reached (connection refused, DNS, TLS, ...)."""

    def __init__(self, message: str = "Connection error", *, request: Optional[httpx.Request] = None) -> None:
        super().__init__(message)
        self.request = request


class APITimeoutError(APIConnectionError):
    """The request timed out."""

    def __init__(self, message: str = "Request timed out", *, request: Optional[httpx.Request] = None) -> None:
        super().__init__(message, request=request)


class APIStatusError(CorixError):
    """The server answered with an error status.

    Attributes:
        status_code: the HTTP status.
        error: the server's sentence (``{"error": ...}``).
        code: the server's machine-readable code (``{"code": ...}``), e.g. ``not_found``.
        body: the decoded JSON body (or the raw text when it was not JSON).
        response: the ``httpx.Response``.
    """

    status_code: int

    def __init__(self, error: str, *, code: Optional[str], response: httpx.Response, body: Any = None) -> None:
        super().__init__(f"{response.status_code} {code or 'error'}: {error}")
        self.error = error
        self.code = code
        self.response = response
        self.status_code = response.status_code
        self.body = body


class BadRequestError(APIStatusError):
    """400: missing or invalid parameters."""


class AuthenticationError(APIStatusError):
    """401: missing or invalid API key."""


class PermissionDeniedError(APIStatusError):
    """403: someone else's computer or workspace, or a plan limit."""


class PlanLimitError(PermissionDeniedError):
    """403 with code ``plan_limit``: the plan's maximum computers, CPU or RAM."""


class NotFoundError(APIStatusError):
    """404: the computer, workspace (or endpoint) does not exist."""


class ConflictError(APIStatusError):
    """409: e.g. a duplicate workspace name, or a computer that is not running."""


class ComputerNotRunningError(ConflictError):
    """409 with code ``computer_not_running``."""


class PromptRunningError(ConflictError):
    """409 with code ``prompt_running``: an agent loop already runs on this computer."""


class PayloadTooLargeError(APIStatusError):
    """413: the body or the download is too large."""


class RateLimitError(APIStatusError):
    """429: rate limited. ``retry_after`` holds the server's ``Retry-After`` in seconds, if any."""

    @property
    def retry_after(self) -> Optional[float]:
        """Seconds the server asked to wait, from ``Retry-After``."""
        from ._base import parse_retry_after

        return parse_retry_after(self.response.headers.get("retry-after"))


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


class AgentUnreachableError(InternalServerError):
    """502: the agent inside the computer did not answer (the computer may be starting)."""


class ServiceUnavailableError(InternalServerError):
    """503: e.g. ``display_unavailable``."""


_BY_STATUS: Dict[int, Type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    429: RateLimitError,
    502: AgentUnreachableError,
    503: ServiceUnavailableError,
}

_BY_CODE: Dict[str, Type[APIStatusError]] = {
    "plan_limit": PlanLimitError,
    "computer_not_running": ComputerNotRunningError,
    "prompt_running": PromptRunningError,
}


def error_class(status: int, code: Optional[str]) -> Type[APIStatusError]:
    """The error class for a status and server code."""
    if code is not None and code in _BY_CODE:
        cls = _BY_CODE[code]
        if issubclass(cls, _BY_STATUS.get(status, APIStatusError)):
            return cls
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return InternalServerError
    return APIStatusError


def make_status_error(response: httpx.Response) -> APIStatusError:
    """Builds the typed error for an error answer (its body must already be read)."""
    body: Any
    try:
        body = response.json()
    except Exception:
        body = response.text
    error, code = None, None
    if isinstance(body, dict):
        error = body.get("error") if isinstance(body.get("error"), str) else None
        code = body.get("code") if isinstance(body.get("code"), str) else None
    if error is None:
        error = (body if isinstance(body, str) and body else None) or response.reason_phrase or "error"
    cls = error_class(response.status_code, code)
    return cls(error, code=code, response=response, body=body)
