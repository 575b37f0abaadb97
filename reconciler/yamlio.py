"""YAML in and out: the only module that imports a YAML library.

Configs of a hundred thousand phone numbers must load in about a second, so files are parsed with
yaml-rs (a Rust YAML 1.2 parser, some 15 times faster than libyaml here). Positions are needed only for
error messages: the first time one is asked for, the file is parsed again with ruamel.yaml's round-trip
loader, which keeps the line and column of every key and item. ruamel also reports syntax errors (its
messages say more) and writes YAML.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml_rs
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from reconciler.errors import ConfigError

Loc = tuple[int | str, ...]
MERGE_KEY = "<<"


@dataclass
class Document:
    """One parsed YAML file: plain data plus a way back to the source position of any path in it."""

    path: str
    data: Any
    text: str
    _tree: Any = None

    def locate(self, loc: Sequence[int | str]) -> tuple[int | None, int | None]:
        """1-based (line, column) of the deepest node of `loc` that exists in the file."""
        if self._tree is None:
            self._tree = _parse_positions(self.path, self.text)
        node = self._tree
        line, column = (1, 1) if isinstance(node, (CommentedMap, CommentedSeq)) else (None, None)
        for part in loc:
            position = _position_of(node, part)
            if position is None:
                break
            line, column = position
            node = node[part]
        return line, column


def _position_of(node: Any, part: int | str) -> tuple[int, int] | None:
    if isinstance(node, CommentedMap) and part in node:
        try:
            row, col = node.lc.key(part)
        except KeyError:  # a key merged in with `<<:` has no position of its own here
            return None
        return row + 1, col + 1
    if isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
        row, col = node.lc.item(part)
        return row + 1, col + 1
    return None


def load(path: Path) -> Document:
    """Parse one YAML file. Syntax errors and duplicate keys become a ConfigError with the line."""
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError.single(shown, None, None, f"cannot read the file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError.single(shown, None, None, "the file is not UTF-8 text") from None
    try:
        data = yaml_rs.loads(text)
    except yaml_rs.YAMLDecodeError as exc:
        _parse_positions(shown, text)  # raises with ruamel's message and position
        raise ConfigError.single(shown, *_line_of(str(exc)), f"invalid YAML: {str(exc).splitlines()[-1]}") from None
    if "<<" in text:
        data = _merge_keys(data)
    return Document(shown, data, text)


def _merge_keys(node: Any) -> Any:
    """Resolve YAML merge keys (`<<: *anchor`), which the fast parser leaves as plain `<<` entries."""
    if isinstance(node, list):
        return [_merge_keys(item) for item in node]
    if not isinstance(node, dict):
        return node
    resolved = {k: _merge_keys(v) for k, v in node.items() if k != MERGE_KEY}
    if MERGE_KEY not in node:
        return resolved
    sources = node[MERGE_KEY] if isinstance(node[MERGE_KEY], list) else [node[MERGE_KEY]]
    merged: dict[Any, Any] = {}
    for source in reversed([_merge_keys(s) for s in sources if isinstance(s, dict)]):
        merged.update(source)  # earlier sources win over later ones, the node's own keys over all
    merged.update(resolved)
    return merged


def _parse_positions(shown: str, text: str) -> Any:
    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        at_end = "<stream end>" in str(exc.problem)
        # When the parser runs into the end of the file (an unclosed bracket, say), the problem mark is the last
        # line; the context mark, where the broken construct starts, is the line to fix.
        mark = (exc.context_mark or exc.problem_mark) if at_end else (exc.problem_mark or exc.context_mark)
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        problem = "; ".join(str(p) for p in (exc.context, exc.problem) if p).replace("<stream end>", "the end of the file")
        if at_end and exc.problem_mark:
            problem += f" (at line {exc.problem_mark.line + 1})"
        hint = "each key may appear only once in a mapping" if "duplicate key" in problem else "fix the YAML syntax"
        raise ConfigError.single(shown, line, column, f"invalid YAML: {problem}", hint) from None
    except YAMLError as exc:
        raise ConfigError.single(shown, None, None, f"invalid YAML: {exc}") from None


def _line_of(message: str) -> tuple[int | None, int | None]:
    match = re.search(r"line (\d+), column (\d+)", message)
    return (int(match.group(1)), int(match.group(2))) if match else (None, None)


def dump(data: Any, stream: IO[str], header: str = "") -> None:
    """Write `data` as block-style YAML, with an optional comment header."""
    if header:
        stream.write("".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()))
    fast = _fast_dump(data)
    if fast is not None:
        stream.write(fast)
        return
    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    yaml.dump(data, stream)


def _fast_dump(data: Any) -> str | None:
    """yaml-rs writes an export of 100,000 numbers in about a second where ruamel takes over a minute. It
    leaves a few strings unquoted that read back as other types (`2024-01-01`, `0o17`), so its text is
    used only when reading it back gives exactly `data`; otherwise ruamel writes it."""
    try:
        text = yaml_rs.dumps(data).removeprefix("---\n").rstrip("\n") + "\n"
        return text if yaml_rs.loads(text) == data and not text.startswith(("{", "[")) else None
    except (yaml_rs.YAMLEncodeError, yaml_rs.YAMLDecodeError, TypeError, ValueError):
        return None


def dumps(data: Any, header: str = "") -> str:
    buffer = io.StringIO()
    dump(data, buffer, header)
    return buffer.getvalue()
