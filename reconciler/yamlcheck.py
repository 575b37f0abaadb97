"""What may reach a YAML parser, and what may come out of one. No YAML library here: the text and the data.

A stray byte must never make a parser read less than the file holds (yaml-rs stops at a NUL), nor two
parsers read it differently (a line separator is a line break to one and a character to the other). So
`read_text` gives the parser only UTF-8 text (a leading byte order mark dropped) that `check_text` passed:
no character YAML forbids, one document, no directive, no number of more digits than Python reads. After
parsing, `check_data` refuses nesting deeper than `MAX_DEPTH` and control characters written as escapes.
Each refusal names the file, line and column.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from reconciler.errors import ConfigError

BOM = b"\xef\xbb\xbf"
Loc = tuple[int | str, ...]  # a path into parsed YAML: mapping keys and list indexes


class Parsed(Protocol):
    """What `check_data` reads of a parsed file (yamlio.Document is one): its data, text and path, and the
    line and column of a path in it."""

    path: str
    data: Any
    text: str

    def locate(self, loc: Sequence[int | str]) -> tuple[int | None, int | None]: ...


MAX_DEPTH = 64  # a config needs about eight levels; ruamel, the merge of defaults and validation recurse
TOO_DEEP = f"the YAML is nested more than {MAX_DEPTH} levels deep"
DEPTH_HINT = "a config needs a few levels; flatten the structure"
MAX_INT_DIGITS = 4_300  # Python's own limit for turning digits into an int
# What YAML forbids (C0 but tab and line breaks, DEL, C1, non-characters), plus the line separators that
# YAML 1.1 parsers (ruamel) take for line breaks and YAML 1.2 parsers (yaml-rs) do not, and a byte order
# mark anywhere but at the start: each would make two parsers read the file differently.
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")
CHAR_NAMES = {0: "NUL", 0x1B: "ESC", 0x7F: "DEL", 0x85: "NEL", 0x2028: "LINE SEPARATOR",
              0x2029: "PARAGRAPH SEPARATOR", 0xFEFF: "BYTE ORDER MARK"}
DOCUMENT_MARK = re.compile(r"^(---|\.\.\.)(?=[ \t\r\n]|$)", re.M)
CONTENT_LINE = re.compile(r"^[ \t]*[^ \t\r\n#]", re.M)
DIRECTIVE = re.compile(r"^%", re.M)
LONG_NUMBER = re.compile(r"[0-9]{%d}" % (MAX_INT_DIGITS + 1))
CONTAINERS = frozenset({dict, list})  # a set built once: `in (dict, list)` builds the tuple for every value
# What the patterns above look for can be ruled out for a whole file in C: its bytes are mapped once to the
# few classes the patterns care about (SKETCH), and the sketch searched for what each pattern needs (a tenth
# of the cost of the regular expressions over 20 MB); a pattern runs only where it may match.
MAY_FORBID, DIGIT, MARK = b"!", b"0", b"-"


def _sketch_of(byte: int) -> bytes:
    """The class of a byte: one YAML may forbid (every byte beyond ASCII may belong to such a character), a
    digit, a line break, `%`, a byte of a document mark (`-` or `.`), or nothing the checks look for."""
    if byte > 0x7F or FORBIDDEN.match(chr(byte)):
        return MAY_FORBID
    if ord("0") <= byte <= ord("9"):
        return DIGIT
    if byte in b"\n%":
        return bytes([byte])
    return MARK if byte in b"-." else b" "


SKETCH = b"".join(map(_sketch_of, range(256)))


def read_text(path: Path) -> str:
    """The file as text: UTF-8 (a leading byte order mark dropped), with no character YAML forbids."""
    shown = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError.single(shown, None, None, f"cannot read the file: {exc.strerror}") from None
    raw = raw.removeprefix(BOM)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError.single(shown, line, column, f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x})",
                                 "save it as UTF-8") from None
    check_text(shown, text)
    # A block scalar on the last line reads with its final line break in one parser and without in another
    return text if text.endswith("\n") or not text else text + "\n"


def check_text(shown: str, text: str) -> None:
    """Refuse what two parsers could read differently, before either sees the text."""
    sketch = text.encode("utf-8", "surrogatepass").translate(SKETCH)
    bad = FORBIDDEN.search(text) if MAY_FORBID in sketch else None
    if bad is not None:
        raise ConfigError.single(shown, *position(text, bad.start()),
                                 f"the file holds the character {_char_name(bad.group())}, which YAML does not allow",
                                 "remove it: a parser that stops there would read less than the file holds")
    # `%` alone is found by memchr, several times faster than a search for a line that starts with it
    directive = DIRECTIVE.search(text) if b"%" in sketch and _may_start_a_line(sketch, b"%") else None
    if directive is not None:
        raise ConfigError.single(shown, *position(text, directive.start()), "YAML directives (`%YAML`, `%TAG`) are not supported",
                                 "remove the line; a config is plain YAML 1.2")
    if _may_start_a_line(sketch, MARK * 3):  # `---` or `...`
        _one_document(shown, text)
    # In UTF-8 every byte of a character beyond ASCII is above 0x7F, so a run of digit bytes is a run of digits.
    long_number = LONG_NUMBER.search(text) if DIGIT * (MAX_INT_DIGITS + 1) in sketch else None
    if long_number is not None:  # Python refuses to turn it into text, so no message could quote it
        raise ConfigError.single(shown, *position(text, long_number.start()),
                                 f"a number has more than {MAX_INT_DIGITS:,} digits", "shorten it")


def _may_start_a_line(sketch: bytes, prefix: bytes) -> bool:
    """Whether some line may begin with `prefix` (what `^prefix` under re.M needs)."""
    return sketch.startswith(prefix) or b"\n" + prefix in sketch


def _one_document(shown: str, text: str) -> None:
    start, opened = 0, False
    for mark in DOCUMENT_MARK.finditer(text):
        before = CONTENT_LINE.search(text, start, mark.start()) is not None
        if mark.group() == "..." or opened or before:
            raise ConfigError.single(shown, *position(text, mark.start()),
                                     f"a config file holds one YAML document; `{mark.group()}` here ends it or starts another",
                                     "split the documents into files of their own (a directory of files is merged)")
        opened, start = True, mark.end()


def check_data(document: Parsed) -> None:
    """Nesting depth (parsers and validation recurse), and control characters written as escapes (`"\\0"`)."""
    if _deeper_than(document.data, MAX_DEPTH):
        deep = next(loc for loc, _ in _walk(document.data) if len(loc) >= MAX_DEPTH)
        raise _issue(document, deep, TOO_DEEP, DEPTH_HINT)
    if "\\" not in document.text:  # only an escape can put a control character past check_text
        return
    for loc, value in _walk(document.data):
        bad = FORBIDDEN.search(value) if isinstance(value, str) else None
        if bad is not None:
            raise _issue(document, loc, f"a value holds the control character {_char_name(bad.group())}",
                         "remove the escape (such as `\\0` or `\\e`) from the quoted string")


def _deeper_than(data: Any, limit: int) -> bool:
    """Level by level, containers only, one comprehension a level: a tenth of the cost of a walk that keeps paths."""
    level = [data] if isinstance(data, (dict, list)) else []
    for _ in range(limit):
        level = [v for node in level for v in (node.values() if type(node) is dict else node) if type(v) in CONTAINERS]
        if not level:
            return False
    return True


def _walk(data: Any) -> Iterator[tuple[Loc, Any]]:
    """Every key and value with its path (a key is reported at its own path), depth first, to MAX_DEPTH."""
    stack: list[tuple[Any, Loc]] = [(data, ())]
    while stack:
        node, loc = stack.pop()
        yield loc, node
        if len(loc) >= MAX_DEPTH or not isinstance(node, (dict, list)):
            continue
        for key, value in node.items() if isinstance(node, dict) else enumerate(node):
            if isinstance(key, str):
                yield (*loc, key), key
            stack.append((value, (*loc, key)))


def _issue(document: Parsed, loc: tuple[int | str, ...], message: str, hint: str) -> ConfigError:
    line, column = document.locate(loc)
    return ConfigError.single(document.path, line, column, message, hint)


def position(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _char_name(char: str) -> str:
    code = ord(char)
    name = CHAR_NAMES.get(code)
    return f"U+{code:04X}" + (f" ({name})" if name else "")
