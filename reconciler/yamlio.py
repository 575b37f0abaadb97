"""YAML in and out: the only module that imports a YAML library.

Configs of a hundred thousand phone numbers must load in about a second, so files are parsed with
yaml-rs (a Rust YAML 1.2 parser, some 15 times faster than libyaml here). The text it is given has
passed yamlcheck.py's byte rules, and the data it returns is checked there too. A file with aliases is
also read by ruamel.yaml's careful loader, and the two must agree: yaml-rs reads an alias inside its
own anchor as null.

Positions are needed only for error messages. `locate` finds a path's line by scanning the block
structure of the text (no parse), and hands the small region it ends in to ruamel's round-trip loader,
which keeps the line and column of every key and item; only when the region does not read back as the
data (flow style, anchors) is the whole file parsed again. ruamel also reports syntax errors of small
files (its messages say more) and writes YAML.
"""

from __future__ import annotations

import bisect
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml_rs
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from reconciler.errors import ConfigError
from reconciler.yamlcheck import CONTENT_LINE, DEPTH_HINT, TOO_DEEP, check_data, position, read_text

MERGE_KEY = "<<"
FULL_SYNTAX_CHECK = 1_000_000  # characters: above this, a syntax error is told in the fast parser's words
DASH = re.compile(r"-(?=[ \r\n]|$)", re.M)
NEXT_CONTENT_LINE = re.compile(r"\n[ \t]*[^ \t\r\n#]")
ALIAS = re.compile(r"(?:^|[ \t\[{,])\*[^ \t\r\n\[\]{},]")


@dataclass
class Document:
    """One parsed YAML file: plain data plus a way back to the source position of any path in it."""

    path: str
    data: Any
    text: str
    _tree: Any = None
    _scan: Any = None
    _unreadable: bool = False
    _forgotten: bool = False

    def forget_data(self) -> None:
        """Drop the parsed data once the config has been built from it: for 100,000 phone numbers it is over
        100 MB that nothing reads again unless a message needs a line, and then `locate` parses the text again."""
        self.data, self._forgotten = None, True

    def _data(self) -> Any:
        if self._forgotten:
            self.data, self._forgotten = _parse(self.text), False
        return self.data

    def locate(self, loc: Sequence[int | str]) -> tuple[int | None, int | None]:
        """1-based (line, column) of the deepest node of `loc` that exists in the file."""
        if self._tree is None:
            if self._scan is None:
                self._scan = _Scanner(self.text)
            found = self._scan.locate(self._data(), loc) if MERGE_KEY not in self.text else None
            if found is not None:
                return found
            if not self._unreadable:
                try:
                    self._tree = _parse_positions(self.path, self.text)
                except ConfigError:  # the careful parser fails where the fast one did not (nested too deep, say)
                    self._unreadable = True
            if self._tree is None:
                return self._scan.reached
        return _locate_in_tree(self._tree, loc, 0, 0)


def _locate_in_tree(tree: Any, loc: Sequence[int | str], line_offset: int, column_offset: int) -> tuple[int | None, int | None]:
    node = tree
    line, column = (1 + line_offset, 1 + column_offset) if isinstance(node, (CommentedMap, CommentedSeq)) else (None, None)
    for part in loc:
        position = _position_of(node, part)
        if position is None:
            break
        line, column = position[0] + line_offset, position[1] + column_offset
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


@dataclass(frozen=True)
class _Region:
    """A block node: text[start:end], whose content starts at column `indent` of each of its lines (on the
    first line, what precedes that column may be the dash of the sequence item the node is)."""

    start: int
    end: int
    indent: int


_Step = tuple[tuple[int, int], "_Region | None"]  # the (line, column) of a key or item, and its block value


