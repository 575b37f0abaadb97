"""A phone number's bundle, `bundle_id`: set through `PATCH /phone_numbers/{id}/actions/bundle_status_change`,
one request per number.

The spec declares `bundle_id` on no response: not on the number, its lists, nor this call's answer. So
the tool cannot read it back, and compares it, like a number's PIN, by the fingerprint of what it last set
(state.py): a plan shows it as unverified until the tool has set it once. Removing a number from a bundle
is not offered: the request schema types `bundle_id` as a string, though its text says null removes; and
as moving a number to another bundle needs a removal first, the API refuses such a move, with its reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from reconciler.api import Api
from reconciler.errors import ReconcilerError
from reconciler.plan import Step

BUNDLE_PATH = "/phone_numbers/{id}/actions/bundle_status_change"
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def check_bundle_id(value: Any) -> Any:
    """A bundle id is a UUID; null (leaving a bundle) is refused, as the API's request cannot carry it."""
    if value is None:
        raise ValueError("bundle_id cannot be null: removing a number from a bundle is not supported (the API's "
                         "request takes a bundle id); leave bundle_id out to leave the bundle unmanaged")
    if not isinstance(value, str) or not UUID.match(value):
        raise ValueError(f"{value!r} is not a bundle id (a UUID such as 5194d8fc-87e6-4188-baa9-1c434bbe861b)")
    return value


def set_bundles(api: Api, steps: list[Step], progress: Callable[[int, int], None]) -> dict[str, str]:
    """Put each number whose change sets bundle_id in its bundle, reporting numbers done of total; the
    numbers that failed, with why."""
    moving = [s.change for s in steps if any(f.path == "bundle_id" for f in s.change.fields)]
    failed: dict[str, str] = {}
    for done, change in enumerate(moving, 1):
        bundle = (change.after or {})["bundle_id"]
        try:
            api.patch(BUNDLE_PATH.format(id=change.live_id), {"bundle_id": bundle},
                      what=f"putting {change.key} in bundle {bundle}")
        except ReconcilerError as exc:
            failed[change.key] = exc.message
        progress(done, len(moving))
    return failed
