"""The registry of implemented collections: one module per collection, listed once here.

Adding a collection (integration secrets, port-outs) is one new module with a `Collection`
subclass and one line in `COLLECTIONS`. The order matters to seeds: a seed is applied in this
order, so what is referenced (billing groups, addresses) exists before what references it.
"""

from __future__ import annotations

from .access_ips import AccessIps
from .addresses import Addresses
from .base import Call, Collection, Due, Handler, Reply, SandboxSettings
from .billing_groups import BillingGroups
from .integration_secrets import IntegrationSecrets
from .messaging_bulk_updates import MessagingBulkUpdates
from .mobile_phone_numbers import MobilePhoneNumbers
from .phone_number_jobs import PhoneNumberJobs
from .phone_numbers import PhoneNumbers
from .portout_events import PortoutEvents
from .portout_reports import PortoutReports
from .portouts import Portouts
from .sso_providers import SsoProviders

COLLECTIONS: tuple[type[Collection], ...] = (
    BillingGroups, AccessIps, Addresses, SsoProviders, PhoneNumbers, MobilePhoneNumbers, PhoneNumberJobs,
    MessagingBulkUpdates,
    IntegrationSecrets, Portouts, PortoutEvents, PortoutReports,
)


def build_collections(settings: SandboxSettings | None = None) -> dict[str, Collection]:
    return {cls.name: cls(settings) for cls in COLLECTIONS}


__all__ = ["COLLECTIONS", "Call", "Collection", "Due", "Handler", "Reply", "SandboxSettings", "build_collections"]
