"""Addresses are validated by the API before a plan creates them; an invalid one stops the plan when
numbers use it for emergency services, and is a note otherwise; suggestions can be accepted later."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support import API_KEY, served, write_config

from reconciler.sandbox import Sandbox
from reconciler.sandbox.resources.address_validation import validate

VALIDATE = "/addresses/actions/validate"
UUID_ID = "3f1c1b7e-8a4d-4f8e-9d56-2b7c0e6a9a11"


def address(name: str, locality: str, postal_code: str = "78701") -> str:
    return (f"  - name: {name}\n    first_name: Ada\n    last_name: Lovelace\n    business_name: Example\n"
            f"    street_address: 600 Congress Avenue\n    locality: {locality}\n    administrative_area: TX\n"
            f"    postal_code: '{postal_code}'\n    country_code: US\n")


def number_using(name: str) -> str:
    return f"phone_numbers:\n  - phone_number: '+13125550100'\n    emergency: {{enabled: true, address: {name}}}\n"


def seeded(*addresses: dict[str, Any]) -> Sandbox:
    return Sandbox(api_key=API_KEY, seed={"phone_numbers": [{"phone_number": "+13125550100"}], "addresses": list(addresses)})


def test_the_sandbox_suggests_the_locality_of_a_known_postal_code() -> None:
    checked = validate({"street_address": "1 Main", "postal_code": "78701", "country_code": "US", "locality": "Dallas"})
    assert checked["result"] == "invalid" and checked["suggested"]["locality"] == "Austin"
    assert validate({"street_address": "1 Main", "postal_code": "99999", "country_code": "US"})["result"] == "valid"


def test_a_valid_address_is_said_so_before_it_is_created(tmp_path: Path) -> None:
    config = write_config(tmp_path, "a.yaml", "addresses:\n" + address("hq", "Austin"))
    with served(seeded()) as account:
        result = account.run("plan", str(config))
        asked = [r for r in account.sandbox.requests if r.path.endswith(VALIDATE)]
    assert result.exit_code == 0, result.output
    assert f"{config}:2: addresses[hq]: the API validated the address: valid" in result.stdout
    assert len(asked) == 1


def test_an_invalid_address_no_number_uses_is_a_note_with_the_suggestions(tmp_path: Path) -> None:
    config = write_config(tmp_path, "a.yaml", "addresses:\n" + address("hq", "Dallas"))
    with served(seeded()) as account:
        result = account.run("plan", str(config))
    assert result.exit_code == 0, result.output
    assert f"{config}:2: addresses[hq]: the API says the address is invalid; suggested: locality 'Dallas' -> " \
           "'Austin'" in result.stdout
    assert "+ addresses[hq]" in result.stdout


def test_an_invalid_emergency_address_stops_the_plan_before_any_write(tmp_path: Path) -> None:
    config = write_config(tmp_path, "a.yaml", "addresses:\n" + address("hq", "Dallas") + number_using("hq"))
    with served(seeded()) as account:
        result = account.run("apply", str(config), "--auto-approve")
        writes = account.writes()
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{config}:2:" in result.stderr and "locality 'Dallas' -> 'Austin'" in result.stderr
    assert "1 phone number(s) use it for emergency services: +13125550100" in result.stderr
    assert writes == []


def test_an_address_that_exists_is_not_validated_again(tmp_path: Path) -> None:
    config = write_config(tmp_path, "a.yaml", "addresses:\n" + address("hq", "Dallas") + number_using("hq"))
    with served(seeded()) as account:
        assert account.run("apply", str(write_config(tmp_path, "b.yaml", "addresses:\n" + address("hq", "Dallas"))),
                           "--auto-approve").exit_code == 0
        before = len([r for r in account.sandbox.requests if r.path.endswith(VALIDATE)])
        result = account.run("plan", str(config))
        after = len([r for r in account.sandbox.requests if r.path.endswith(VALIDATE)])
    assert result.exit_code == 0, result.output
    assert after == before


def test_accepting_suggestions_rewrites_the_address_and_says_what_changed() -> None:
    record = {"id": UUID_ID, "customer_reference": "hq", "first_name": "Ada", "last_name": "Lovelace",
              "business_name": "Example", "street_address": "600 Congress Avenue", "locality": "Dallas",
              "administrative_area": "TX", "postal_code": "78701", "country_code": "US"}
    with served(seeded(record)) as account:
        first = account.run("addresses", "accept-suggestions", "hq")
        again = account.run("addresses", "accept-suggestions", "hq")
        stored = account.sandbox.state.get("addresses", UUID_ID)
    assert first.exit_code == 0, first.output
    assert "suggestions accepted" in first.stdout and "locality: 'Dallas' -> 'Austin'" in first.stdout
    assert stored is not None and stored["locality"] == "Austin"
    assert again.exit_code == 0 and "No value changed" in again.stdout


def test_an_unknown_address_name_is_a_clear_error() -> None:
    with served(seeded()) as account:
        result = account.run("addresses", "accept-suggestions", "nowhere")
    assert result.exit_code == 1 and "the account has no address named 'nowhere'" in result.stderr
