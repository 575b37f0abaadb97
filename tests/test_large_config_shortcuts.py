"""The shortcuts that make a config of 100,000 phone numbers load quickly and small must not change what is
refused or where: byte checks ruled out in C before a regular expression runs, the parsed data dropped once
the config is built (lines found by parsing again), models sharing their sets of field names, and the
collector's pace while a large config or account is built."""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import pytest

from reconciler import pipeline, yamlio
from reconciler.config import deep_merge, load_desired
from reconciler.diff import LiveState
from reconciler.errors import ConfigError
from reconciler.kinds import KINDS, LiveResource
from reconciler.yamlcheck import check_text

NUMBERS = """\
phone_numbers:
  defaults:
    hd_voice_enabled: false
  entries:
    - phone_number: "+13125550100"
      tags: [b, a]
      emergency:
        enabled: false
    - phone_number: "+13125550101"
      tags: [c]
      emergency:
        enabled: false
    - phone_number: "+13125550102"
      customer_reference: x
"""


def refusal(text: str) -> tuple[int | None, int | None, str]:
    with pytest.raises(ConfigError) as caught:
        check_text("c.yaml", text)
    [issue] = caught.value.issues
    return issue.line, issue.column, issue.message


@pytest.mark.parametrize("text, line, column, words", [
    ("%YAML 1.2\na: 1\n", 1, 1, "directives"),
    ("a: 1\n%TAG ! x\n", 2, 1, "directives"),
    ("a: 1\n---\nb: 2\n", 2, 1, "one YAML document"),
    ("--- \na: 1\n...\n", 3, 1, "one YAML document"),
    ("a: é\nb: 1\n---\n", 3, 1, "one YAML document"),
    ("a: 1\nb: " + "7" * 4301 + "\n", 2, 4, "4,300 digits"),
    ("é: 1\nb: x" + "7" * 4301 + "\n", 2, 5, "4,300 digits"),
    ("a: 1\nb: \x7f\n", 2, 4, "DEL"),
    ("a: 1\nb: \x00\n", 2, 4, "NUL"),
    ("a: é\nb: \x1b\n", 2, 4, "ESC"),
    ("a: 1\nb: x\u2028\n", 2, 5, "LINE SEPARATOR"),
    ("a: 1\nb: x\x85\n", 2, 5, "NEL"),
    ("a: 1\nb: 50%\n%YAML 1.2\n", 3, 1, "directives"),
    ("a: 1\n-.-: 2\n...\n", 3, 1, "one YAML document"),
])
def test_what_the_byte_checks_refuse_is_still_refused_where_it_is(text: str, line: int, column: int, words: str) -> None:
    found = refusal(text)
    assert found[:2] == (line, column) and words in found[2]


@pytest.mark.parametrize("text", [
    "a: " + "7" * 4300 + "\n",  # the longest number Python reads
    "a: '٣" + "٣" * 5000 + "'\n",  # digits beyond ASCII are not what the limit counts
    "a: x%\nb: x---\nc: x...\n",  # not at the start of a line
    "a: é\tb\n",
    "a: 1\n-.-: 2\n.-.: 3\n----: 4\n",  # marks are `---` and `...` alone, or before a space
])
def test_text_the_byte_checks_rule_out_passes(text: str) -> None:
    check_text("c.yaml", text)


def test_lines_are_found_after_the_parsed_data_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(NUMBERS)
    paths = [("phone_numbers", "entries", 1, "tags", 0), ("phone_numbers", "entries", 2, "customer_reference"),
             ("phone_numbers", "defaults", "hd_voice_enabled"), ("phone_numbers", "entries", 9)]
    kept = yamlio.load(path)
    expected = [kept.locate(p) for p in paths]
    dropped = yamlio.load(path)
    dropped.forget_data()
    assert dropped.data is None
    assert [dropped.locate(p) for p in paths] == expected == [(10, 14), (14, 7), (3, 5), (4, 3)]


def test_a_merge_key_file_is_located_after_its_data_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("base: &b\n  name: Ops\nbilling_groups:\n  - <<: *b\n    nme: x\n")
    document = yamlio.load(path)
    document.forget_data()
    assert document.locate(("billing_groups", 0, "nme")) == (5, 5)


def test_an_error_found_after_loading_still_names_its_line(tmp_path: Path) -> None:
    """A billing group that exists nowhere is found by the diff, after the config's data was dropped: the
    line comes from parsing the text again."""
    path = tmp_path / "c.yaml"
    path.write_text(NUMBERS.replace("      customer_reference: x\n", "      billing_group: Nowhere\n"))
    desired = load_desired([str(path)], {})
    source = desired.sources[("phone_numbers", "+13125550102")]
    assert source.doc is not None and source.doc.data is None
    numbers = [LiveResource(e.phone_number, f"n-{i}", {"status": "active"}) for i, e in enumerate(desired.entries["phone_numbers"])]
    live = LiveState({"phone_numbers": numbers, "billing_groups": [], "addresses": []})
    with pytest.raises(ConfigError) as caught:
        pipeline.make_plan(desired, live)
    [issue] = caught.value.issues
    assert (issue.file, issue.line, issue.column) == (str(path), 14, 7) and "'Nowhere'" in issue.message
    assert str(source) == f"{path}:13"


