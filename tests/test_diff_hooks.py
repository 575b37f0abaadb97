"""How a kind plugs into the one diff (diff.py): through hooks, never a loop of its own. A new plain kind
writes no comparison code and gets creates, updates, replaces, deletes and duplicates; a kind with
write-only fields, numbers it must not buy, resources it must leave alone or entries that ask for a delete
says so through a hook, and the same loop does the rest."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from reconciler.config import ReconcilerSettings
from reconciler.diff import DiffResult, diff
from reconciler.kinds import KINDS
from reconciler.kinds.base import Entry, Kind, NameRef, Removal, WriteOnlyWords
from reconciler.plan import Action, FieldChange
from reconciler.state import Fingerprints
from reconciler.states import DesiredState, LiveResource, LiveState

KEY = b"k" * 32


class Widget(Entry):
    name: str
    colour: str | None = None
    size: int | None = None
    pin: str | None = None
    destroy: bool = False


class Widgets(Kind):
    """A plain REST kind: class attributes and `from_api`, nothing about comparing."""

    name = "widgets"
    title = "widget"
    model = Widget
    key_field = "name"
    path = "/widgets"
    immutable = frozenset({"size"})

    def from_api(self, raw: dict[str, Any]) -> LiveResource | None:
        return LiveResource(raw["name"], raw["id"], dict(raw), raw.get("created_at", ""))


def live(*items: dict[str, Any]) -> list[LiveResource]:
    return [LiveResource(i["name"], i["id"], {k: v for k, v in i.items() if k != "created_at"}, i.get("created_at", ""))
            for i in items]


def run(kind: Kind, entries: list[dict[str, Any]], resources: list[LiveResource], prune: bool = False,
        fingerprints: Fingerprints | None = None) -> DiffResult:
    # The settings check prune against the registry; this kind is not in it.
    settings = ReconcilerSettings.model_construct(prune=[kind.name] if prune else [])
    desired = DesiredState(settings=settings,
                           entries={kind.name: [kind.model(**e) for e in entries]})
    return diff(desired, LiveState({kind.name: resources}), {kind.name: kind}, fingerprints)


def test_no_kind_in_the_registry_compares_by_itself() -> None:
    assert not hasattr(Kind, "diff")
    own = {name for name, kind in KINDS.items() if any("diff" in vars(c) for c in type(kind).__mro__)}
    assert own == set()


REPLACE_NAMES = {"replace_action", Action.CREATE_BEFORE_DELETE.name, Action.DELETE_BEFORE_CREATE.name}


def test_every_replace_is_built_in_one_place() -> None:
    """So that a change to how a replace is recorded (which runs first, say) is one edit."""
    package = Path(__file__).resolve().parents[1] / "reconciler"
    builders = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
            for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
                named = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", "")
                if named == "Change" and any(isinstance(a, ast.Attribute) and a.attr in REPLACE_NAMES for a in call.args):
                    builders.append(f"{path.relative_to(package)}:{function.name}")
    assert builders == ["diff.py:replace_change"]


def test_a_new_plain_kind_gets_every_action_from_the_shared_loop() -> None:
    entries = [{"name": "new"}, {"name": "blue", "colour": "blue"}, {"name": "big", "size": 3}, {"name": "same", "colour": "red"}]
    account = live({"name": "blue", "id": "w1", "colour": "red"}, {"name": "big", "id": "w2", "size": 2},
                   {"name": "same", "id": "w3", "colour": "red", "size": 9}, {"name": "gone", "id": "w4"})
    result = run(Widgets(), entries, account, prune=True)
    found = {(c.key, c.action, c.fields) for c in result.changes}
    assert found == {
        ("new", Action.CREATE, ()),
        ("blue", Action.UPDATE, (FieldChange("colour", "red", "blue"),)),
        ("big", Action.CREATE_BEFORE_DELETE, (FieldChange("size", 2, 3),)),
        ("gone", Action.DELETE, ()),
    }
    assert not result.errors and not result.notes


def test_several_live_resources_with_one_key_keep_the_one_holding_the_values_unless_the_kind_picks_the_newest() -> None:
    account = live({"name": "a", "id": "old", "colour": "red", "created_at": "1"},
                   {"name": "a", "id": "new", "colour": "blue", "created_at": "2"})
    held = run(Widgets(), [{"name": "a", "colour": "red"}], account)
    assert not held.changes and "the config manages old" in held.notes[0]

    class Newest(Widgets):
        pick_newest = True

    newest = run(Newest(), [{"name": "a", "colour": "red"}], account)
    [change] = newest.changes
    assert (change.action, change.live_id) == (Action.UPDATE, "new") and "the config manages new" in newest.notes[0]


class Pinned(Widgets):
    """A kind with a write-only field: the API reads `pin` back as null."""

    sensitive = frozenset({"pin"})
    fingerprinted = frozenset({"pin"})


def test_a_write_only_field_is_compared_by_the_fingerprint_of_what_the_tool_last_wrote() -> None:
    kind, account = Pinned(), live({"name": "a", "id": "w1", "pin": None})
    fingerprints = Fingerprints(None, KEY)
    [unverified] = run(kind, [{"name": "a", "pin": "1234"}], account, fingerprints=fingerprints).changes
    assert unverified.action is Action.UPDATE and unverified.reason.startswith("pin unverified: the API does not show it")
    fingerprints.record("widgets", "a", "w1", fingerprints.of("widgets", "a", kind.material({"pin": "1234"})))
    assert not run(kind, [{"name": "a", "pin": "1234"}], account, fingerprints=fingerprints).changes
    [changed] = run(kind, [{"name": "a", "pin": "9999"}], account, fingerprints=fingerprints).changes
    assert changed.reason == "pin changed" and changed.fields == (FieldChange("pin", None, "9999"),)
    assert changed.sensitive == frozenset({"pin"})


def test_an_entry_may_keep_an_unverified_value_and_the_plan_says_so() -> None:
    class Keeping(Pinned):
        write_only_words = WriteOnlyWords(kept="{name}[{key}]: kept")

        def keeps_unverified(self, entry: Entry) -> bool:
            return True

    result = run(Keeping(), [{"name": "a", "pin": "1234"}], live({"name": "a", "id": "w1", "pin": None}))
    assert not result.changes and result.notes == ["widgets[a]: kept"]


class Owned(Widgets):
    """Resources the tool manages but never creates, leaves alone while locked, and deletes when asked."""

    never_created = "they are bought elsewhere"
    control_fields = frozenset({"destroy"})
    removal_field = "destroy"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def left_alone(self, live: LiveResource) -> str | None:
        return "are locked, so they are left alone" if live.attrs.get("locked") else None

    def removal(self, live: LiveResource) -> Removal:
        self.asked.append(live.key)
        if live.attrs.get("kept"):
            return Removal("", refused=f"{live.key} is kept")
        return Removal("asked for", irreversible=True)


def test_hooks_refuse_creates_leave_resources_alone_and_turn_entries_into_deletes() -> None:
    entries = [{"name": "missing"}, {"name": "locked", "colour": "blue"}, {"name": "bye", "destroy": True},
               {"name": "stay", "destroy": True}]
    account = live({"name": "locked", "id": "w1", "locked": True, "colour": "red"}, {"name": "bye", "id": "w2"},
                   {"name": "stay", "id": "w3", "kept": True})
    owned = Owned()
    result = run(owned, entries, account)
    assert owned.asked == ["bye", "stay"]  # only the entries that set the removal field
    assert result.errors == ["1 widget(s) in the config are not in the account (they are bought elsewhere): missing"]
    assert result.notes == ["stay is kept", "1 widget(s) differ from the config but are locked, so they are left alone: locked"]
    [delete] = result.changes
    assert (delete.key, delete.action, delete.irreversible, delete.reason) == ("bye", Action.DELETE, True, "asked for")


class Alarm(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool | None = None
    group: str | None = None


class Gadget(Entry):
    name: str
    owner: str | None = None
    alarm: Alarm | None = None


class Gadgets(Widgets):
    """Only declarations: a field naming a billing group, and a group the API spreads over `alarm_*` fields."""

    name = "gadgets"
    title = "gadget"
    model = Gadget
    depends_on = ("billing_groups",)
    names = (NameRef("owner", "billing_groups", "owner_id"), NameRef("alarm.group", "billing_groups", "alarm_group_id"))
    flattened = frozenset({"alarm"})


def test_a_kind_that_declares_its_names_gets_the_reference_check_and_live_names_without_a_method_of_its_own() -> None:
    assert Gadgets.removal is Kind.removal and not hasattr(Gadgets, "review")
    entries = [Gadget(name="same", owner="ops", alarm=Alarm(enabled=True, group="ops")),
               Gadget(name="moved", owner="ops"), Gadget(name="odd", owner="ops"),
               Gadget(name="lost", owner="nowhere", alarm=Alarm(group="gone"))]
    groups = [LiveResource("ops", "bg1", {"name": "ops"}), LiveResource("old", "bg2", {"name": "old"})]
    gadgets = [LiveResource(n, f"g-{n}", {"name": n, "owner_id": owner, "alarm_enabled": True, "alarm_group_id": "bg1"})
               for n, owner in (("same", "bg1"), ("moved", "bg2"), ("odd", "bg9"), ("lost", "bg1"))]
    desired = DesiredState(settings=ReconcilerSettings.model_construct(prune=["billing_groups"]),
                           entries={"billing_groups": [KINDS["billing_groups"].model(name="ops")], "gadgets": entries})
    result = diff(desired, LiveState({"billing_groups": groups, "gadgets": gadgets}),
                  {"billing_groups": KINDS["billing_groups"], "gadgets": Gadgets()})
    updates = {c.key: [(f.path, f.before, f.after) for f in c.fields] for c in result.changes if c.kind == "gadgets"}
    assert updates == {"moved": [("owner", "old (being replaced)", "ops")],
                       "odd": [("owner", "(unnamed billing group bg9)", "ops")],
                       "lost": [("alarm.group", "ops", "gone"), ("owner", "ops", "nowhere")]}
    assert sorted(i.message for i in result.issues) == [
        "alarm.group: billing group 'gone' exists neither in the config nor in the account",
        "owner: billing group 'nowhere' exists neither in the config nor in the account"]


def test_the_registry_declares_names_and_removals_the_loop_can_use() -> None:
    """A named kind is compared first (its deletes are known when the names are shown), a name inside a group
    sits in a group the API flattens, and the removal field is a control field (never compared or sent)."""
    for kind in KINDS.values():
        assert not hasattr(kind, "references"), kind.name  # the loop reads the names itself
        assert not kind.removal_field or kind.removal_field in kind.control_fields, kind.name
        for ref in kind.names:
            top, inside = ref.parts
            assert ref.kind in kind.depends_on and ref.kind in KINDS, (kind.name, ref)
            assert top in kind.model.model_fields and (not inside or top in kind.flattened), (kind.name, ref)
    assert {ref.field for ref in KINDS["phone_numbers"].names} == {"billing_group", "emergency.address"}
