"""A local, stateful Telnyx API v2 that keeps to Telnyx's OpenAPI contract.

It is the test double for the reconciler and the account a new user tries the tool on. Requests
and responses are checked against the vendored spec (`openapi-subset.json`), and errors use the
envelope each API area declares. Every behaviour it simulates beyond the shapes (timings, limits,
which refusal uses which code) is listed in docs/sandbox-behaviour.md, marked documented (with
where) or assumed.

    sandbox = Sandbox(seed={"billing_groups": [{"name": "Ops"}]})
    client = httpx.Client(transport=sandbox.transport(), base_url="http://sandbox.local/v2",
                          headers={"Authorization": "Bearer sandbox-key"})
    with sandbox.serve() as base_url:      # or over a real loopback socket
        ...

Collections (state and seed names) and their endpoints:

    billing_groups          /billing_groups, /billing_groups/{id}
    access_ips              /access_ip_address, /access_ip_address/{access_ip_address_id}
    addresses               /addresses, /addresses/{id}, /addresses/actions/validate,
                            /addresses/{id}/actions/accept_suggestions
    sso_providers           /authentication_providers, /authentication_providers/{id}
    phone_numbers           /phone_numbers, /phone_numbers/{id}, .../{id}/voice, .../{id}/messaging,
                            /phone_numbers/slim, /voice, /messaging, .../{id}/actions/enable_emergency,
                            /phone_numbers/actions/verify_ownership, .../{id}/actions/bundle_status_change
    mobile_phone_numbers    /v2/mobile_phone_numbers, /v2/mobile_phone_numbers/{id} (the spec's own /v2),
                            /mobile_phone_numbers/messaging, /mobile_phone_numbers/{id}/messaging
    phone_number_jobs       /phone_numbers/jobs, /phone_numbers/jobs/{id}, /phone_numbers/jobs/update_phone_numbers,
                            .../update_emergency_settings, .../delete_phone_numbers   (not seedable)
    messaging_bulk_updates  /messaging_numbers_bulk_updates, /messaging_numbers_bulk_updates/{order_id}
    integration_secrets     /integration_secrets (list, create), /integration_secrets/{id} (delete); values are
                            never returned
    portouts                /portouts, /portouts/{id}, PATCH /portouts/{id}/{status}, .../{id}/comments,
                            .../{id}/supporting_documents, /portouts/rejections/{portout_id}   (seeded only:
                            another carrier opens an order; its numbers go port-out-pending, then ported-out)
    portout_events          /portouts/events, /portouts/events/{id}, .../{id}/republish   (not seedable)
    portout_reports         /portouts/reports, /portouts/reports/{id}   (not seedable)

Large accounts: `generate_account(100_000)` builds a varied, reproducible seed; lists cost
O(page size); with a `state_path`, changes to a large account go to a journal beside the state
file (`close()` folds it in). Background jobs run on the sandbox clock: `job_seconds` and
`job_seconds_per_number` time them, and they advance on each request (or `Sandbox.advance()`).
Port-out orders move on the same clock: authorized when unanswered, ported at their FOC date; event
payloads and reports complete `job_seconds` after they were made.

Module map: `app` (the request pipeline and `Sandbox`), `spec` (contract loading, matching,
validation helpers), `query` (deepObject query parsing), `errors` (Telnyx error items),
`store` (state, indexes), `persistence` (snapshot and journal), `limits` (rate limit, faults),
`seed` (seed files and format), `generate` (generated accounts), `server` (HTTP serving),
`resources/` (one module per collection, plus `listing` and `background` they share).
"""

from __future__ import annotations

from .app import RecordedRequest, Sandbox, SandboxResponse
from .generate import generate_account
from .seed import SeedError, load_seed
from .server import serve_forever
from .store import State, StateError

__all__ = [
    "RecordedRequest",
    "Sandbox",
    "SandboxResponse",
    "SeedError",
    "State",
    "StateError",
    "generate_account",
    "load_seed",
    "serve_forever",
]