class _Scanner:
    """Finds the line of a path in block-style YAML without parsing it. In a block mapping at column n, a key
    is a line of n spaces, the key and a colon; in a block sequence, an item is a line of n spaces and a dash;
    a node ends at the next line with content further left. Where the path goes on inside a value this
    cannot follow (flow style, anchors), ruamel reads the small region reached so far, and that region must
    read back as the data there; otherwise `locate` answers None and the whole file is parsed."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.steps: dict[tuple[_Region, int | str], _Step | None] = {}
        self.dashes: dict[_Region, list[int]] = {}
        self.reached: tuple[int | None, int | None] = (None, None)  # the deepest position the last scan found
        self.line_ends: list[int] | None = None

    def locate(self, data: Any, loc: Sequence[int | str]) -> tuple[int, int] | None:
        region = self.top()
        self.reached = (None, None)
        if region is None:
            return None
        node, position = data, (self.line_of(region.start), region.indent + 1)
        for index, part in enumerate(loc):
            if not _has(node, part):
                return position
            if (region, part) not in self.steps:
                self.steps[(region, part)] = self.item(region, part) if isinstance(part, int) else self.value(region, str(part))
            step = self.steps[(region, part)]
            if step is None:
                return self.finish(region, node, loc[index:])
            position, inner = step
            self.reached = position
            if inner is None:
                return position if index == len(loc) - 1 else self.finish(region, node, loc[index:])
            region, node = inner, node[part]
        return position

    def line_of(self, offset: int) -> int:
        if self.line_ends is None:  # built once: many errors in a large file each need a line
            self.line_ends = [m.start() for m in re.finditer("\n", self.text)]
        return bisect.bisect_left(self.line_ends, offset) + 1

    def top(self) -> _Region | None:
        first = CONTENT_LINE.search(self.text)
        if first is None or self.text.startswith(("---", "%"), first.end() - 1):
            return None
        return _Region(first.start(), len(self.text), first.end() - 1 - first.start())

    def lines_matching(self, body: str, start: int, end: int) -> Iterator[int]:
        """Offsets of the lines starting in [start, end) that match `body` from their first column. Anchored
        on the line break before them, which scans several times faster than `^` with re.MULTILINE."""
        if start == 0 and re.compile(body).match(self.text, 0, end):
            yield 0
        for match in re.compile("\n(?:%s)" % body).finditer(self.text, max(start - 1, 0), end):
            yield match.start() + 1

    def content_lines(self, region: _Region, pattern: str) -> list[int]:
        """Offsets of the lines of `region` whose content at its column matches `pattern`."""
        column = region.indent
        found = list(self.lines_matching(r" {%d}(?:%s)" % (column, pattern), region.start, region.end))
        first = re.compile(pattern).match(self.text, region.start + column, region.end)
        if first is not None and (not found or found[0] != region.start):
            found.insert(0, region.start)  # the first line may begin with the dash of the item this node is
        return found

    def item(self, region: _Region, index: int) -> _Step | None:
        if region not in self.dashes:
            self.dashes[region] = self.content_lines(region, DASH.pattern)
        dashes = self.dashes[region]
        if not dashes or dashes[0] != region.start or index >= len(dashes):
            return None
        end = dashes[index + 1] if index + 1 < len(dashes) else region.end
        after = region.indent + 1
        rest = self.text[dashes[index] + after:end]
        spaces = len(rest) - len(rest.lstrip(" "))
        position = (self.line_of(dashes[index]), after + spaces + 1)
        if not rest[spaces:spaces + 1] or rest[spaces] in "\r\n#&!*":
            return position, None  # content below the dash, or an anchor, tag or alias: ruamel reads it
        return position, _Region(dashes[index], end, after + spaces)

    def value(self, region: _Region, key: str) -> _Step | None:
        if not _plain_key(key):
            return None
        quoted = re.escape(key)
        keys = self.content_lines(region, r"(?:%s|\"%s\"|'%s')[ \t]*:(?=[ \t\r\n]|$)" % (quoted, quoted, quoted))
        if not keys:
            return None
        position = (self.line_of(keys[0]), region.indent + 1)
        line_end = self.text.find("\n", keys[0], region.end)
        if line_end < 0 or self.text[keys[0] + region.indent:line_end].split(":", 1)[-1].split(" #", 1)[0].strip():
            return position, None  # the value is on the key's line (a scalar or flow collection)
        below = NEXT_CONTENT_LINE.search(self.text, line_end, region.end)
        if below is None:
            return position, None
        start = below.start() + 1
        column = below.end() - 1 - start
        indentless = column == region.indent and DASH.match(self.text, below.end() - 1) is not None
        if column <= region.indent and not indentless:
            return position, None
        shallower = r" {0,%d}[^ \t\r\n#]" % (column - 1) if column else ""
        end = shallower
        if indentless:  # `key:` then `- item` at the key's column: the sequence ends at the next key
            at_column = r" {%d}(?!-[ \r\n]|-$)[^ \t\r\n#]" % column
            end = f"{shallower}|{at_column}" if shallower else at_column
        after = next(self.lines_matching(end, start, region.end), region.end)
        return position, _Region(start, after, column)

    def finish(self, region: _Region, node: Any, rest: Sequence[int | str]) -> tuple[int, int] | None:
        """The rest of the path inside `region`, from ruamel's parse of just that region."""
        column = region.indent
        lines = self.text[region.start:region.end].split("\n")
        lines[0] = " " * column + lines[0][column:]
        dedented = "\n".join(line[column:] if not line[:column].strip(" ") else "" for line in lines)
        try:
            tree = YAML(typ="rt").load(dedented)
        except Exception:  # noqa: BLE001 - a region cut out of its file may not read alone: the whole file is parsed
            return None
        if tree != node:
            return None
        line, found_column = _locate_in_tree(tree, rest, self.line_of(region.start) - 1, column)
        return (line, found_column) if line is not None and found_column is not None else None


