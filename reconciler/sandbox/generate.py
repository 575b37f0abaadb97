"""Generated accounts: a realistic, reproducible seed of any size, for scale tests and benchmarks.

    sandbox = Sandbox(seed=generate_account(100_000, seed=7, mobile=50))

`generate_account` returns an ordinary seed (see seed.py) with 3 billing groups, 4 addresses (each
with a `customer_reference`), `numbers` phone numbers and `mobile` mobile numbers. The same
arguments give the same seed, ids included. The numbers vary the way a real account does:

- tags from 10 tag sets (one of them empty); 4 connections (about 15% of numbers have none);
  billing groups on about 70%; messaging profiles on about half; customer references on ~30%;
- emergency services on about a quarter of the active local numbers, at one of the addresses;
- about 2% in a status other than `active` (port-out-pending, port-pending, ported-out,
  purchase-pending, emergency-only, requirement-info-pending), about 1% deletion-locked,
  about 3% toll-free, some ported in, some with an external PIN, channel billing, HD voice,
  call forwarding or recording;
- created one minute apart from 2023-01-01, so the newest come last in the seed.

Numbers are built compactly (only non-default settings): 100,000 of them take about a second to
generate and two to three to load.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import itertools
import random
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from .store import timestamp

AREA_CODES = ("312", "415", "512", "646", "212", "303", "206", "617", "702", "305", "404", "972", "213", "503", "615")
TOLL_FREE = ("833", "844", "855")
MOBILE_AREA_CODES = ("917", "347", "929")
TAG_SETS: tuple[tuple[str, ...], ...] = (
    (), ("sales",), ("support",), ("sales", "emea"), ("support", "apac"), ("marketing",), ("voip", "trunk"),
    ("fax",), ("test",), ("sales", "vip"),
)
TAG_WEIGHTS = (30, 15, 15, 8, 8, 7, 6, 4, 4, 3)
_TAG_CUMULATIVE = tuple(itertools.accumulate(w / sum(TAG_WEIGHTS) for w in TAG_WEIGHTS))
INACTIVE = ("port-out-pending", "port-pending", "ported-out", "purchase-pending", "emergency-only",
            "requirement-info-pending")
CONNECTIONS = (("1494404757140276705", "sip-trunk-primary"), ("1494404757140276706", "sip-trunk-backup"),
               ("1494404757140276707", "call-control-app"), ("1494404757140276708", "texml-ivr"))
GROUP_NAMES = ("Engineering", "Sales", "Support")
PROFILE_NAMES = ("alerts", "marketing", "support-2fa")
SITES = (
    ("HQ", "600 Congress Avenue", "Austin", "TX", "78701"),
    ("NYC", "85 Broad Street", "New York", "NY", "10004"),
    ("SF", "1 Market Street", "San Francisco", "CA", "94105"),
    ("CHI", "233 S Wacker Drive", "Chicago", "IL", "60606"),
)
START = datetime(2023, 1, 1, tzinfo=timezone.utc)
_MINUTES = tuple(f"T{m // 60:02d}:{m % 60:02d}:00.000Z" for m in range(1440))
_ID_SPACE = 9 * 10**18
_ID_STEP = 2_862_933_555_777_941_757  # coprime with the id space: index -> id is one-to-one


def _numeric_id(seed: int, index: int) -> str:
    return str(10**18 + ((index + 1 + seed * 1_000_003) * _ID_STEP) % _ID_SPACE)


def _uuid(seed: int, label: str) -> str:
    return str(uuid.UUID(bytes=hashlib.sha256(f"{seed}:{label}".encode()).digest()[:16], version=4))


@functools.lru_cache(maxsize=64)
def _day(days: int) -> str:
    return (START + timedelta(days=days)).date().isoformat()


def _minute(index: int) -> str:
    """START + index minutes as a timestamp, without a datetime per call."""
    return _day(index // 1440) + _MINUTES[index % 1440]


def _e164(areas: tuple[str, ...], index: int, seed: int) -> str:
    """Distinct for distinct indexes (below 8 million per area code): a bijection on the subscriber part."""
    area, sub = areas[index % len(areas)], (index // len(areas) * 7_777 + seed * 104_729) % 8_000_000
    return f"+1{area}{200 + sub // 10_000:03d}{sub % 10_000:04d}"


def generate_account(numbers: int, *, seed: int = 0, mobile: int = 0) -> dict[str, Any]:
    """A seed with billing groups, addresses, `numbers` phone numbers and `mobile` mobile numbers."""
    if numbers < 0 or mobile < 0:
        raise ValueError("numbers and mobile must not be negative")
    rng = random.Random(seed)
    groups = [{"id": _uuid(seed, f"group:{i}"), "name": name, "created_at": timestamp(START)}
              for i, name in enumerate(GROUP_NAMES)]
    addresses = [_address(seed, numbers + i, site) for i, site in enumerate(SITES)]
    profiles = [(_uuid(seed, f"profile:{i}"), name) for i, name in enumerate(PROFILE_NAMES)]
    context = {"groups": [g["id"] for g in groups], "addresses": [a["id"] for a in addresses], "profiles": profiles}
    phone_numbers = [_number(rng, seed, i, context) for i in range(numbers)]
    mobiles = [_mobile(rng, seed, numbers + len(SITES) + i, i) for i in range(mobile)]
    return {"billing_groups": groups, "addresses": addresses, "phone_numbers": phone_numbers,
            "mobile_phone_numbers": mobiles}


def _address(seed: int, index: int, site: tuple[str, str, str, str, str]) -> dict[str, Any]:
    reference, street, city, state, postal = site
    return {"id": _numeric_id(seed, index), "customer_reference": f"site-{reference.lower()}",
            "first_name": "Facilities", "last_name": reference, "business_name": "Example Telecom Inc.",
            "street_address": street, "locality": city, "administrative_area": state, "postal_code": postal,
            "country_code": "US", "created_at": timestamp(START)}


def _number(rng: random.Random, seed: int, index: int, context: dict[str, Any]) -> dict[str, Any]:
    roll = rng.random
    toll_free = roll() < 0.03
    created = _minute(index)
    record: dict[str, Any] = {
        "id": _numeric_id(seed, index), "created_at": created, "updated_at": created,
        "phone_number": _e164(TOLL_FREE if toll_free else AREA_CODES, index, seed),
    }
    tags = TAG_SETS[min(bisect.bisect(_TAG_CUMULATIVE, roll()), len(TAG_SETS) - 1)]
    if tags:
        record["tags"] = list(tags)
    if roll() < 0.85:
        record["connection_id"], record["connection_name"] = CONNECTIONS[index % len(CONNECTIONS)]
    if roll() < 0.7:
        record["billing_group_id"] = context["groups"][index % len(context["groups"])]
    if roll() < 0.5:
        record["messaging_profile_id"], record["messaging_profile_name"] = context["profiles"][index % 3]
    if roll() < 0.3:
        record["customer_reference"] = f"acct-{index % 200:04d}"
    if roll() < 0.02:
        record["status"] = INACTIVE[index % len(INACTIVE)]
    elif not toll_free and roll() < 0.25:
        record["emergency_enabled"] = True
        record["emergency_address_id"] = context["addresses"][index % len(context["addresses"])]
    _extras(roll, index, record)
    return record


def _extras(roll: Any, index: int, record: dict[str, Any]) -> None:
    if roll() < 0.01:
        record["deletion_lock_enabled"] = True
    if roll() < 0.05:
        record["external_pin"] = f"{(index * 7_919) % 10_000:04d}"
    if roll() < 0.15:
        record["source_type"] = "port_request"
    if roll() < 0.1:
        record["usage_payment_method"] = "channel"
    if roll() < 0.2:
        record["hd_voice_enabled"] = True
    if roll() < 0.02:
        record["call_forwarding"] = {"forwarding_type": "on-failure", "forwards_to": "+13125550100"}
    if roll() < 0.03:
        record["call_recording"] = {"inbound_call_recording_enabled": True}


def _mobile(rng: random.Random, seed: int, index: int, position: int) -> dict[str, Any]:
    created = _minute(position)
    record: dict[str, Any] = {
        "id": _numeric_id(seed, index), "phone_number": _e164(MOBILE_AREA_CODES, position, seed),
        "sim_card_id": _uuid(seed, f"sim:{position}"), "created_at": created, "updated_at": created,
        "tags": list(rng.choice(TAG_SETS)),
    }
    if rng.random() < 0.5:
        record["connection_id"], record["connection_name"] = CONNECTIONS[position % len(CONNECTIONS)]
    return record
