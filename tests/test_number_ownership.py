"""Numbers the list does not return are confirmed with verify_ownership before a plan calls them not owned."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support import API_KEY, served, write_config

from reconciler.errors import ReconcilerError
from reconciler.kinds.number_ownership import VERIFY_PATH, confirm_unlisted
from reconciler.sandbox import Sandbox


class Answers:
    """A stand-in for the client that answers verify_ownership from a fixed set of owned numbers."""

    def __init__(self, owned: set[str], answer: dict[str, Any] | None = None) -> None:
        self.owned = owned
        self.answer = answer
        self.asked: list[list[str]] = []

    def post(self, path: str, body: dict[str, Any], *, what: str = "") -> dict[str, Any]:
        assert path == VERIFY_PATH
        self.asked.append(body["phone_numbers"])
        if self.answer is not None:
            return self.answer
        found = [{"id": "1", "number_val_e164": n} for n in body["phone_numbers"] if n in self.owned]
        return {"found": found, "not_found": [n for n in body["phone_numbers"] if n not in self.owned],
                "record_type": "number_ownership_verification"}


def test_the_error_names_the_numbers_the_api_confirms_are_not_owned(tmp_path: Path) -> None:
    seed = {"phone_numbers": [{"phone_number": "+13125550100"}]}
    config = write_config(tmp_path, "n.yaml", "phone_numbers:\n  - phone_number: '+13125550100'\n"
                                              "  - phone_number: '+13125550999'\n")
    with served(Sandbox(api_key=API_KEY, seed=seed)) as account:
        result = account.run("plan", str(config))
        asked = [r for r in account.sandbox.requests if r.path.endswith(VERIFY_PATH)]
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "1 phone number(s) in the config are not in the account: the API confirms the account does not own " \
           "them" in result.stderr and result.stderr.rstrip().count("+13125550999") == 1
    assert len(asked) == 1


def test_a_number_the_api_says_is_owned_is_not_called_missing() -> None:
    result = confirm_unlisted(Answers({"+13125550100"}), ["+13125550100", "+13125550101"])  # type: ignore[arg-type]
    [not_owned, unlisted] = result.errors
    assert not_owned.endswith(": +13125550101") and "confirms the account does not own" in not_owned
    assert unlisted.endswith(": +13125550100") and "plan again later" in unlisted


def test_numbers_are_asked_about_a_thousand_at_a_time() -> None:
    api = Answers(set())
    numbers = [f"+1312555{i:04d}" for i in range(1001)]
    assert "1001 phone number(s)" in confirm_unlisted(api, numbers).errors[0]  # type: ignore[arg-type]
    assert [len(batch) for batch in api.asked] == [1000, 1]


def test_nothing_is_asked_when_the_list_has_every_number() -> None:
    api = Answers(set())
    assert confirm_unlisted(api, []).errors == [] and api.asked == []  # type: ignore[arg-type]


def test_an_answer_that_cannot_be_read_is_an_error_not_an_empty_account() -> None:
    with pytest.raises(ReconcilerError, match="cannot be read"):
        confirm_unlisted(Answers(set(), {"found": None}), ["+13125550100"])  # type: ignore[arg-type]
