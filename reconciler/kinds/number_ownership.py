"""Numbers the config lists that the account's list did not return, confirmed with the API before a plan
calls them "not in the account": `POST /phone_numbers/actions/verify_ownership`, 1,000 numbers a request.

The answer's `found` holds numbers the account owns and can edit, `not_found` those it does not own; a
number in neither is owned but not editable now. Only `not_found` is called not owned.
"""

from __future__ import annotations

from typing import Any

from reconciler.api import Api
from reconciler.errors import ReconcilerError
from reconciler.kinds.base import KindDiff
from reconciler.text import shortened

VERIFY_PATH = "/phone_numbers/actions/verify_ownership"
BATCH = 1000  # the request schema's maxItems
SHOWN = 20


def confirm_unlisted(api: Api, unlisted: list[str]) -> KindDiff:
    """Errors naming the numbers the API confirms the account does not own, and those it owns that the
    list did not return."""
    result = KindDiff()
    not_owned: list[str] = []
    owned: list[str] = []
    for start in range(0, len(unlisted), BATCH):
        batch = unlisted[start:start + BATCH]
        answer = api.post(VERIFY_PATH, {"phone_numbers": batch}, what=f"verifying ownership of {len(batch)} number(s)")
        missing = set(_not_found(answer, batch))
        not_owned += [n for n in batch if n in missing]
        owned += [n for n in batch if n not in missing]
    if not_owned:
        result.errors.append(f"{len(not_owned)} phone number(s) in the config are not in the account: the API "
                             "confirms the account does not own them (the tool manages numbers the account owns; "
                             f"it does not buy them): {shortened(not_owned, SHOWN)}")
    if owned:
        result.errors.append(f"{len(owned)} phone number(s) in the config were not in the account's list, yet the "
                             "API does not say the account lacks them (a purchase or port-in still settling, or a "
                             f"number not editable now); plan again later: {shortened(owned, SHOWN)}")
    return result


def _not_found(answer: dict[str, Any], batch: list[str]) -> list[str]:
    """The answer's `not_found`, checked: a list of strings, no longer than what was asked."""
    found, missing = answer.get("found"), answer.get("not_found")
    if not isinstance(found, list) or not isinstance(missing, list) or len(missing) > len(batch) \
            or not all(isinstance(n, str) for n in missing):
        raise ReconcilerError("the API's answer to verify_ownership cannot be read (no `found` and `not_found` "
                              "lists)", "Nothing was changed. Run `plan` again; if it persists, report it.")
    return missing