def _has(node: Any, part: int | str) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _plain_key(key: str) -> bool:
    return bool(key) and not re.search(r"[\n:#]", key) and not key.startswith((" ", "-", "?", "&", "*", "!", "[", "{", "'", '"'))


def load(path: Path) -> Document:
    """Parse one YAML file. Bad bytes, syntax errors and duplicate keys become a ConfigError with the line."""
    shown = str(path)
    text = read_text(path)
    try:
        data = _parse(text)
    except yaml_rs.YAMLDecodeError as exc:
        if "recursion limit" in str(exc):
            raise ConfigError.single(shown, *_line_of(str(exc)), TOO_DEEP, DEPTH_HINT) from None
        if len(text) <= FULL_SYNTAX_CHECK:
            _parse_positions(shown, text)  # raises with ruamel's message and position
        raise ConfigError.single(shown, *_line_of(str(exc)), f"invalid YAML: {str(exc).splitlines()[-1]}") from None
    if "*" in text and ALIAS.search(text):
        _check_aliases(shown, text, data)
    document = Document(shown, data, text)
    check_data(document)
    return document


def _parse(text: str) -> Any:
    """The data of text that read_text passed, merge keys resolved."""
    # YAML 1.2 has no timestamps, and yaml-rs would read a block scalar (`|`) holding a date as one
    data = yaml_rs.loads(text, parse_datetime=False)
    return _merge_keys(data) if MERGE_KEY in text else data


def _check_aliases(shown: str, text: str, data: Any) -> None:
    """yaml-rs reads an alias to a node that holds it (`a: &x {b: *x}`) as null: the careful parser
    reads files with aliases too, and both must give the same data."""
    try:
        careful = careful_load(text)
        same = careful == data
    except RecursionError:
        same = False
    except Exception:  # noqa: BLE001 - whatever the careful parser refuses, the file is refused
        _parse_positions(shown, text)  # raises with the careful parser's message and position
        same = False
    if not same:
        found = ALIAS.search(text)
        raise ConfigError.single(shown, *position(text, found.end() - 1 if found else 0),
                                 "an alias (`*name`) here or below refers to a node that contains it, or reads ambiguously",
                                 "write the values out instead of the alias")


def careful_load(text: str) -> Any:
    """ruamel's pure-Python safe loader, YAML 1.2 without timestamps, as the fast parser reads it."""
    yaml = YAML(typ="safe", pure=True)
    yaml.Constructor = _NoTimestamps
    return yaml.load(text)


class _NoTimestamps(SafeConstructor):
    """Reads a timestamp as the string it is written as."""


_NoTimestamps.add_constructor("tag:yaml.org,2002:timestamp", SafeConstructor.construct_yaml_str)


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
    except RecursionError:
        raise ConfigError.single(shown, None, None, TOO_DEEP, DEPTH_HINT) from None
    except Exception as exc:  # noqa: BLE001 - ruamel's round-trip loader has failures of its own (merging a null)
        raise ConfigError.single(shown, None, None, f"invalid YAML: {type(exc).__name__}") from None


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
