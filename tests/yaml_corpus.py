"""A seeded generator of YAML documents, ordinary and hostile, for the differential test of yamlio.

Each document is built from the same pieces a config uses (block and flow collections, every scalar
style, anchors, aliases and merge keys, comments) and then, for some, damaged: a control character, a
byte order mark, a line separator, a document marker or deep nesting put somewhere in the text.
"""

from __future__ import annotations

import random

PLAIN = ["Ops", "203.0.113.7", "+13125550001", "true", "no", "~", "null", "12", "-7", "0x1F", "0o17", "1.5e3", ".inf",
         "2024-01-01", "2024-01-01T10:00:00Z", "a b c", "x:y", "tag-1", "é", "日本", "1_000", "=", "<<"]
CONTROL = ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\x9b", "\u2028", "\u2029", "\ufeff", "\ufffe"]
ESCAPES = ["\\0", "\\x1b", "\\t", "\\n", "\\u00e9", "\\\\", '\\"', "\\e", "\\a", "\\N", "\\L", "\\_"]


class Corpus:
    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.anchors: list[str] = []

    def document(self) -> str:
        self.anchors = []
        text = self.block_mapping(0, self.random.randint(1, 4))
        return self.damage(text) if self.random.random() < 0.5 else text

    def key(self) -> str:
        return self.random.choice(["name", "tags", "billing_groups", "a", "b", "'quoted key'", '"dq"', "k1", "x y"])

    def scalar(self, indent: int) -> str:
        choice = self.random.randrange(7)
        word = self.random.choice(PLAIN)
        if choice == 0 and word not in ("<<", "="):
            return word
        if choice == 1:
            return "'" + word.replace("'", "''") + " it''s'"
        if choice == 2:
            return '"' + word + self.random.choice(ESCAPES) + '"'
        if choice in (3, 4):
            pad = " " * (indent + 2)
            indicator = self.random.choice(["|", ">", "|-", ">+", "|2"]) if choice == 3 else "|"
            body = "".join(f"{pad}{self.random.choice(PLAIN)}\n" for _ in range(self.random.randint(1, 3)))
            return f"{indicator}\n{body.rstrip(chr(10))}"
        if choice == 5 and self.anchors:
            return "*" + self.random.choice(self.anchors)
        return self.random.choice(["Ops", "x", "'1'", '"2"', "[a, b]", "{k: v}", "[]", "{}"])

    def value(self, indent: int, depth: int) -> str:
        roll = self.random.random()
        if depth <= 0 or roll < 0.5:
            return " " + self.scalar(indent)
        if roll < 0.6:
            name = f"a{len(self.anchors)}"
            self.anchors.append(name)
            return f" &{name}\n" + self.block_mapping(indent + 2, depth - 1)
        if roll < 0.8:
            return "\n" + self.block_sequence(indent + self.random.choice([0, 2]), depth - 1)
        return "\n" + self.block_mapping(indent + 2, depth - 1)

    def block_mapping(self, indent: int, depth: int) -> str:
        lines, used = [], set()
        for _ in range(self.random.randint(1, 4)):
            key = self.key()
            if key in used:
                continue
            used.add(key)
            if self.anchors and self.random.random() < 0.1 and "<<" not in used:
                used.add("<<")
                lines.append(f"{' ' * indent}<<: *{self.random.choice(self.anchors)}")
            comment = "  # note" if self.random.random() < 0.2 else ""
            lines.append(f"{' ' * indent}{key}:{self.value(indent, depth)}{comment}")
        return "\n".join(lines)

    def block_sequence(self, indent: int, depth: int) -> str:
        items = []
        for _ in range(self.random.randint(1, 3)):
            if depth > 0 and self.random.random() < 0.5:
                inner = self.block_mapping(indent + 2, depth - 1)
                items.append(f"{' ' * indent}- {inner.lstrip(' ')}")
            else:
                items.append(f"{' ' * indent}- {self.scalar(indent)}")
        return "\n".join(items)

    def damage(self, text: str) -> str:
        where = self.random.randrange(len(text) + 1)
        kind = self.random.randrange(6)
        if kind == 0:
            return text[:where] + self.random.choice(CONTROL) + text[where:]
        if kind == 1:
            return "\ufeff" + text
        if kind == 2:
            return text + "\n---\nextra: 1\n"
        if kind == 3:
            depth = self.random.choice([70, 260])
            return text + "\ndeep: " + "[" * depth + "]" * depth + "\n"
        if kind == 4:
            return text.replace("\n", "\r\n")
        return text[:where] + "\n# a comment with \u2028 and \x85\n" + text[where:]
