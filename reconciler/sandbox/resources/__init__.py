"""The registry of implemented collections: one module per collection, listed once here.

Adding a collection (phone numbers, mobile numbers, integration secrets, port-outs) is one new
module with a `Collection` subclass and one line in `COLLECTIONS`.
"""

from __future__ import annotations

from .access_ips import AccessIps
from .addresses import Addresses
from .base import Call, Collection, Handler, Reply
from .billing_groups import BillingGroups
from .sso_providers import SsoProviders

COLLECTIONS: tuple[type[Collection], ...] = (BillingGroups, AccessIps, Addresses, SsoProviders)


def build_collections() -> dict[str, Collection]:
    return {cls.name: cls() for cls in COLLECTIONS}


__all__ = ["COLLECTIONS", "Call", "Collection", "Handler", "Reply", "build_collections"]
