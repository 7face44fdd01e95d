"""How `pressbot serve` runs uvicorn: the limits a server facing clients needs.

- Request headers: at most `MAX_HEADER_BYTES` in all. h11 stops reading there (an 80 MB header
  was read for seconds, stalling other clients); the answer is 431, the status h11 itself hints.
- Idle connections: closed after `IDLE_TIMEOUT_S`, also one that never sends a request (uvicorn
  arms its keep-alive timer only after a response, so 400 silent sockets used up the fd limit).
- Proxies: `X-Forwarded-For` / `X-Forwarded-Proto` are honoured only from the addresses in
  PRESSBOT_TRUSTED_PROXIES (none by default), so no client can pick the address its rate limit
  and the logs see.
- The access log shows paths without their query strings (a token sent as `?token=` stays out).
"""

from __future__ import annotations

import logging
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from pressbot.config import Settings

MAX_HEADER_BYTES = 16 * 1024
IDLE_TIMEOUT_S = 10


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the idle timer armed from the start and 431 for headers
    over the limit."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)

    def send_400_response(self, msg: str) -> None:
        if len(self.conn.trailing_data[0]) <= MAX_HEADER_BYTES:
            super().send_400_response(msg)
            return
        # the unparsed bytes outgrew the limit: the request line and headers are too large
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]
        for event in (
            h11.Response(status_code=431, headers=headers, reason=b"Request Header Fields Too Large"),
            h11.Data(data=f"request headers over {MAX_HEADER_BYTES} bytes".encode()),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event))
        self.transport.close()


class QueryRedactingFilter(logging.Filter):
    """Access-log records show the path, not the query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0] + "?<redacted>", *args[3:])
        return True


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run` besides the app, host and port."""
    logging.getLogger("uvicorn.access").addFilter(QueryRedactingFilter())
    trusted = [p.strip() for p in settings.trusted_proxies if p.strip()]
    return {
        "http": GuardedH11Protocol,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "timeout_keep_alive": IDLE_TIMEOUT_S,
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted,
    }