def test_entries_that_set_the_same_fields_share_one_set_of_names(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(NUMBERS)
    first, second, third = load_desired([str(path)], {}).entries["phone_numbers"]
    assert first.__pydantic_fields_set__ is second.__pydantic_fields_set__
    assert first.emergency is not None and second.emergency is not None
    assert first.emergency.__pydantic_fields_set__ is second.emergency.__pydantic_fields_set__
    assert third.__pydantic_fields_set__ is not first.__pydantic_fields_set__
    assert first.managed() == {"phone_number": "+13125550100", "tags": ["a", "b"], "hd_voice_enabled": False,
                               "emergency": {"enabled": False}}
    assert third.managed() == {"phone_number": "+13125550102", "customer_reference": "x", "hd_voice_enabled": False}
    assert first.model_copy(update={"customer_reference": "y"}).model_fields_set != second.model_fields_set
    assert "customer_reference" not in second.model_fields_set


SHARED_SETS = """\
phone_numbers:
  - phone_number: "+13125550100"
    voice: {usage_payment_method: channel}
  - phone_number: "+13125550101"
    voice: {call_forwarding: {forwards_to: "+13125550199"}}
  - phone_number: "+13125550102"
    voice: null
  - phone_number: "+13125550103"
    messaging: {messaging_product: P2P}
  - phone_number: "+13125550104"
    voice: {usage_payment_method: channel}
"""


def test_what_a_fetch_needs_is_read_from_every_distinct_set_of_names(tmp_path: Path) -> None:
    # The first three entries share one set of top-level names; each sets different voice settings (or
    # none), and each of those must reach the fetch, which reads voice settings only when they are used.
    path = tmp_path / "c.yaml"
    path.write_text(SHARED_SETS)
    desired = load_desired([str(path)], {})
    entries = desired.entries["phone_numbers"]
    assert entries[0].__pydantic_fields_set__ is entries[1].__pydantic_fields_set__ is entries[2].__pydantic_fields_set__
    assert desired.fields_in_use["phone_numbers"] == {
        "phone_number", "voice", "voice.usage_payment_method", "voice.call_forwarding", "messaging",
        "messaging.messaging_product"}
    assert desired.fields_in_use.get("billing_groups", frozenset()) == frozenset()


def test_each_entry_key_is_worked_out_once_and_follows_the_entries(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(SHARED_SETS)
    desired = load_desired([str(path)], {})
    kind = KINDS["phone_numbers"]
    keys = desired.keys(kind)
    assert keys == [f"+1312555010{i}" for i in range(5)] and desired.keys(kind) is keys
    desired.entries["phone_numbers"] = desired.entries["phone_numbers"][:2]  # another list: worked out again
    assert desired.keys(kind) == ["+13125550100", "+13125550101"]


def test_defaults_merge_under_each_entry() -> None:
    base = {"a": 1, "b": {"x": 1, "y": {"p": 1}}, "c": [1], "d": {"k": 1}}
    merged = deep_merge(base, {"b": {"y": {"q": 2}, "z": 3}, "c": [2], "d": None, "e": 4})
    assert merged == {"a": 1, "b": {"x": 1, "y": {"p": 1, "q": 2}, "z": 3}, "c": [2], "d": None, "e": 4}
    assert list(merged) == ["a", "b", "c", "d", "e"]
    assert base == {"a": 1, "b": {"x": 1, "y": {"p": 1}}, "c": [1], "d": {"k": 1}}


def test_a_command_step_runs_without_collections_and_sets_what_it_built_aside_until_the_next_step() -> None:
    before = gc.get_threshold()
    assert gc.isenabled()
    with pipeline.few_collections():
        with pipeline.few_collections():
            assert not gc.isenabled()
        assert not gc.isenabled()
        built = [[n] for n in range(1000)]
    assert gc.isenabled() and gc.get_threshold() == before
    assert gc.get_freeze_count() >= len(built)
    with pipeline.few_collections():
        assert gc.get_freeze_count() == 0
    gc.unfreeze()


def test_overlapping_steps_in_worker_threads_collect_less_often_until_the_last_ends() -> None:
    before = gc.get_threshold()
    inside, leave = threading.Barrier(3), threading.Event()

    def step() -> None:
        with pipeline.few_collections():
            inside.wait(10)
            leave.wait(10)

    threads = [threading.Thread(target=step) for _ in range(2)]
    for thread in threads:
        thread.start()
    inside.wait(10)
    assert gc.isenabled() and gc.get_threshold()[0] == max(before[0], pipeline.GC_BATCH)
    leave.set()
    for thread in threads:
        thread.join(10)
    assert gc.isenabled() and gc.get_threshold() == before
    gc.unfreeze()
