"""Seeds: reading a seed file and filling a fresh sandbox from it.

A seed is a mapping from collection name to a list of resources in API shape:

    billing_groups: [{name: Ops}]
    access_ips:     [{ip_address: 203.0.113.7, description: office}]
    addresses:      [{first_name: .., last_name: .., business_name: .., street_address: ..,
                      locality: .., country_code: US}]
    sso_providers:  [{name: Okta, short_name: myorg, settings: {idp_entity_id: .., ...}}]

    phone_numbers:  [{phone_number: "+13125550001", tags: [sales], billing_group_id: ..}]
    mobile_phone_numbers: [{phone_number: "+13125559001", sim_card_id: ..}]

Entries may be partial (the sandbox fills ids, timestamps and defaults, as on create) or fully
specified (with `id`, `created_at`, ...), e.g. copied from a real account's API responses.
Collections are applied in registry order (billing groups and addresses before the numbers that
name them, whatever the order in the file), and references must resolve: a number's
`billing_group_id` must be a seeded billing group's `id`, its `emergency_address_id` a seeded
address's `id`, so a seed that links them gives those ids explicitly.

A phone number entry needs `phone_number` (E.164) and may give:

    id, created_at, updated_at, purchased_at, activated_at     ids and times (filled when absent;
                                                                purchased_at/activated_at follow created_at)
    status                      active (default) or another listed status, e.g. port-out-pending
    country_iso_alpha2, phone_number_type, source_type          derived from the number when absent
    tags, connection_id, connection_name, billing_group_id, customer_reference, external_pin,
    deletion_lock_enabled, hd_voice_enabled, address_id
    emergency_enabled, emergency_address_id, emergency_status   enabled needs an address
    messaging_profile_id, messaging_profile_name, messaging_product
    caller_id_name_enabled, inbound_call_screening, tech_prefix_enabled, translated_number,
    usage_payment_method, call_forwarding, call_recording, cnam_listing, media_features   (voice settings)

plus, ignored, the read-only flags of a copied API response (`record_type`,
`call_forwarding_enabled`, ...: a flag is moved into its voice settings group when that group is
not given). Other fields are refused. Defaults are those of `phone_number_records.DEFAULTS`.

A mobile phone number entry needs `phone_number` and may give `id`, `created_at`, `updated_at`,
`country_iso_alpha2`, `status`, `tags`, `sim_card_id`, `connection_id`, `connection_name`,
`connection_type`, `customer_reference`, `caller_id_name_enabled`, `inbound_call_screening`,
`noise_suppression`, `mobile_voice_enabled`, `messaging_profile_id`, `messaging_product` and the
groups `call_forwarding`, `call_recording`, `cnam_listing`, `inbound`, `outbound`.

An integration secret entry is a create body: `identifier`, `type` (bearer | basic) and `token`,
or `username` and `password`, plus optional `id`, `created_at`, `updated_at`. The value is kept only
as a salted hash (integration_secrets.py), so a state file never holds it.

    integration_secrets: [{identifier: crm_token, type: bearer, token: ..}]

A port-out entry needs `phone_numbers` (E.164) and may give any PortoutDetails field (`id`,
`status` (default pending), `carrier_name`, `spid`, `support_key` (generated when absent), `pon`,
`end_user_name`, `created_at`, `foc_date`, `requested_foc_date`, `reason`, `rejection_code`, ...)
plus these, which no response shows:

    country_code, ported_out_at, customer_reference      what the list and report filters read
    rejection_codes: [{code: 1002, description: Invalid PIN, reason_required: false}]
                                                          default: portouts.DEFAULT_REJECTIONS
    comments: [{body: .., created_at: .., user_id: ..}]
    supporting_documents: [{type: loa, document_id: <uuid>, created_at: ..}]

    portouts: [{phone_numbers: ["+13125550004"], carrier_name: Acme, spid: 987H,
                created_at: "2024-05-01T00:00:00Z", requested_foc_date: "2024-05-08"}]

An order's clock runs from its `created_at`: a pending one seeded more than 48 hours in the past is
authorized (and perhaps ported) at the first request, with its events; see portouts.py.

Each resulting resource is checked against the spec's resource schema: every one in a collection
of up to `VALIDATE_ALL` entries (any hand-written seed), an even sample of `SAMPLE` of a larger one
(`generate.generate_account` builds 100,000 numbers in well under a second; checking each would
take a minute). Jobs, port-out events and reports cannot be seeded. A seed is applied only to a
fresh state: a sandbox restored from its state file ignores it.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any, Mapping

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from .errors import ApiError
from .resources import Collection
from .spec import Spec
from .store import State, StateError, timestamp

VALIDATE_ALL = 1_000
SAMPLE = 200


class SeedError(ValueError):
    """A seed that cannot be read or applied; the message names the entry."""


def load_seed(path: str | Path) -> dict[str, list[dict[str, Any]]]:
    """Read a YAML or JSON seed file (by suffix; YAML otherwise)."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
        data = json.loads(text) if source.suffix.lower() == ".json" else YAML(typ="safe", pure=True).load(text)
    except (OSError, ValueError, YAMLError) as exc:
        raise SeedError(f"cannot read seed {source}: {str(exc)[:300]}") from None
    except RecursionError:
        raise SeedError(f"cannot read seed {source}: it is nested too deeply") from None
    return check_seed(_plain(data) if data is not None else {}, str(source))


def check_seed(data: Any, origin: str = "seed") -> dict[str, list[dict[str, Any]]]:
    if not isinstance(data, Mapping):
        raise SeedError(f"{origin}: expected a mapping of collection name to a list of resources")
    for name, entries in data.items():
        if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
            raise SeedError(f"{origin}: '{name}' must be a list of mappings")
    # Entries are not copied (a generated seed has 100,000): the sandbox keeps them, so do not change
    # a seed after handing it over.
    return {str(k): [e if type(e) is dict else dict(e) for e in v] for k, v in data.items()}


def _plain(value: Any) -> Any:
    """YAML turns unquoted timestamps into datetimes; the API speaks strings."""
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def apply_seed(state: State, collections: Mapping[str, Collection], seed: Mapping[str, Any], spec: Spec) -> None:
    seed = check_seed(seed)
    for name in seed:
        if name not in collections:
            raise SeedError(f"unknown seed collection '{name}'; known: {', '.join(sorted(collections))}")
        if not collections[name].seedable and seed[name]:
            raise SeedError(f"'{name}' cannot be seeded")
    with state.batch():
        for name, collection in collections.items():
            entries = seed.get(name, [])
            step = 1 if len(entries) <= VALIDATE_ALL else max(1, len(entries) // SAMPLE)
            for index, entry in enumerate(entries):
                _apply_entry(state, collection, entry, f"{name}[{index}]", spec if index % step == 0 else None)


def _apply_entry(state: State, collection: Collection, entry: dict[str, Any], where: str, spec: Spec | None) -> None:
    try:
        record = collection.create(state, entry)
    except (ApiError, StateError, KeyError, TypeError, AttributeError, ValueError) as exc:
        raise SeedError(f"{where}: {exc}") from exc
    if spec is None:
        return
    rendered = collection.render(state, record)
    problems = [f"{'/'.join(map(str, e.absolute_path)) or '/'}: {e.message}"
                for e in spec.validator(collection.schema).iter_errors(rendered)]
    if problems:
        raise SeedError(f"{where}: " + "; ".join(problems))
