"""A local, stateful Telnyx API v2 that keeps to Telnyx's OpenAPI contract.

It is the test double for the reconciler and the account a new user tries the tool on. Requests
and responses are checked against the vendored spec (`openapi-subset.json`), and errors use the
envelope each API area declares.

    sandbox = Sandbox(seed={"billing_groups": [{"name": "Ops"}]})
    client = httpx.Client(transport=sandbox.transport(), base_url="http://sandbox.local/v2",
                          headers={"Authorization": "Bearer sandbox-key"})
    with sandbox.serve() as base_url:      # or over a real loopback socket
        ...

Collections (state and seed names) and their endpoints:

    billing_groups   /billing_groups, /billing_groups/{id}
    access_ips       /access_ip_address, /access_ip_address/{access_ip_address_id}
    addresses        /addresses, /addresses/{id}
    sso_providers    /authentication_providers, /authentication_providers/{id}

Module map: `app` (the request pipeline and `Sandbox`), `spec` (contract loading, matching,
validation helpers), `query` (deepObject query parsing), `errors` (Telnyx error items),
`store` (state and persistence), `limits` (rate limit, faults), `seed` (seed files),
`server` (HTTP serving), `resources/` (one module per collection).
"""

from __future__ import annotations

from .app import RecordedRequest, Sandbox, SandboxResponse
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
    "load_seed",
    "serve_forever",
]
