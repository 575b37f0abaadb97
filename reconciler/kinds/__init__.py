"""The registry of resource kinds: one entry per kind, in no particular order (order.py sorts by
dependencies). A new kind is a module in this package and one line here. Policies, which decide rather
than exist (the port-out policy), have their own registry in policies/__init__.py."""

from __future__ import annotations

from reconciler.kinds.access_ips import AccessIps
from reconciler.kinds.addresses import Addresses
from reconciler.kinds.base import Kind
from reconciler.kinds.billing_groups import BillingGroups
from reconciler.kinds.integration_secrets import IntegrationSecrets
from reconciler.kinds.mobile_phone_numbers import MobilePhoneNumbers
from reconciler.kinds.phone_numbers import PhoneNumbers
from reconciler.kinds.sso_providers import SsoProviders
from reconciler.states import Entry, LiveResource

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        BillingGroups(),
        AccessIps(),
        Addresses(),
        SsoProviders(),
        PhoneNumbers(),
        MobilePhoneNumbers(),
        IntegrationSecrets(),
    )
}

__all__ = ["KINDS", "Entry", "Kind", "LiveResource"]
