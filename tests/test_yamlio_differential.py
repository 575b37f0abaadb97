"""The fast parser against the careful one: on every document of a seeded corpus, ordinary and hostile
(control characters, byte order marks, line separators, deep nesting, anchors, aliases and merge keys,
every scalar style, CRLF), `yamlio.load` either refuses the file or returns exactly what ruamel reads.
It never returns less than the file holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from yaml_corpus import Corpus

from reconciler import yamlio
from reconciler.config import load_desired
from reconciler.errors import ConfigError

DOCUMENTS = 1500


def careful(text: str) -> Any:
    """ruamel's reading, or None when it refuses the text. A file's last line break is implied."""
    try:
        return ("read", yamlio.careful_load(text if text.endswith("\n") else text + "\n"))
    except RecursionError:
        return None
    except Exception:  # noqa: BLE001 - any refusal counts as one
        return None


def test_the_fast_parser_never_reads_what_the_careful_one_does_not(tmp_path: Path) -> None:
    path = tmp_path / "telnyx.yaml"
    read = refused = 0
    for seed in range(DOCUMENTS):
        text = Corpus(seed).document()
        path.write_bytes(text.encode("utf-8"))
        try:
            data = yamlio.load(path).data
        except ConfigError:
            refused += 1
            continue
        reference = careful(text)
        assert reference is not None, f"seed {seed}: only the fast parser read {text!r}"
        assert _equal(data, reference[1]), f"seed {seed}: the parsers read {text!r} differently"
        read += 1
    assert read > DOCUMENTS // 4 and refused > DOCUMENTS // 4  # the corpus holds both kinds


def _equal(one: Any, other: Any) -> bool:
    try:
        return bool(one == other)
    except RecursionError:  # a recursive structure (an alias inside its own anchor) is never what was read
        return False


@pytest.mark.parametrize(
    "text",
    [
        "a: &x\n  b: *x\n",  # an alias inside its own anchor: yaml-rs reads null there
        "a: |-\n  2024-01-01\n",  # a block scalar holding a date is a string
        "a: |\n  tail",  # a block scalar on the last line, without a final line break
        "a: x\u2028b: 1\n",  # a line separator: a line break for ruamel, a character for yaml-rs
    ],
)
def test_known_disagreements_are_resolved(tmp_path: Path, text: str) -> None:
    path = tmp_path / "telnyx.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        data = yamlio.load(path).data
    except ConfigError:
        return
    reference = careful(text)
    assert reference is not None and _equal(data, reference[1])


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in children:
        found += _paths(value, (*prefix, key))
    return found


def test_lines_found_without_parsing_are_the_lines_ruamel_gives(tmp_path: Path) -> None:
    """`locate` scans the text for a path; on every path of every document it agrees with ruamel's positions."""
    path = tmp_path / "telnyx.yaml"
    compared = 0
    for seed in range(DOCUMENTS):
        path.write_bytes(Corpus(seed).document().encode("utf-8"))
        try:
            document = yamlio.load(path)
        except ConfigError:
            continue
        if yamlio.ALIAS.search(document.text):
            continue  # ruamel places an alias at its anchor; the scan places it where it is written
        reference = yamlio.Document(document.path, document.data, document.text)
        try:
            reference._tree = yamlio._parse_positions(document.path, document.text)
        except ConfigError:  # ruamel's round-trip loader fails on a few documents its safe loader reads
            continue
        for loc in _paths(document.data)[:200]:
            fast = yamlio.Document(document.path, document.data, document.text)
            assert fast.locate(loc)[0] == reference.locate(loc)[0], f"seed {seed}, {loc}: {document.text!r}"
            compared += 1
    assert compared > 2000


def test_an_error_in_a_large_file_is_located_without_parsing_the_file_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The line of an error costs a scan, not a second (slow) parse: ruamel never reads the whole file."""
    lines = ["phone_numbers:"] + [f'  - phone_number: "+1312{i:07d}"\n    tags: [a, b]' for i in range(2000)]
    lines[-1] = lines[-1].replace("tags", "tagz")
    path = tmp_path / "telnyx.yaml"
    path.write_text("\n".join(lines) + "\n")
    whole = path.read_text()
    parsed: list[int] = []
    real_load = yamlio.YAML.load

    def watched(self: Any, stream: Any) -> Any:
        parsed.append(len(stream))
        return real_load(self, stream)

    monkeypatch.setattr(yamlio.YAML, "load", watched)
    with pytest.raises(ConfigError) as caught:
        load_desired([str(path)], {})
    [issue] = caught.value.issues
    assert issue.line == 4001 and "unknown field 'tagz'" in issue.message
    assert all(size < len(whole) // 100 for size in parsed)
