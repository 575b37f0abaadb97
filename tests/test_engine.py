"""The pure core: diff, order and the safety check, from a config and a live account in memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config import load_desired
from reconciler.errors import StalePlanError, UnsafePlanError
from reconciler.order import steps
from reconciler.pipeline import Target, check_plan, make_plan, verify_saved
from reconciler.plan import Action, Change, Op, Plan, SafetyLimits, check_safety
from reconciler.state import Fingerprints
from reconciler.states import DesiredState, LiveResource, LiveState

ADDRESS = dict(
    first_name="Ada", last_name="Lovelace", business_name="Example", street_address="1 Main St",
    locality="Austin", country_code="US",
)


def desired_from(tmp_path: Path, text: str) -> DesiredState:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return load_desired([str(path)], {})


def live(**kinds: list[LiveResource]) -> LiveState:
    return LiveState(dict(kinds))


def group(name: str, id_: str | None = None) -> LiveResource:
    return LiveResource(name, id_ or f"id-{name}", {"name": name}, "2026-01-01T00:00:00Z")


def address(name: str, id_: str, created: str = "2026-01-01T00:00:00Z", **overrides: str) -> LiveResource:
    attrs = {"name": name, **ADDRESS, "extended_address": None, "address_book": True, "validate_address": True, **overrides}
    return LiveResource(name, id_, attrs, created)


def test_missing_resources_are_created_and_matching_ones_left_alone(tmp_path: Path) -> None:
    desired = desired_from(tmp_path, "billing_groups:\n  - name: Ops\n  - name: Dev\n")
    plan = make_plan(desired, live(billing_groups=[group("Ops")]))
    assert [(c.action, c.key) for c in plan.changes] == [(Action.CREATE, "Dev")]


def test_unlisted_resources_are_deleted_only_in_pruned_kinds(tmp_path: Path) -> None:
    account = live(billing_groups=[group("Old")])
    kept = desired_from(tmp_path, "billing_groups: []\n")
    assert make_plan(kept, account).empty
    pruned = desired_from(tmp_path, "reconciler:\n  prune: [billing_groups]\nbilling_groups: []\n")
    [change] = make_plan(pruned, account).changes
    assert (change.action, change.key, change.live_id) == (Action.DELETE, "Old", "id-Old")
    assert "reconciler.prune" in change.reason


def test_fields_left_out_of_the_config_are_not_managed(tmp_path: Path) -> None:
    desired = desired_from(tmp_path, "access_ips:\n  - ip_address: 203.0.113.7\n")
    account = live(access_ips=[LiveResource("203.0.113.7", "a1", {"ip_address": "203.0.113.7", "description": "set elsewhere"})])
    assert make_plan(desired, account).empty


def test_an_update_lists_each_changed_field_with_before_and_after(tmp_path: Path) -> None:
    desired = desired_from(
        tmp_path,
        "sso_providers:\n  - short_name: okta\n    name: Okta\n    settings:\n      idp_entity_id: https://new\n"
        "      idp_sso_target_url: https://sso\n      idp_cert_fingerprint: AA\n",
    )
    settings = {"idp_entity_id": "https://old", "idp_sso_target_url": "https://sso", "idp_cert_fingerprint": "AA",
                "idp_cert_fingerprint_algorithm": "sha1"}
    account = live(sso_providers=[LiveResource("okta", "p1", {"short_name": "okta", "name": "Okta", "active": True, "settings": settings})])
    [change] = make_plan(desired, account).changes
    assert change.action is Action.UPDATE
    assert [(f.path, f.before, f.after) for f in change.fields] == [("settings.idp_entity_id", "https://old", "https://new")]


def test_a_change_the_api_cannot_update_is_a_replace_with_a_reason(tmp_path: Path) -> None:
    desired = desired_from(tmp_path, "access_ips:\n  - ip_address: 203.0.113.7\n    description: new\n    replace: true\n")
    account = live(access_ips=[LiveResource("203.0.113.7", "a1", {"ip_address": "203.0.113.7", "description": "old"})])
    [change] = make_plan(desired, account).changes
    assert change.action is Action.DELETE_BEFORE_CREATE and "cannot be updated" in change.reason
    # the address is unique in the account, so the old one goes first
    assert [s.op for s in steps(make_plan(desired, account))] == [Op.DELETE, Op.CREATE]


def test_an_address_replace_creates_the_new_one_before_deleting_the_old(tmp_path: Path) -> None:
    fields = "".join(f"    {k}: {v}\n" for k, v in ADDRESS.items())
    desired = desired_from(
        tmp_path,
        "reconciler:\n  prune: [billing_groups]\nbilling_groups: []\naddresses:\n  - name: hq\n" + fields.replace("1 Main St", "2 Main St"),
    )
    plan = make_plan(desired, live(addresses=[address("hq", "9")], billing_groups=[group("Old")]))
    order = [(s.op, s.change.kind) for s in steps(plan)]
    assert order == [(Op.CREATE, "addresses"), (Op.DELETE, "addresses"), (Op.DELETE, "billing_groups")] or order == [
        (Op.CREATE, "addresses"), (Op.DELETE, "billing_groups"), (Op.DELETE, "addresses")]
    assert order[0] == (Op.CREATE, "addresses")


def test_the_plan_alone_orders_the_calls_of_both_replace_orders() -> None:
    """Kinds the registry has never heard of: the order comes from the actions and the plan's kind order."""
    def change(kind: str, key: str, action: Action) -> Change:
        return Change(kind, key, action, {"k": 1}, {"k": 2}, live_id=f"{kind}-{key}")

    plan = Plan((change("base", "b", Action.CREATE_BEFORE_DELETE), change("middle", "m", Action.DELETE_BEFORE_CREATE),
                 change("top", "t", Action.CREATE_BEFORE_DELETE), change("base", "gone", Action.DELETE)),
                kind_order=("base", "middle", "top"))
    order = [(s.op, s.change.key) for s in steps(plan)]
    assert order == [(Op.CREATE, "b"), (Op.DELETE, "m"), (Op.CREATE, "m"), (Op.CREATE, "t"),
                     (Op.DELETE, "t"), (Op.DELETE, "b"), (Op.DELETE, "gone")]
    # the order survives a plan file: the kind order and the actions are in it
    again = Plan.from_dict(plan.to_dict())
    assert [(s.op, s.change.key) for s in steps(again)] == order
    assert [c["action"] for c in plan.to_dict()["changes"]] == [
        "create-before-delete", "delete-before-create", "create-before-delete", "delete"]


