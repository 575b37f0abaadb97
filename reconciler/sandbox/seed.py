"""Seeds: reading a seed file and filling a fresh sandbox from it.

A seed is a mapping from collection name to a list of resources in API shape:

    billing_groups: [{name: Ops}]
    access_ips:     [{ip_address: 203.0.113.7, description: office}]
    addresses:      [{first_name: .., last_name: .., business_name: .., street_address: ..,
                      locality: .., country_code: US}]
    sso_providers:  [{name: Okta, short_name: myorg, settings: {idp_entity_id: .., ...}}]

Entries may be partial (the sandbox fills ids, timestamps and defaults, as on create) or fully
specified (with `id`, `created_at`, ...), e.g. copied from a real account's API responses. Each
resulting resource must satisfy the spec's resource schema. A seed is applied only to a fresh
state: a sandbox restored from its state file ignores it.
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


class SeedError(ValueError):
    """A seed that cannot be read or applied; the message names the entry."""


def load_seed(path: str | Path) -> dict[str, list[dict[str, Any]]]:
    """Read a YAML or JSON seed file (by suffix; YAML otherwise)."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
        data = json.loads(text) if source.suffix.lower() == ".json" else YAML(typ="safe", pure=True).load(text)
    except (OSError, ValueError, YAMLError) as exc:
        raise SeedError(f"cannot read seed {source}: {exc}") from exc
    return check_seed(_plain(data) if data is not None else {}, str(source))


def check_seed(data: Any, origin: str = "seed") -> dict[str, list[dict[str, Any]]]:
    if not isinstance(data, Mapping):
        raise SeedError(f"{origin}: expected a mapping of collection name to a list of resources")
    for name, entries in data.items():
        if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
            raise SeedError(f"{origin}: '{name}' must be a list of mappings")
    return {str(k): [dict(e) for e in v] for k, v in data.items()}


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
    with state.batch():
        for name, entries in seed.items():
            if name not in collections:
                raise SeedError(f"unknown seed collection '{name}'; known: {', '.join(sorted(collections))}")
            for index, entry in enumerate(entries):
                _apply_entry(state, collections[name], entry, f"{name}[{index}]", spec)


def _apply_entry(state: State, collection: Collection, entry: dict[str, Any], where: str, spec: Spec) -> None:
    try:
        record = collection.create(state, entry)
    except (ApiError, StateError, KeyError, TypeError) as exc:
        raise SeedError(f"{where}: {exc}") from exc
    rendered = collection.render(state, record)
    problems = [f"{'/'.join(map(str, e.absolute_path)) or '/'}: {e.message}"
                for e in spec.validator(collection.schema).iter_errors(rendered)]
    if problems:
        raise SeedError(f"{where}: " + "; ".join(problems))
