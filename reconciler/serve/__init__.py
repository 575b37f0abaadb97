"""`telnyx-reconciler serve`: answer port-outs as they arrive.

A receiver for Telnyx's signed `portout.status_changed` webhooks, with a catch-up from the events API for
anything a webhook missed. Each pending order is decided by the port-out policy in the config, through the
engine's own plan and apply (`pipeline.plan_from_account` with a `--target` on the order, `apply_plan`).

    signature.py   Ed25519 verification of a delivery (cryptography), the timestamp window
    memory.py      the event ids seen and the events cursor, in a small file saved atomically
    config.py      the config, reloaded when its files change or on SIGHUP; a bad one keeps the last good
    decide.py      one order: plan, re-read, answer once; one JSON log line per decision; notifications
    receiver.py    the running parts: decision workers, the catch-up loop, the config watcher, health
    app.py         the starlette application (POST /webhooks/telnyx, GET /healthz); the only starlette import
    server.py      uvicorn on a socket bound here (loopback by default); the only uvicorn import

Nothing here prints or exits: the CLI (`reconciler/cli/serve.py`) does. Only the CLI command imports this
package, and only when `serve` runs, so the rest of the tool does not load starlette or uvicorn.
"""
