"""The interface every resource kind implements, and the REST behaviour most kinds share.

A kind owns: its config model (pydantic, extra="forbid"), its natural key, how a live API object maps to
the config's shape (`from_api`) and back (`to_api`), and its calls (fetch, create, update, delete). The
engine never looks inside a kind beyond this interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, Field

META_FIELDS = frozenset({"prevent_destroy"})


class Entry(BaseModel):
    """Base of every config entry. Fields left out of the config are not managed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prevent_destroy: bool = Field(
        default=False, description="Refuse any plan that deletes or replaces this resource."
    )

    def managed(self) -> dict[str, Any]:
        """The values this entry sets, in API field names (what the diff compares)."""
        return self.model_dump(mode="json", exclude_unset=True, exclude=set(META_FIELDS))


@dataclass(frozen=True)
class LiveResource:
    """A resource as it exists in the account: its API id and its values in the config's shape."""

    key: str
    id: str
    attrs: dict[str, Any]
    created_at: str = ""


class ReplaceOrder(str, Enum):
    CREATE_FIRST = "create_first"  # the new one must exist before the old one goes (things point at it)
    DELETE_FIRST = "delete_first"  # the key is unique in the account: the old one must go first


class Api(Protocol):
    """What a kind needs from the client (see client.TelnyxClient)."""

    def list_all(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]: ...
    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]: ...
    def post(self, path: str, body: dict[str, Any], *, what: str = "") -> dict[str, Any]: ...
    def create(self, path: str, body: dict[str, Any], *, what: str, recover: Any) -> dict[str, Any]: ...
    def patch(self, path: str, body: dict[str, Any], *, what: str = "") -> dict[str, Any]: ...
    def delete(self, path: str, *, what: str = "") -> dict[str, Any]: ...


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
    # Fields sent on create but never read back (so never compared), e.g. a metadata URL the API consumes.
    create_only: ClassVar[frozenset[str]] = frozenset()
    replace_order: ClassVar[ReplaceOrder] = ReplaceOrder.CREATE_FIRST
    replace_reason: ClassVar[str] = ""

    # --- mapping -------------------------------------------------------------------------------------

    def from_api(self, raw: dict[str, Any]) -> LiveResource | None:
        """The live object in config shape, or None when the tool does not own it."""
        raise NotImplementedError

    def to_api(self, values: dict[str, Any]) -> dict[str, Any]:
        """A request body from config-shaped values."""
        return dict(values)

    def key_of(self, entry: Entry) -> str:
        return str(getattr(entry, self.key_field))

    def export(self, live: LiveResource) -> dict[str, Any]:
        """A config entry that, planned against this live resource, shows no change."""
        return {k: v for k, v in live.attrs.items() if v is not None}

    # --- calls ---------------------------------------------------------------------------------------

    def fetch(self, api: Api) -> list[LiveResource]:
        found = (self.from_api(raw) for raw in api.list_all(self.path))
        return [resource for resource in found if resource is not None]

    def lookup_params(self, key: str) -> dict[str, Any] | None:
        """List filters that narrow a lookup by natural key, where the API has them."""
        return None

    def find_raw(self, api: Api, key: str) -> dict[str, Any] | None:
        """The newest live object with this natural key; used to recover from a create whose answer was lost."""
        matches = []
        for raw in api.list_all(self.path, self.lookup_params(key)):
            resource = self.from_api(raw)
            if resource is not None and resource.key == key:
                matches.append((resource.created_at, raw))
        return max(matches, key=lambda pair: pair[0])[1] if matches else None

    def create(self, api: Api, values: dict[str, Any]) -> LiveResource:
        key = str(values[self.key_field])
        raw = api.create(
            self.path,
            self.to_api(values),
            what=f"creating {self.title} {key!r}",
            recover=lambda: self.find_raw(api, key),
        )
        created = self.from_api(raw)
        if created is None:
            raise RuntimeError(f"the API returned a {self.title} the tool cannot read back")
        return created

    def update(self, api: Api, live_id: str, values: dict[str, Any]) -> None:
        """Set `values`: the managed top-level fields that differ."""
        api.patch(f"{self.path}/{live_id}", self.to_api(values), what=f"updating {self.title} {live_id}")

    def delete(self, api: Api, live_id: str) -> None:
        api.delete(f"{self.path}/{live_id}", what=f"deleting {self.title} {live_id}")