def test_a_duplicate_left_by_an_interrupted_replace_is_deleted_only_where_pruning_is_on(tmp_path: Path) -> None:
    fields = "".join(f"    {k}: {v}\n" for k, v in ADDRESS.items())
    old = address("hq", "1", "2026-01-01T00:00:00Z", street_address="0 Old Rd")
    new = address("hq", "2", "2026-02-01T00:00:00Z")
    pruned = desired_from(tmp_path, "reconciler:\n  prune: [addresses]\naddresses:\n  - name: hq\n" + fields)
    [change] = make_plan(pruned, live(addresses=[old, new])).changes
    assert (change.action, change.live_id) == (Action.DELETE, "1") and "reconciler.prune" in change.reason
    kept = make_plan(desired_from(tmp_path, "addresses:\n  - name: hq\n" + fields), live(addresses=[old, new]))
    assert kept.changes == () and any("addresses[hq]: 2 resources" in n for n in kept.notes), kept.notes


def test_a_recorded_leftover_is_deleted_unpruned_unless_in_use_and_nothing_else_is(tmp_path: Path) -> None:
    fields = "".join(f"    {k}: {v}\n" for k, v in ADDRESS.items())
    old = address("hq", "1", "2026-01-01T00:00:00Z", street_address="0 Old Rd")
    new = address("hq", "2", "2026-02-01T00:00:00Z")
    desired = desired_from(tmp_path, "billing_groups:\n  - name: Engineering\naddresses:\n  - name: hq\n" + fields)
    state = Fingerprints(None, b"k")
    state.record_leftover("addresses", "1", "hq")
    state.record_leftover("addresses", "g-old", "Engineering")  # an id of another kind is not a leftover here
    twins = [group("Engineering", "g-old"), LiveResource("Engineering", "g-new", {"name": "Engineering"}, "2026-03-01")]
    [change] = make_plan(desired, live(addresses=[old, new], billing_groups=twins), fingerprints=state).changes
    assert (change.kind, change.action, change.live_id) == ("addresses", Action.DELETE, "1")
    assert "leftover of an interrupted replace" in change.reason
    number = LiveResource("+15125550100", "n1", {"phone_number": "+15125550100", "emergency_address_id": "1"})
    used = make_plan(desired, live(addresses=[old, new], billing_groups=twins, phone_numbers=[number]), fingerprints=state)
    assert used.changes == () and any("addresses[hq]" in n and "in use" in n for n in used.notes), used.notes
    make_plan(desired, live(addresses=[new], billing_groups=twins), fingerprints=state)
    assert state.leftover_ids("addresses") == frozenset()  # gone from the account: forgotten


