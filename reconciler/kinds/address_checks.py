"""What the API says about an address before the tool creates it, and accepting its suggestions.

`POST /addresses/actions/validate` answers `valid` or `invalid` with `suggested` values. A plan asks it for
every address it would create. An invalid address stops the plan when numbers in the config use it for
emergency services (an emergency call must reach the right place); otherwise it is a note. Either way the
words give the entry's file and line and each suggested value beside the config's.
`POST /addresses/{id}/actions/accept_suggestions` writes the suggestions onto an existing address.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reconciler.api import Api
from reconciler.errors import ConfigIssue, ReconcilerError
from reconciler.kinds.base import KindDiff

VALIDATE_PATH = "/addresses/actions/validate"
ACCEPT_PATH = "/addresses/{id}/actions/accept_suggestions"
VALIDATED = ("street_address", "extended_address", "locality", "administrative_area", "postal_code", "country_code")
NEEDED = ("street_address", "postal_code", "country_code")  # the validate request's required fields
SHOWN = 10


@dataclass
class Candidate:
    """An address the plan would create: its name, values, where it is written and who uses it."""

    name: str
    values: dict[str, Any]
    file: str
    line: int | None = None
    column: int | None = None
    emergency_users: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


def check(api: Api, candidate: Candidate, result: KindDiff) -> None:
    """Validate one address and add what the API said to `result`: a note, or an issue that stops the plan."""
    lacking = [f for f in NEEDED if not candidate.values.get(f)]
    if lacking:
        result.notes.append(f"{candidate.where}: addresses[{candidate.name}]: not validated before it is created: "
                            f"validation needs {', '.join(lacking)}")
        return
    body = {f: candidate.values[f] for f in VALIDATED if candidate.values.get(f) is not None}
    answer = api.post(VALIDATE_PATH, body, what=f"validating address {candidate.name!r}")
    verdict, suggested, problems = _read(answer)
    if verdict == "valid":
        result.notes.append(f"{candidate.where}: addresses[{candidate.name}]: the API validated the address: valid")
        return
    words = f"addresses[{candidate.name}]: the API says the address is invalid; {_suggestions(body, suggested, problems)}"
    if not candidate.emergency_users:
        result.notes.append(f"{candidate.where}: {words}; no number in the config uses it for emergency services, "
                            "so it is created as written")
        return
    users = ", ".join(candidate.emergency_users[:SHOWN]) + ("..." if len(candidate.emergency_users) > SHOWN else "")
    result.issues.append(ConfigIssue(
        candidate.file, candidate.line, candidate.column,
        f"{words}; {len(candidate.emergency_users)} phone number(s) use it for emergency services: {users}",
        "correct the address (the suggested values are above), then plan again",
    ))


def accept_suggestions(api: Api, address_id: str) -> dict[str, Any]:
    """Accept the API's suggested values for an existing address; the answer's `data`."""
    return api.post(ACCEPT_PATH.format(id=address_id), {"id": address_id},
                    what=f"accepting the suggestions for address {address_id}")


def _read(answer: dict[str, Any]) -> tuple[str, dict[str, Any], list[str]]:
    """The verdict, the suggested values and the problems named, from a checked answer."""
    verdict, suggested, errors = answer.get("result"), answer.get("suggested"), answer.get("errors") or []
    if verdict not in ("valid", "invalid") or not isinstance(suggested, dict) or not isinstance(errors, list):
        raise ReconcilerError("the API's answer to an address validation cannot be read (no `result` of valid or "
                              "invalid with `suggested` values)", "Nothing was changed. Run `plan` again.")
    problems = [str(e.get("title") or e.get("detail") or e.get("code")) for e in errors[:SHOWN] if isinstance(e, dict)]
    return verdict, {k: v for k, v in suggested.items() if k in VALIDATED}, problems


def _suggestions(sent: dict[str, Any], suggested: dict[str, Any], problems: list[str]) -> str:
    changed = [f"{name} {sent.get(name)!r} -> {value!r}" for name, value in sorted(suggested.items())
               if value != sent.get(name)]
    text = "suggested: " + ", ".join(changed) if changed else "no suggested values"
    return text + (f" ({'; '.join(problems)})" if problems else "")
