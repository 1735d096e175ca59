"""What the sync and async clients share: configuration, requests as data, errors, retries."""

from __future__ import annotations

import email.utils
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Generic, Mapping, Optional, TypeVar, Union
from urllib.parse import urlsplit, urlunsplit

import httpx

from ._errors import CorixError, make_status_error
from ._version import __version__

DEFAULT_BASE_URL = "https://corix.dev/api"
DEFAULT_TIMEOUT = 180.0
DEFAULT_MAX_RETRIES = 3
INITIAL_RETRY_DELAY = 1.0
MAX_RETRY_DELAY = 60.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

_NOT_GIVEN: Any = object()


def parse_retry_after(value: Optional[str]) -> Optional[float]:
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date), or ``None``."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def backoff_delay(retries_taken: int) -> float:
    """The spec's exponential backoff: 1 s, 2 s, 4 s, ... at most 60 s."""
    return min(INITIAL_RETRY_DELAY * (2.0 ** retries_taken), MAX_RETRY_DELAY)


def parse_ram(ram: Union[int, str, None]) -> Optional[int]:
    """RAM in GB from an int (``8``) or a string (``"8gb"``, ``"8 GB"``, ``"8g"``, ``"8192mb"``)."""
    if ram is None:
        return None
    if isinstance(ram, bool):
        raise ValueError(f"ram must be GB as an int or a string like '8gb', not {ram!r}")
    if isinstance(ram, int):
        return ram
    match = re.fullmatch(r"\s*(\d+)\s*(gb|gib|g|mb|mib|m)?\s*", str(ram), flags=re.IGNORECASE)
    if not match:
        raise ValueError(f"ram must be GB as an int or a string like '8gb', not {ram!r}")
    number, unit = int(match.group(1)), (match.group(2) or "gb").lower()
    if unit.startswith("m"):
        if number % 1024:
            raise ValueError(f"ram must be a whole number of GB, not {ram!r}")
        return number // 1024
    return number


def terminal_base_url(base_url: str) -> str:
    """The WebSocket root for ``/ws/terminal``: the base URL without ``/api``, ``ws``/``wss`` scheme.

    The hosted service (``corix.dev``) serves terminals from ``compute.corix.dev``.
    """
    parts = urlsplit(base_url)
    scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
    path = parts.path.rstrip("/")
    if path.endswith("/api"):
        path = path[: -len("/api")]
    netloc = parts.netloc
    if parts.hostname == "corix.dev":
        netloc = "compute.corix.dev"
    return urlunsplit((scheme, netloc, path, "", "")).rstrip("/")


T = TypeVar("T")


@dataclass
class Op(Generic[T]):
    """One API call as data, executed by the sync or the async client; ``parse`` turns the answer into a T."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: Optional[Dict[str, Any]] = None
    json: Any = None
    content: Optional[bytes] = None
    headers: Dict[str, str] = field(default_factory=dict)
    timeout: Optional[Union[float, httpx.Timeout]] = None


class BaseClient:
    """Configuration shared by :class:`corix.Client` and :class:`corix.AsyncClient`."""

    api_key: str
    base_url: str
    terminal_url: str
    timeout: Union[float, httpx.Timeout]
    max_retries: int

    def __init__(
        self,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        *,
        timeout: Union[float, httpx.Timeout, None] = None,
        max_retries: Optional[int] = None,
        terminal_url: Optional[str] = None,
        default_headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        api_key = api_key or os.environ.get("CORIX_API_KEY")
        if not api_key:
            raise CorixError("No API key: pass api_key=... or set CORIX_API_KEY")
        base_url = base_url or os.environ.get("CORIX_BASE_URL") or DEFAULT_BASE_URL
        base_url = base_url.rstrip("/")
        if base_url.endswith("/v1"):
            base_url = base_url[: -len("/v1")]
        self.api_key = api_key
        self.base_url = base_url
        self.terminal_url = (terminal_url or os.environ.get("CORIX_TERMINAL_URL") or terminal_base_url(base_url)).rstrip("/")
        self.timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        if max_retries is None:
            max_retries = DEFAULT_MAX_RETRIES
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        self.max_retries = max_retries
        self._default_headers = dict(default_headers or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    @property
    def auth_headers(self) -> Dict[str, str]:
        """The ``Authorization`` header for this client's key."""
        return {"Authorization": f"Bearer {self.api_key}"}

    def _headers(self, extra: Mapping[str, str]) -> Dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": f"corix-python/{__version__}"}
        headers.update(self._default_headers)
        headers.update(self.auth_headers)
        headers.update(extra)
        return headers

    def _build_request(self, http: Union[httpx.Client, httpx.AsyncClient], op: "Op[Any]") -> httpx.Request:
        timeout = op.timeout if op.timeout is not None else self.timeout
        return http.build_request(
            op.method,
            self.base_url + "/v1" + op.path,
            params={k: v for k, v in (op.params or {}).items() if v is not None} or None,
            json=op.json,
            content=op.content,
            headers=self._headers(op.headers),
            timeout=timeout,
        )

    def _retry_delay(self, retries_taken: int, response: Optional[httpx.Response]) -> Optional[float]:
        """Seconds to wait before the next try, or ``None`` to give up."""
        if retries_taken >= self.max_retries:
            return None
        if response is not None:
            if response.status_code not in RETRY_STATUSES and response.status_code < 500:
                return None
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            if retry_after is not None:
                # A wait longer than the longest backoff (a daily limit) is not worth blocking for.
                return retry_after if retry_after <= MAX_RETRY_DELAY else None
        return backoff_delay(retries_taken)

    @staticmethod
    def _error(response: httpx.Response) -> Exception:
        return make_status_error(response)
