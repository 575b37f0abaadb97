"""YAML in and out: the only module that imports ruamel.yaml.

Loading keeps line and column of every mapping key and sequence item so that config errors can name
the place they come from. Dumping writes block-style YAML that round-trips to the same data.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from reconciler.errors import ConfigError

Loc = tuple[int | str, ...]


@dataclass
class Document:
    """One parsed YAML file: plain data plus a way back to the source position of any path in it."""

    path: str
    data: Any
    _tree: Any

    def locate(self, loc: Sequence[int | str]) -> tuple[int | None, int | None]:
        """1-based (line, column) of the deepest node of `loc` that exists in the file."""
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
        row, col = node.lc.key(part)
        return row + 1, col + 1
    if isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
        row, col = node.lc.item(part)
        return row + 1, col + 1
    return None


def _to_plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k) if not isinstance(k, (str, int, bool)) else k: _to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_to_plain(v) for v in node]
    return node


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
        tree = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        # When the parser runs into the end of the file (an unclosed bracket, say), the problem mark is the last
        # line; the context mark, where the broken construct starts, is the line to fix.
        at_end = "<stream end>" in str(exc.problem)
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
    return Document(shown, _to_plain(tree), tree)


def dump(data: Any, stream: IO[str], header: str = "") -> None:
    """Write `data` as block-style YAML, with an optional comment header."""
    if header:
        stream.write("".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()))
    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    yaml.dump(data, stream)


def dumps(data: Any, header: str = "") -> str:
    buffer = io.StringIO()
    dump(data, buffer, header)
    return buffer.getvalue()