def test_same_named_groups_are_a_note_and_one_numbers_use_is_never_deleted(tmp_path: Path) -> None:
    twins = [group("Engineering", "g-old"), LiveResource("Engineering", "g-new", {"name": "Engineering"}, "2026-03-01")]
    plain = make_plan(desired_from(tmp_path, "billing_groups:\n  - name: Engineering\n"), live(billing_groups=twins))
    assert plain.changes == ()
    assert any("billing_groups[Engineering]" in n and "g-old" in n and "g-new" in n for n in plain.notes), plain.notes
    number = LiveResource("+15125550100", "n1", {"phone_number": "+15125550100", "billing_group_id": "g-old"})
    pruned = desired_from(tmp_path, "reconciler:\n  prune: [billing_groups]\nbilling_groups:\n  - name: Engineering\n")
    plan = make_plan(pruned, live(billing_groups=twins, phone_numbers=[number]))
    [change] = plan.changes
    # the newer one is unused: it is the extra, and the one the number uses is kept and managed
    assert (change.action, change.live_id) == (Action.DELETE, "g-new")
    unpruned_in_use = make_plan(pruned, live(billing_groups=[twins[0], replace_id(twins[1], "g-used")],
                                             phone_numbers=[replace_attr(number, "g-used"), replace_attr(number, "g-old")]))
    assert unpruned_in_use.changes == () and any("in use" in n for n in unpruned_in_use.notes)


def replace_id(resource: LiveResource, new_id: str) -> LiveResource:
    return LiveResource(resource.key, new_id, resource.attrs, resource.created_at)


def replace_attr(number: LiveResource, group_id: str) -> LiveResource:
    return LiveResource(number.key, f"n-{group_id}", {**number.attrs, "billing_group_id": group_id})


def test_unlisted_keys_held_twice_are_named_in_a_note(tmp_path: Path) -> None:
    plan = make_plan(desired_from(tmp_path, "billing_groups: []\n"),
                     live(billing_groups=[group("Ops", "a"), group("Ops", "b")]))
    assert plan.changes == () and any("billing_groups[Ops]: 2 resources" in n for n in plan.notes)


def test_targets_limit_the_plan(tmp_path: Path) -> None:
    desired = desired_from(tmp_path, "billing_groups:\n  - name: A\n  - name: B\naccess_ips:\n  - ip_address: 203.0.113.1\n")
    account = live(billing_groups=[], access_ips=[])
    assert [c.key for c in make_plan(desired, account, [Target.parse("billing_groups:B")]).changes] == ["B"]
    assert {c.kind for c in make_plan(desired, account, [Target.parse("access_ips")]).changes} == {"access_ips"}


def test_plans_are_ordered_stably_and_checksummed(tmp_path: Path) -> None:
    desired = desired_from(tmp_path, "billing_groups:\n  - name: B\n  - name: A\n")
    first = make_plan(desired, live(billing_groups=[]))
    again = make_plan(desired, live(billing_groups=[]))
    assert [c.key for c in first.changes] == ["A", "B"]
    assert first.checksum == again.checksum
    assert Plan.from_dict(first.to_dict()).checksum == first.checksum


def test_a_saved_plan_is_refused_when_the_account_moved(tmp_path: Path) -> None:
    desired = desired_from(tmp_path, "billing_groups:\n  - name: A\n")
    saved = make_plan(desired, live(billing_groups=[]))
    verify_saved(saved, make_plan(desired, live(billing_groups=[])))
    with pytest.raises(StalePlanError, match=r"billing_groups\[A\]"):
        verify_saved(saved, make_plan(desired, live(billing_groups=[group("A")])))


