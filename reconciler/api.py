"""The interface to the Telnyx API that everything above the client talks to.

`client.TelnyxClient` implements it over httpx; the kinds, apply, the port-out helpers and the receiver
depend only on this protocol, so none of them imports the HTTP layer (or httpx) to be loaded or tested.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class Api(Protocol):
    """The calls the tool makes: reads of lists and single objects, and the writes."""

    def list_all(
        self, path: str, params: dict[str, Any] | None = None, transform: Callable[[dict[str, Any]], Any] | None = None
    ) -> list[Any]: ...
    def get(self, path: str, params: dict[str, Any] | None = None, *, what: str = "") -> dict[str, Any]: ...
    def post(self, path: str, body: dict[str, Any], *, what: str = "") -> dict[str, Any]: ...
    def create(self, path: str, body: dict[str, Any], *, what: str, recover: Any) -> dict[str, Any]: ...
    def patch(self, path: str, body: dict[str, Any], *, what: str = "") -> dict[str, Any]: ...
    def delete(self, path: str, *, what: str = "") -> dict[str, Any]: ...
