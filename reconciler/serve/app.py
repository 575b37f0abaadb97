"""The starlette application: `POST /webhooks/telnyx` and `GET /healthz`.

A delivery is refused, with a 4xx and without acting, when its body is over `max_body` bytes (413), when
its signature or timestamp is missing, malformed, outside the window or wrong (401), or when, signed, it is
not a port-out event the receiver can read (400). Otherwise it is recorded and answered 200 at once; the
decision runs afterwards (receiver.py). Refusals are logged with their reason, never with the body.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .receiver import Receiver, Unreadable
from .signature import Refused, verify

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024  # bytes; a port-out event is well under 2 KB


class TooLarge(Exception):
    pass


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def build_app(receiver: Receiver, public_key: Ed25519PublicKey, *, max_body: int = MAX_BODY,
              clock: Callable[[], float] = time.time) -> Starlette:
    async def webhook(request: Request) -> JSONResponse:
        try:
            body = await _body(request, max_body)
            verify(public_key, request.headers, body, clock())
            outcome = await run_in_threadpool(receiver.accept, json.loads(body))
        except TooLarge:
            return _refuse(413, f"body over {max_body} bytes")
        except Refused as exc:
            return _refuse(401, exc.reason)
        except (ValueError, Unreadable) as exc:  # signed, but not JSON or not an event
            return _refuse(400, f"not a port-out event: {str(exc)[:200]}")
        return JSONResponse({"received": outcome})

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse(receiver.health())

    return Starlette(routes=[Route("/webhooks/telnyx", webhook, methods=["POST"]),
                             Route("/healthz", healthz, methods=["GET"])])


def _refuse(status: int, reason: str) -> JSONResponse:
    log.warning("webhook refused (%d): %s", status, reason)
    return JSONResponse({"error": reason}, status_code=status)