def test_too_many_deletes_are_refused_unless_forced(tmp_path: Path) -> None:
    desired = desired_from(tmp_path, "reconciler:\n  prune: [billing_groups]\nbilling_groups:\n" + "".join(f"  - name: g{i}\n" for i in range(6)))
    plan = make_plan(desired, live(billing_groups=[group(f"g{i}") for i in range(10)]))
    assert plan.summary()["delete"] == 4
    with pytest.raises(UnsafePlanError, match="4 of 10"):
        check_safety(plan, SafetyLimits())
    check_safety(plan, SafetyLimits(), force=True)
    check_safety(plan, SafetyLimits(delete_threshold=0.5))


def test_small_kinds_are_below_the_threshold_floor(tmp_path: Path) -> None:
    desired = desired_from(tmp_path, "reconciler:\n  prune: [billing_groups]\nbilling_groups: []\n")
    plan = make_plan(desired, live(billing_groups=[group(f"g{i}") for i in range(9)]))
    assert plan.summary()["delete"] == 9
    check_safety(plan, SafetyLimits())  # 9 live: below the floor of 10, so deleting all of them is allowed
    with pytest.raises(UnsafePlanError, match="9 of 9 would be deleted"):
        check_safety(plan, SafetyLimits(min_existing=9))


def providers_renamed(count: int, changed: int) -> tuple[str, LiveState]:
    """A config of `count` SSO providers whose first `changed` names differ from the account's."""
    keys = [f"idp-{i}" for i in range(count)]
    config = "sso_providers:\n" + "".join(
        f"  - short_name: {key}\n    name: {'New' if i < changed else 'Same'}\n" for i, key in enumerate(keys)
    )
    account = live(sso_providers=[LiveResource(key, f"id-{key}", {"short_name": key, "name": "Same"}) for key in keys])
    return config, account


@pytest.mark.parametrize(("changed", "refused"), [(3, False), (4, True)])
def test_too_many_updates_are_refused_unless_forced(tmp_path: Path, changed: int, refused: bool) -> None:
    config, account = providers_renamed(10, changed)
    plan = make_plan(desired_from(tmp_path, config), account)
    assert plan.summary()["update"] == changed and plan.summary()["replace"] == 0
    if refused:
        with pytest.raises(UnsafePlanError, match=f"{changed} of 10 would be updated"):
            check_safety(plan, SafetyLimits())
        check_safety(plan, SafetyLimits(), force=True)
    else:
        check_safety(plan, SafetyLimits())  # 30 %: at the threshold, not above it


def test_the_update_threshold_is_read_from_reconciler_safety(tmp_path: Path) -> None:
    config, account = providers_renamed(10, 4)
    strict = desired_from(tmp_path, "reconciler:\n  safety:\n    update_threshold: 0.1\n" + config)
    with pytest.raises(UnsafePlanError, match="more than 10%"):
        check_plan(make_plan(strict, account), strict)
    relaxed = desired_from(tmp_path, "reconciler:\n  safety:\n    update_threshold: 0.5\n" + config)
    check_plan(make_plan(relaxed, account), relaxed)


def test_a_saved_plan_is_refused_when_a_value_changed_after_review(tmp_path: Path) -> None:
    reviewed = make_plan(desired_from(tmp_path, "access_ips:\n  - ip_address: 203.0.113.5\n    description: office\n"), live(access_ips=[]))
    changed = make_plan(desired_from(tmp_path, "access_ips:\n  - ip_address: 203.0.113.5\n    description: anywhere\n"), live(access_ips=[]))
    assert [(c.kind, c.key, c.action) for c in reviewed.changes] == [(c.kind, c.key, c.action) for c in changed.changes]
    assert reviewed.checksum != changed.checksum
    with pytest.raises(StalePlanError, match=r"access_ips\[203.0.113.5\]"):
        verify_saved(reviewed, changed)


def test_prevent_destroy_refuses_a_replace_even_with_force(tmp_path: Path) -> None:
    desired = desired_from(tmp_path, "access_ips:\n  - ip_address: 203.0.113.7\n    description: new\n    replace: true\n    prevent_destroy: true\n")
    account = live(access_ips=[LiveResource("203.0.113.7", "a1", {"ip_address": "203.0.113.7", "description": "old"})])
    with pytest.raises(UnsafePlanError, match="prevent_destroy"):
        check_safety(make_plan(desired, account), SafetyLimits(), force=True)
