"""OAuth2 client credentials (RFC 6749 §4.4) as a credential whose value changes: Dryad API accounts.

What Dryad does (checked 2026-12-06): an API account (created on https://datadryad.org/account)
is an application id and a secret. ``POST https://datadryad.org/oauth/token`` with
``grant_type=client_credentials&client_id=…&client_secret=…`` (form-encoded) answers
``{"access_token", "token_type": "Bearer", "expires_in": 36000, "created_at"}``: tokens last 10 h.
An expired token gets 401, exactly like a never-valid one, so a client renews and retries "a
limited number of times" (datadryad/dryad-app ``documentation/apis/api_accounts.md`` and
``retrying_expired.md``). Since 2025 file downloads need such a token (the API docs at
datadryad.org/api/v2/docs: anonymous users "are not allowed to download data files").

:class:`ClientCredentials` is the :class:`~doi2data.http.TokenSource` that ``Credentials`` asks
for the header value of every request to its host: it exchanges the account on first use, renews
ahead of expiry and after a 401 (one exchange at a time, however many threads ask), and when the
server refuses the account it gives up and answers ``None``: requests then go out anonymously, so
a refused account never breaks what anonymous users may do (listing). The secret goes only to
``https://<host>/oauth/token`` (no redirects followed); the token only where ``Credentials`` sends it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

#: Hosts whose ``HOST=ID:SECRET`` token spec is an OAuth2 API account, and their token path.
TOKEN_PATHS = {"datadryad.org": "/oauth/token", "sandbox.datadryad.org": "/oauth/token"}
MAX_BODY = 64 * 1024
MAX_TOKEN = 4096
EXCHANGE_TIMEOUT = 30.0
TRANSIENT_BACKOFF = 30.0   # after a network error or 5xx, answer None this long before trying again
DEFAULT_TTL = 3600.0       # when the server does not say ``expires_in``
MAX_TTL = 30 * 86400.0


def is_account_host(host: str) -> bool:
    return host.lower() in TOKEN_PATHS


def _clean(text: Any, limit: int = 100) -> str:
    """A server-supplied word for a one-line message: printable, short."""
    value = "".join(ch for ch in str(text) if ch.isprintable())
    return value[:limit]


class ClientCredentials:
    """Bearer tokens from one OAuth2 client-credentials account, renewed as they expire.

    ``client`` makes the blocking httpx client of one exchange (the project's, with proxy and CA
    settings); ``clock`` is injectable for tests. Thread-safe.
    """

    def __init__(self, host: str, client_id: str, secret: str, *, client: Callable[..., httpx.Client],
                 token_url: str | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.host = host.lower()
        self.token_url = token_url or f"https://{self.host}{TOKEN_PATHS.get(self.host, '/oauth/token')}"
        self._id, self._secret = client_id, secret
        self._client, self._clock = client, clock
        self._lock = threading.Lock()
        self._value: str | None = None        # "Bearer <token>"
        self._issued = self._expires = 0.0
        self._fresh_refusals = 0
        self.failure: str | None = None       # the account was refused: no more exchanges this run
        self.error: str | None = None         # the last exchange failed for a passing reason
        self._quiet_until = 0.0
        self.exchanges = 0

    def __repr__(self) -> str:  # never the secret
        return f"ClientCredentials({self.host!r}, {self._id[:4]}…)"

    # the TokenSource protocol ----------------------------------------------------------------
    def current(self) -> str | None:
        """``"Bearer <token>"``, exchanging the account first if needed; ``None``: send anonymously."""
        with self._lock:
            if not self._valid():
                self._exchange()
            return self._value

    def renew(self, stale: str) -> bool:
        """The server answered 401 to ``stale``: get a new token (unless another thread already did).

        Always True: the request is worth one more try, with a new token or (the account refused)
        anonymously. Two new tokens refused in a row mean the account is refused.
        """
        with self._lock:
            if self._value is not None and self._value != stale and self._valid():
                return True
            if self.failure is not None:
                return True
            if self._value == stale:
                age, ttl = self._clock() - self._issued, self._expires - self._issued
                fresh = age < min(30.0, ttl / 2)
                self._fresh_refusals = self._fresh_refusals + 1 if fresh else 0
                self._value = None
                if self._fresh_refusals >= 2:
                    self.failure = f"{self.host} refused two new tokens of this API account (HTTP 401)"
                    return True
            self._exchange()
            return True

    # internals -------------------------------------------------------------------------------
    def _valid(self) -> bool:
        if self._value is None:
            return False
        margin = min(60.0, (self._expires - self._issued) / 10)
        return self._clock() < self._expires - margin

    def _exchange(self) -> None:
        """One token request (the lock is held). Sets the token, or ``failure`` / ``error``."""
        self._value = None
        now = self._clock()
        if self.failure is not None or now < self._quiet_until:
            return
        self.exchanges += 1
        try:
            status, doc = self._post()
        except (httpx.HTTPError, OSError, ValueError) as exc:
            self._transient(f"could not get a token from {self.token_url} ({_clean(exc) or type(exc).__name__})")
            return
        if status in (400, 401, 403):  # RFC 6749 §5.2: ``error`` is a short code such as invalid_client
            why = _clean(doc.get("error") or doc.get("error_description") or "", 60) if isinstance(doc, dict) else ""
            self.failure = f"{self.host} refused the API account (HTTP {status}{' ' + why if why else ''})"
            return
        token = doc.get("access_token") if status == 200 and isinstance(doc, dict) else None
        kind = doc.get("token_type", "Bearer") if isinstance(doc, dict) else None
        if not (isinstance(token, str) and 0 < len(token) <= MAX_TOKEN and token.isascii() and token.isprintable()
                and " " not in token and isinstance(kind, str) and kind.lower() == "bearer"):
            self._transient(f"no usable token from {self.token_url} (HTTP {status})")
            return
        ttl = doc.get("expires_in")
        ttl = float(ttl) if isinstance(ttl, (int, float)) and not isinstance(ttl, bool) and ttl > 0 else DEFAULT_TTL
        self._value, self._issued = f"Bearer {token}", now
        self._expires = now + min(ttl, MAX_TTL)
        self.error = None

    def _transient(self, message: str) -> None:
        self.error = message
        self._quiet_until = self._clock() + TRANSIENT_BACKOFF

    def _post(self) -> tuple[int, Any]:
        form = {"grant_type": "client_credentials", "client_id": self._id, "client_secret": self._secret}
        headers = {"Accept": "application/json", "Accept-Encoding": "identity"}
        with self._client(timeout=EXCHANGE_TIMEOUT) as client:
            with client.stream("POST", self.token_url, data=form, headers=headers, follow_redirects=False) as resp:
                coding = resp.headers.get("content-encoding", "identity").strip().lower()
                if coding not in ("", "identity"):  # asked for identity: nothing to inflate, no bomb
                    raise ValueError(f"token answer in Content-Encoding {_clean(coding, 20)}")
                body = bytearray()
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY:
                        raise ValueError(f"token answer larger than {MAX_BODY} bytes")
                status = resp.status_code
        try:
            return status, json.loads(bytes(body)) if body else {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            return status, {}


__all__ = ["TOKEN_PATHS", "ClientCredentials", "is_account_host"]
