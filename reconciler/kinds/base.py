"""The interface every resource kind implements, and the REST behaviour most kinds share.

A kind owns: its config model (pydantic, extra="forbid"), its natural key, how a live API object maps to
the config's shape (`from_api`) and back (`to_api`), and its calls (fetch, create, update, delete). The
engine never looks inside a kind beyond this interface.

Most kinds are plain REST collections and only set class attributes and `from_api`. A kind whose API
works differently (phone numbers: no create, batch jobs) implements the optional hooks `confirm` and
`confirm_unlisted` (what only the API can tell before a plan; see `Confirms`, `ConfirmsUnlisted`) and
overrides `apply_steps` (how a batch of steps is carried out).

How a kind plugs into the diff. There is one diff, diff.py's loop; no kind compares by itself. The loop
pairs each entry with its live resource by key and compares the entry's values with the live ones at the
same places. A kind declares what the loop needs to know, and overrides a hook only where it has
something to decide:
- `names`: fields that name another kind's resource (a number's `billing_group`), with the live field
  holding its id; the loop checks the names exist and compares the live id by its name;
- `flattened`: settings groups the API spreads over top-level fields (a number's `emergency_enabled`);
- `fingerprinted`, `material`, `write_only_words`, `keeps_unverified`: fields the API never shows back,
  compared by the fingerprint of what the tool last wrote (fingerprint.py);
- `never_created`: why an entry whose resource the account lacks is an error, not a create;
- `left_alone`: a live resource the tool must not change while it is in some state;
- `removal_field` and `removal`: the entry field that asks for the resource to be deleted (a number's
  `release: true`), and what the kind says of that delete; asked only of entries that set the field;
- `pick_newest`: which of several live resources with one key the entry manages;
- `immutable`, `replace_reason`, `create_only`, `control_fields`: what is replaced, and what is compared;
- `review` (optional, `Reviews`): filter or add to what the loop found (notes, changes it would rather note,
  plans it refuses).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from reconciler.compare import project
from reconciler.errors import ApiProblem, ConfigIssue, PartialFailure, ReconcilerError, UnreadableAnswerError
from reconciler.kinds import required
from reconciler.plan import Action, Attention, Change, Op, Step
from reconciler.states import Entry, LiveResource

if TYPE_CHECKING:
    from reconciler.api import Api
    from reconciler.states import DesiredState, Source

@dataclass(frozen=True)
class NameRef:
    """A config field that names another kind's resource, and the live field that holds its id: the diff
    checks that the name exists and shows the live id by its name (kinds/base.py's `names`)."""

    field: str  # the entry's field, or a setting of a flattened group: "billing_group", "emergency.address"
    kind: str  # the kind named, e.g. "addresses"
    live_id: str  # top-level live attribute with the named resource's id, e.g. "emergency_address_id"
    # What the named resource is used for, in words after "use it" ("for emergency services"): the plan then
    # notes, for each one being replaced, how many use it and which of them the config does not move.
    used_for: str = ""

    @cached_property
    def parts(self) -> tuple[str, str]:
        """The entry's field and the setting inside it ("" for a field itself), split once: read for every entry."""
        top, _, inside = self.field.partition(".")
        return top, inside


@dataclass(frozen=True)
class WriteOnlyWords:
    """What a plan says of write-only fields ({fields}: their names) that differ from the tool's record, or
    that it has no record of; and, for a kind whose entries may keep an unverified value, the note that
    says so ({name}[{key}]: the resource)."""

    changed: str = "{fields} changed"
    unverified: str = ("{fields} unverified: the API does not show it, and the tool has not set it before; "
                       "setting it lets the tool recognise it from now on")
    kept: str = ""


@dataclass(frozen=True)
class Removal:
    """An entry's request that its live resource be deleted: why, for the plan; whether it can be undone;
    and, when the tool will not delete it, a note saying why instead."""

    reason: str
    irreversible: bool = False
    refused: str = ""


@dataclass
class KindDiff:
    """What comparing one kind produced: changes, words for the reader, items left to a person, and
    problems that stop the plan."""

    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    attention: list[Attention] = field(default_factory=list)
    issues: list[ConfigIssue] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Names(Protocol):
    """Names of other kinds' live resources by id (a DiffContext is one; export has its own)."""

    def key_of_id(self, kind: str, live_id: str) -> str | None: ...


class DiffContext(Protocol):
    """What a kind may ask about the rest of the plan while it compares (see diff.py)."""

    def key_of_id(self, kind: str, live_id: str) -> str | None: ...
    def doomed(self, kind: str, live_id: str) -> bool: ...
    def known(self, kind: str, key: str) -> bool: ...
    def source(self, kind: str, key: str) -> Source | None: ...
    def fingerprint(self, kind: str, key: str, material: dict[str, Any]) -> str: ...
    def recorded(self, kind: str, key: str, live_id: str) -> str | None: ...
    def in_use(self, live_id: str) -> bool: ...
    def leftover(self, kind: str, live_id: str) -> bool: ...


class ApplyContext(Protocol):
    """What a kind may ask while it applies (see apply.py)."""

    def resolve(self, kind: str, key: str) -> str: ...
    def record_created(self, kind: str, key: str, live_id: str) -> None: ...
    def progress(self, kind: str, done: int, total: int, what: str) -> None: ...
    def step_done(self, step: Step) -> None: ...
    def steps_done(self, steps: list[Step]) -> None: ...


# Optional hooks: a kind implements one only when it has something to say, and the engine asks only the kinds
# that do (isinstance), as a provider framework checks for an optional interface.


@runtime_checkable
class Confirms(Protocol):
    def confirm(self, api: Api, entries: list[Entry], live: list[LiveResource], desired: DesiredState) -> KindDiff:
        """Ask the API what reading the kind does not tell, before a plan is made (is an address valid): notes
        to show, and issues or errors that stop the plan."""
        ...


@runtime_checkable
class ConfirmsUnlisted(Protocol):
    def confirm_unlisted(self, api: Api, unlisted: list[str]) -> KindDiff:
        """Ask the API about keys the config lists that the kind's list did not return (numbers owned but not
        listed yet), before the plan calls them missing: errors that stop the plan, or notes."""
        ...


@runtime_checkable
class Reviews(Protocol):
    def review(self, result: KindDiff, entries: list[Entry], live: list[LiveResource], ctx: DiffContext) -> None:
        """Filter or add to what the comparison found (a change the kind would rather note, a plan it must
        refuse)."""
        ...


class Kind:
    """A resource kind served by a plain REST collection: list, POST, PATCH /{id}, DELETE /{id}.

    Subclasses set the class attributes and `from_api`; they override a method only where the API differs.
    """

    name: ClassVar[str]  # top-level config key, e.g. "billing_groups"
    title: ClassVar[str]  # one resource in words, e.g. "billing group"
    model: ClassVar[type[Entry]]
    key_field: ClassVar[str]
    path: ClassVar[str]  # collection path under the API base URL
    depends_on: ClassVar[tuple[str, ...]] = ()
    # Fields whose change cannot be made in place. None: nothing can be updated (the API has no update call).
    immutable: ClassVar[frozenset[str] | None] = frozenset()
    # Fields the spec's create request requires (dotted inside nested objects); a test checks them against the spec.
    create_required: ClassVar[tuple[str, ...]] = ()
    # Fields sent on create but never read back (so never compared), e.g. a metadata URL the API consumes.
    create_only: ClassVar[frozenset[str]] = frozenset()
    # Entry fields that steer the tool rather than describe the resource (never compared or sent).
    control_fields: ClassVar[frozenset[str]] = frozenset()
    # The control field by which an entry asks for its live resource to be deleted; empty: none can.
    removal_field: ClassVar[str] = ""
    # Fields naming other kinds' resources: checked to exist, and compared by the name of the live id.
    names: ClassVar[tuple[NameRef, ...]] = ()
    # Settings groups that the API spreads over top-level fields named `{group}_{setting}`.
    flattened: ClassVar[frozenset[str]] = frozenset()
    # Fields holding secrets: only ${env:..}/${file:..} in the YAML, shown as (sensitive), never exported.
    sensitive: ClassVar[frozenset[str]] = frozenset()
    # Sensitive fields the API never returns: state.py keeps a keyed fingerprint of what the tool wrote.
    fingerprinted: ClassVar[frozenset[str]] = frozenset()
    # How a resource that cannot change in place is replaced: the new one first (things point at it), or
    # the old one first (its key is unique in the account).
    replace_action: ClassVar[Action] = Action.CREATE_BEFORE_DELETE
    write_only_words: ClassVar[WriteOnlyWords] = WriteOnlyWords()
    # Why an entry whose resource the account lacks stops the plan instead of being created; empty: created.
    never_created: ClassVar[str] = ""
    # Of several live resources with one key, the entry manages the newest (else the one holding its values).
    pick_newest: ClassVar[bool] = False
    replace_reason: ClassVar[str] = ""
    prunable: ClassVar[bool] = True
    # Values most exported entries share, written once under `defaults:` when every entry sets them.
    export_defaults: ClassVar[dict[str, Any]] = {}

    @property
    def leaves_leftovers(self) -> bool:
        """Whether a replace of this kind can leave the old resource behind: it can be replaced, and the new
        one is created first (state.py records the old one until it is deleted)."""
        return self.replace_action is Action.CREATE_BEFORE_DELETE and self.immutable != frozenset()

    # --- mapping -------------------------------------------------------------------------------------

    def from_api(self, raw: dict[str, Any]) -> LiveResource | None:
        """The live object in config shape, or None when the tool does not own it."""
        raise NotImplementedError

    def to_api(self, values: dict[str, Any]) -> dict[str, Any]:
        """A request body from config-shaped values (fields that steer the tool left out)."""
        return {k: v for k, v in values.items() if k not in self.control_fields}

    def missing_for_create(self, values: dict[str, Any]) -> list[str]:
        """Fields the spec's create request requires that a create from `values` would lack."""
        return required.missing(self.create_required, self.to_api(values))

    def desired_view(self, entry: Entry) -> dict[str, Any]:
        """What an entry asks for, as compared with the account (create-only and control fields left out)."""
        hidden = self.hidden
        managed = entry.managed()
        return {k: v for k, v in managed.items() if k not in hidden} if not hidden.isdisjoint(managed) else managed

    @cached_property
    def hidden(self) -> frozenset[str]:
        """Fields an entry sets that are not compared with the account: create-only and control fields."""
        return self.create_only | self.control_fields

    def key_of(self, entry: Entry) -> str:
        return str(getattr(entry, self.key_field))

    def material(self, values: dict[str, Any]) -> dict[str, Any]:
        """What the fingerprint of a resource's write-only values covers."""
        return {k: values.get(k) for k in sorted(self.fingerprinted)}

    def export(self, live: LiveResource, names: Names) -> dict[str, Any] | None:
        """A config entry that, planned against this live resource, shows no change (None: it cannot be
        written, e.g. a secret whose value the API never returns). `names` turns ids of other kinds'
        resources into the names a config uses. Sensitive fields are never exported."""
        return {k: v for k, v in live.attrs.items() if v is not None}

    # --- hooks for kinds that are not plain REST -------------------------------------------------------

    def keeps_unverified(self, entry: Entry) -> bool:
        """Whether the entry keeps a write-only value the tool has no record of, rather than writing it."""
        return False

    def left_alone(self, live: LiveResource) -> str | None:
        """Why a live resource that differs from the config must not be changed now, in words that follow
        "N <title>(s) differ from the config but" (a number being ported out); None: it may be."""
        return None

    def removal(self, live: LiveResource) -> Removal:
        """What the delete of a live resource whose entry sets `removal_field` is: why, whether it can be
        undone, or why the tool refuses it."""
        return Removal(f"{self.removal_field}: the entry asks for it to be deleted")

    def apply_steps(self, api: Api, steps: list[Step], ctx: ApplyContext) -> None:
        """Carry out consecutive steps of this kind with one op; raise PartialFailure naming what failed."""
        for step in steps:
            try:
                self.run_step(api, step, ctx)
            except ReconcilerError as exc:
                raise PartialFailure(exc, [(step.change, exc.message)]) from exc
            ctx.step_done(step)

    def run_step(self, api: Api, step: Step, ctx: ApplyContext) -> None:
        change = step.change
        if step.op is Op.CREATE:
            replacing = change.live_id if change.action.replaces else None
            created = self.create(api, change.after or {}, replacing=replacing)
            ctx.record_created(self.name, change.key, created.id)
        elif step.op is Op.UPDATE:
            changed = {f.path.split(".")[0] for f in change.fields}
            self.update(api, str(change.live_id), {k: v for k, v in (change.after or {}).items() if k in changed})
        else:
            self.delete(api, str(change.live_id))

    # --- calls ---------------------------------------------------------------------------------------

    def fetch(self, api: Api, fields: frozenset[str] = frozenset()) -> list[LiveResource]:
        """Every owned live resource. `fields` names the config fields in use, for kinds that can read less."""
        found = api.list_all(self.path, transform=self.from_api)
        return [resource for resource in found if resource is not None]

    def lookup_params(self, key: str) -> dict[str, Any] | None:
        """List filters that narrow a lookup by natural key, where the API has them."""
        return None

    def find_raw(self, api: Api, key: str, replacing: str | None = None,
                 values: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """The newest live object with this natural key; used to recover from a create whose answer was lost.

        For the create of a replace, the resource being replaced has the same key: it is never the one
        looked for, and only an object holding the new `values` (where the API shows them) is."""
        matches = []
        for raw in api.list_all(self.path, self.lookup_params(key)):
            resource = self.from_api(raw)
            if resource is None or resource.key != key or (replacing is not None and resource.id == replacing):
                continue
            if values is None or self.holds(resource, values):
                matches.append((resource.created_at, raw))
        return max(matches, key=lambda pair: pair[0])[1] if matches else None

    def holds(self, resource: LiveResource, values: dict[str, Any]) -> bool:
        """Whether a live resource holds these config-shaped values, as far as the API shows them."""
        hidden = self.create_only | self.control_fields | self.sensitive
        shown = {k: v for k, v in values.items() if k in resource.attrs and k not in hidden}
        return project(resource.attrs, shown, self.model) == shown

    def create(self, api: Api, values: dict[str, Any], replacing: str | None = None) -> LiveResource:
        """POST a new resource; `replacing` is the id of the live one a replace creates it for."""
        key = str(values[self.key_field])
        raw = api.create(
            self.path,
            self.to_api(values),
            what=f"creating {self.title} {key!r}",
            recover=lambda: self.find_raw(api, key, replacing, values if replacing is not None else None),
        )
        try:
            created = self.from_api(raw)
        except (KeyError, TypeError, ValueError, AttributeError):
            created = None
        if created is None:
            problem = ApiProblem(detail=f"the answer is not a {self.title} the tool can read back")
            raise UnreadableAnswerError(200, f"creating {self.title} {key!r}", [problem])
        return created

    def update(self, api: Api, live_id: str, values: dict[str, Any]) -> None:
        """Set `values`: the managed top-level fields that differ."""
        api.patch(f"{self.path}/{live_id}", self.to_api(values), what=f"updating {self.title} {live_id}")

    def delete(self, api: Api, live_id: str) -> None:
        api.delete(f"{self.path}/{live_id}", what=f"deleting {self.title} {live_id}")
