"""Phone-number background jobs: `/phone_numbers/jobs` and the three kinds of job.

    POST /phone_numbers/jobs/update_phone_numbers        202, job `pending`
    POST /phone_numbers/jobs/update_emergency_settings   202
    POST /phone_numbers/jobs/delete_phone_numbers        202
    GET  /phone_numbers/jobs (filter[type], sort, page; newest first), /phone_numbers/jobs/{id}

Checked when the job is created (the whole request is refused, 422 10015 unless noted): at least
1 and at most 1,000 numbers (`/phone_numbers`); every entry an id or an E.164 number (10016), not
a mix of both, and every number in the account ("You must own every number in the bulk
request"); an update names at least one updatable field (`/updateable_fields`) and an existing
billing group (403 10010, as the spec's example has it); an emergency job gives an address when
enabling (10004) and none when disabling; at most 20 unfinished update or delete jobs, and 500
unfinished emergency jobs (the spec's examples). An update job with an empty `phone_numbers` and
a `filter` takes the first 1,000 matching numbers, newest first.

Checked per number when the job runs (see background.py for when): the number still exists
(10005), is `active` (10015), and for a delete has no deletion lock (10015); for an emergency job
the address exists (10017), for an update the billing group still does (10017). A failed number
appears in `failed_operations` with its `errors[]` (`source.pointer` names its place in the
request, e.g. `/phone_numbers/3`); the others in `successful_operations`. The job ends `completed`
if any number succeeded, `failed` if none did. Until it ends, every number is in
`pending_operations` and nothing has changed.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from ..errors import ApiError, ErrorItem
from ..store import Record, State
from . import phone_number_filters as filters
from . import phone_number_records as pn
from .background import PENDING, Queue, phase, schedule
from .base import Call, Collection, Due, Handler, Reply, paginate, pick
from .listing import Views
from .phone_numbers import check_voice, connection_changes, update_changes

NUMBERS = "phone_numbers"
MAX_NUMBERS = 1000
MAX_UNFINISHED = {"update_phone_numbers": 20, "delete_phone_numbers": 20, "update_emergency_settings": 500}
JOB_UPDATABLE = ("billing_group_id", "connection_id", "customer_reference", "deletion_lock_enabled", "external_pin",
                 "hd_voice_enabled", "tags", "voice")
Target = tuple[str, str, str]  # (number id, E.164, pointer into the request)


def _refuse(detail: str, pointer: str = "/phone_numbers", code: str = "10015", status: int = 422) -> ApiError:
    return ApiError(status, [ErrorItem(code, detail, pointer=pointer)])


class PhoneNumberJobs(Collection):
    name = "phone_number_jobs"
    label = "Phone numbers job"
    id_kind = "uuid"
    schema = "/components/schemas/PhoneNumbersJob"
    seedable = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Queue(self.name, lambda record: record["status"] == PENDING)

    def routes(self) -> dict[tuple[str, str], Handler]:
        return {
            ("GET", "/phone_numbers/jobs"): self.list_all,
            ("GET", "/phone_numbers/jobs/{id}"): self.retrieve,
            ("POST", "/phone_numbers/jobs/update_phone_numbers"): self.post_update,
            ("POST", "/phone_numbers/jobs/update_emergency_settings"): self.post_emergency,
            ("POST", "/phone_numbers/jobs/delete_phone_numbers"): self.post_delete,
        }

    def render(self, state: State, record: Record) -> dict[str, Any]:
        view = {k: v for k, v in record.items() if not k.startswith("_")}
        if record["status"] == PENDING:
            view["status"] = phase(state, record["_starts_at"])
            if view["status"] != PENDING:
                view["updated_at"] = record["_starts_at"]
        return view

    def due(self, state: State) -> list[Due]:
        return self.queue.due(state, lambda ident: self._run(state, ident))

    # -- reading -------------------------------------------------------------------------
    def list_all(self, call: Call) -> Reply:
        kind = (call.query.get("filter") or {}).get("type")
        jobs = [r for r in (call.state.peek(self.name, i) for i in call.state.ids(self.name))
                if r and (kind is None or r["type"] == kind)]
        jobs.sort(key=lambda r: r["created_at"])  # stable: ties stay in creation order
        if "sort" not in call.given:
            jobs.reverse()  # the spec: newest first unless a sort is given
        rows, meta = paginate(jobs, call.query)
        return 200, {"data": [self.render(call.state, r) for r in rows], "meta": meta}

    # -- creating ------------------------------------------------------------------------
    def post_update(self, call: Call) -> Reply:
        fields = pick(call.fields, JOB_UPDATABLE)
        if not any(key != "voice" or value for key, value in fields.items()):
            raise _refuse("You must provide at least 1 updateable field.", "/updateable_fields")
        if fields.get("billing_group_id") and call.state.peek("billing_groups", fields["billing_group_id"]) is None:
            raise _refuse("The specified billing group either does not exist or is not part of your account",
                          "/billing_group_id", code="10010", status=403)
        check_voice({}, fields.get("voice", {}), prefix="/voice")
        given = list(call.fields["phone_numbers"])
        if not given and "filter" in call.given:
            targets = self._by_filter(call.state, call.query["filter"])
        else:
            targets = self._targets(call.state, given)
        return self._create(call.state, "update_phone_numbers", targets, given, update_changes(fields))

    def post_emergency(self, call: Call) -> Reply:
        enabled, address = call.fields["emergency_enabled"], call.fields.get("emergency_address_id")
        if enabled and not address:
            raise _refuse("emergency_address_id is required when emergency_enabled is true.",
                          "/emergency_address_id", code="10004")
        if not enabled and address is not None:
            raise _refuse("emergency_address_id must be null or omitted when emergency_enabled is false.",
                          "/emergency_address_id")
        given = list(call.fields["phone_numbers"])
        changes = {"emergency_enabled": bool(enabled), "emergency_address_id": address if enabled else None}
        return self._create(call.state, "update_emergency_settings", self._targets(call.state, given), given, changes)

    def post_delete(self, call: Call) -> Reply:
        given = list(call.fields["phone_numbers"])
        return self._create(call.state, "delete_phone_numbers", self._targets(call.state, given), given, {})

    def _targets(self, state: State, given: list[str]) -> list[Target]:
        if not given:
            raise _refuse("You must provide at least 1 phone number.")
        if len(given) > MAX_NUMBERS:
            raise _refuse(f"{MAX_NUMBERS} numbers is the maximum allowed.")
        for index, entry in enumerate(given):
            if not (pn.E164.match(entry) or (entry.isascii() and entry.isdigit())):
                raise _refuse(f"'{entry}' is neither a phone number id nor a +E.164 phone number.",
                              f"/phone_numbers/{index}", code="10016")
        if len({entry.startswith("+") for entry in given}) > 1:
            raise _refuse("You must specify either all phone numbers in the e164 format or all as phone number ids")
        targets: dict[str, Target] = {}
        for index, entry in enumerate(given):
            ident = state.lookup(NUMBERS, "phone_number", entry) if entry.startswith("+") else entry
            record = state.peek(NUMBERS, ident) if ident else None
            if record is None:
                raise _refuse("You must own every number in the bulk request")
            targets.setdefault(record["id"], (record["id"], record["phone_number"], f"/phone_numbers/{index}"))
        return list(targets.values())

    def _by_filter(self, state: State, wanted: Mapping[str, Any]) -> list[Target]:
        ids = filters.ordered(state, Views(), filters.predicates(wanted), None, {"filter": wanted})
        records = [state.peek(NUMBERS, i) or {} for i in ids[:MAX_NUMBERS]]
        if not records:
            raise _refuse("You must provide at least 1 phone number.")
        return [(r["id"], r["phone_number"], "/phone_numbers") for r in records]

    def _create(self, state: State, kind: str, targets: list[Target], given: list[str],
                changes: dict[str, Any]) -> Reply:
        unfinished = sum(1 for i in state.ids(self.name)
                         if (job := state.peek(self.name, i)) and job["type"] == kind and job["status"] == PENDING)
        if unfinished >= MAX_UNFINISHED[kind]:
            raise _refuse(f"You can have at most {MAX_UNFINISHED[kind]} pending or in progress jobs", "/base")
        times = schedule(state, self.settings, len(targets))
        shown = given or [number for _, number, _ in targets]
        record: Record = {
            "id": state.new_id("uuid"), "record_type": "phone_numbers_job", "type": kind, "status": PENDING,
            "created_at": times["created_at"], "updated_at": times["created_at"], "etc": times["etc"],
            "phone_numbers": [{"phone_number": n} if n.startswith("+") else {"id": n} for n in dict.fromkeys(shown)],
            "pending_operations": [{"id": i, "phone_number": n} for i, n, _ in targets],
            "successful_operations": [], "failed_operations": [],
            "_starts_at": times["starts_at"], "_targets": [list(t) for t in targets], "_changes": changes,
        }
        return 202, {"data": self.render(state, state.insert(self.name, record))}

    # -- running -------------------------------------------------------------------------
    def _run(self, state: State, ident: str) -> None:
        job = state.get(self.name, ident)
        if job is None or job["status"] != PENDING:
            return
        apply = self._effects()[job["type"]]
        done, failed = [], []
        with state.batch():
            for number_id, number, pointer in job["_targets"]:
                problems = apply(state, job, number_id, pointer)
                entry = {"id": number_id, "phone_number": number}
                if problems:
                    failed.append({**entry, "errors": [p.to_json() for p in problems]})
                else:
                    done.append(entry)
            finished = {k: v for k, v in job.items() if k not in ("_targets", "_changes")}
            finished.update(status="completed" if done else "failed", updated_at=job["etc"], pending_operations=[],
                            successful_operations=done, failed_operations=failed)
            state.replace(self.name, ident, finished)

    def _effects(self) -> dict[str, Callable[[State, Record, str, str], list[ErrorItem]]]:
        return {"update_phone_numbers": _update, "update_emergency_settings": _emergency,
                "delete_phone_numbers": _delete}


def _current(state: State, number_id: str, pointer: str) -> tuple[Record | None, list[ErrorItem]]:
    record = state.peek(NUMBERS, number_id)
    if record is None:
        return None, [ErrorItem("10005", f"Phone number '{number_id}' was not found.", pointer=pointer)]
    problem = pn.inactive_problem(record, pointer)
    return (None, [problem]) if problem else (record, [])


def _store(state: State, record: Record, changes: Mapping[str, Any], when: str) -> None:
    state.replace(NUMBERS, record["id"], pn.changed(record, changes, when))


def _update(state: State, job: Record, number_id: str, pointer: str) -> list[ErrorItem]:
    record, problems = _current(state, number_id, pointer)
    if record is None:
        return problems
    changes = dict(job["_changes"])
    voice = changes.pop("voice", {}) or {}
    try:
        pn.check_references(state, changes)
        check_voice(record, voice, prefix="/voice")
    except ApiError as exc:
        return exc.items
    _store(state, record, {**connection_changes(record, changes), **voice}, job["etc"])
    return []


def _emergency(state: State, job: Record, number_id: str, pointer: str) -> list[ErrorItem]:
    record, problems = _current(state, number_id, pointer)
    if record is None:
        return problems
    changes = job["_changes"]
    try:
        pn.check_references(state, changes)
    except ApiError as exc:
        return exc.items
    _store(state, record, {**changes, "emergency_status": None, "_emergency_ready_at": None}, job["etc"])
    return []


def _delete(state: State, job: Record, number_id: str, pointer: str) -> list[ErrorItem]:
    record, problems = _current(state, number_id, pointer)
    if record is None:
        return problems
    locked = pn.locked_problem(record, pointer)
    if locked:
        return [locked]
    state.delete(NUMBERS, number_id)
    return []

