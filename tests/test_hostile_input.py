"""Hostile input through the real CLI: each case is the bytes of a config (or a plan file, or a seed), the
exit code and words expected, and no request sent to the account.

Bytes that two parsers could read differently are refused with file and line before any parser sees
them; `${env:}` never reads the tool's credentials or CI tokens, and in a field plans show only a variable
listed under `reconciler.variables`; `${file:}` reads only small regular files inside the config's root.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from support import API_KEY, Account, served

from reconciler.cli import redact
from reconciler.plan import Action, Change, Plan
from reconciler.references import MAX_FILE_VALUE
from reconciler.render import render
from reconciler.sandbox import Sandbox

PRUNED = b"reconciler:\n  prune: [billing_groups, access_ips]\n"


def _fifo(directory: Path) -> None:
    os.mkfifo(directory / "pipe")


def _escape_by_symlink(directory: Path) -> None:
    (directory.parent / "outside.txt").write_text("a value outside the root\n")
    (directory / "inside.txt").symlink_to(directory.parent / "outside.txt")


def _big_file(directory: Path) -> None:
    (directory / "big.txt").write_text("x" * (MAX_FILE_VALUE + 1))


def _a_directory(directory: Path) -> None:
    (directory / "sub").mkdir()


def _git_checkout(directory: Path) -> None:
    (directory / ".git").mkdir()
    (directory / ".git" / "config").write_text('[http]\n  extraheader = "AUTHORIZATION: basic c2VjcmV0LXRva2Vu"\n')


def _short_secret(directory: Path) -> None:
    (directory / "token.txt").write_text("s\n")


@dataclass
class Case:
    config: bytes
    line: int | None  # the line the message names, when there is one
    words: str
    env: dict[str, str] = field(default_factory=dict)
    setup: Callable[[Path], None] | None = None
    code: int = 1


SECRET = "integration_secrets:\n  - identifier: crm\n    type: bearer\n    token: "
CASES: dict[str, Case] = {
    # bytes (issue items 1 and 11)
    "NUL in a comment": Case(PRUNED + b"billing_groups:\n  - name: Ops  # x\x00y\n  - name: Dev\n", 4, "U+0000 (NUL)"),
    "ESC in a value": Case(b"billing_groups:\n  - name: a\x1b[2Jb\n", 2, "U+001B (ESC)"),
    "C1 control": Case(b"billing_groups:\n  - name: a\xc2\x9bb\n", 2, "U+009B"),
    "line separator in a comment": Case(b"billing_groups:\n  - name: Ops  # \xe2\x80\xa8prune: []\n", 2, "U+2028"),
    "BOM inside": Case(b"billing_groups:\n  - name: O\xef\xbb\xbfps\n", 2, "BYTE ORDER MARK"),
    "not UTF-8": Case(b"billing_groups:\n  - name: Caf\xe9\n", 2, "not UTF-8 text (byte 0xe9)"),
    "NUL escaped in a name": Case(b'billing_groups:\n  - name: "Ops\\0"\n', 2, "control character U+0000"),
    "ESC escaped in a name": Case(b'billing_groups:\n  - name: "Ops\\e[2J"\n', 2, "control character U+001B"),
    "a second document": Case(b"billing_groups:\n  - name: Ops\n---\naccess_ips: []\n", 3, "one YAML document"),
    "a directive": Case(b"%YAML 1.1\n---\nbilling_groups:\n  - name: Ops\n", 1, "directives"),
    "nested 250 levels, block": Case(b"".join(b" " * i + b"a:\n" for i in range(250)) + b" " * 250 + b"b: 1\n", None, "nested more than 64"),
    "nested 250 levels, flow": Case(b"billing_groups: " + b"[" * 250 + b"]" * 250 + b"\n", 1, "nested more than 64"),
    "nested 300 levels, compact": Case(b"billing_groups:\n" + b"- " * 300 + b"x\n", None, "nested more than 64"),
    "4,301 digits next to an error": Case(b"billing_groups:\n  - name: Ops\n    bogus: " + b"7" * 4301 + b"\n  - nme: x\n", 3, "more than 4,300 digits"),
    "an alias inside its anchor": Case(b"billing_groups: &all\n  - name: Ops\n  - *all\n", 3, "alias"),
    "BOM at the start is read": Case(b"\xef\xbb\xbfbilling_groups:\n  - name: Ops\n", None, "Valid: 1 resource(s)", code=0),
    # ${env:} (item 2)
    "the API key": Case(b"billing_groups:\n  - name: ${env:TELNYX_API_KEY}\n", 2, "the tool's credentials or a CI token"),
    "the state key": Case(SECRET.encode() + b"${env:TELNYX_RECONCILER_STATE_KEY}\n", 4, "the tool's credentials",
                          env={"TELNYX_RECONCILER_STATE_KEY": "state-key-value-1234"}),
    "GITHUB_TOKEN in a secret": Case(SECRET.encode() + b"${env:GITHUB_TOKEN}\n", 4, "CI token", env={"GITHUB_TOKEN": "ghs_secret_value"}),
    "ACTIONS_ variables": Case(b"billing_groups:\n  - name: ${env:ACTIONS_RUNTIME_TOKEN}\n", 2, "CI token",
                               env={"ACTIONS_RUNTIME_TOKEN": "runtime-token"}),
    "GitLab's job token": Case(b"billing_groups:\n  - name: x-${env:CI_JOB_TOKEN}\n", 2, "CI token", env={"CI_JOB_TOKEN": "glcbt-1"}),
    "an undeclared variable in a name": Case(b"billing_groups:\n  - name: ${env:TEAM}-billing\n", 2,
                                             "${env:TEAM} is not listed under `reconciler.variables`", env={"TEAM": "ops"}),
    "a declared variable": Case(b"reconciler:\n  variables: [TEAM]\nbilling_groups:\n  - name: ${env:TEAM}-billing\n", None,
                                "Valid: 1 resource(s)", env={"TEAM": "ops"}, code=0),
    "declaring the API key": Case(b"reconciler:\n  variables: [TELNYX_API_KEY]\n", 2, "TELNYX_API_KEY cannot be used"),
    "a secret from any variable": Case(SECRET.encode() + b"${env:CRM_TOKEN}\n", None, "Valid: 1 resource(s)",
                                       env={"CRM_TOKEN": "a-long-enough-token"}, code=0),
    "a control character from a variable": Case(b"reconciler:\n  variables: [TEAM]\nbilling_groups:\n  - name: ${env:TEAM}\n", 4,
                                                "holds a control character (U+001B)", env={"TEAM": "x\x1b[2J"}),
    # ${file:} (item 2)
    "an absolute path": Case(SECRET.encode() + b"${file:/proc/self/environ}\n", 4, "absolute path is not allowed"),
    "a device": Case(SECRET.encode() + b"${file:/dev/zero}\n", 4, "absolute path is not allowed"),
    "a home path": Case(SECRET.encode() + b"${file:~/.netrc}\n", 4, "absolute path is not allowed"),
    "a .. escape": Case(SECRET.encode() + b"${file:../outside.txt}\n", 4, "outside the config's root", setup=_escape_by_symlink),
    "a symlink out": Case(SECRET.encode() + b"${file:inside.txt}\n", 4, "outside the config's root", setup=_escape_by_symlink),
    "git's credentials": Case(SECRET.encode() + b"${file:.git/config}\n", 4, "inside .git", setup=_git_checkout),
    "a FIFO": Case(SECRET.encode() + b"${file:pipe}\n", 4, "not a regular file", setup=_fifo),
    "a directory": Case(SECRET.encode() + b"${file:sub}\n", 4, "not a regular file", setup=_a_directory),
    "over 64 KiB": Case(SECRET.encode() + b"${file:big.txt}\n", 4, "larger than 64 KiB", setup=_big_file),
    # short secrets (item 5)
    "a one-letter secret": Case(SECRET.encode() + b"${file:token.txt}\n", 4, "shorter than 8 characters", setup=_short_secret),
}


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_config(account: Account, tmp_path: Path, name: str) -> None:
    case = CASES[name]
    root = tmp_path / "config"
    root.mkdir()
    if case.setup:
        case.setup(root)
    path = root / "telnyx.yaml"
    path.write_bytes(case.config)
    for command in ("validate", "plan"):
        result = account.run(command, str(path), env=case.env)
        if command == "plan" and case.code == 0:
            continue  # a valid config is planned: that reads the account
        assert result.exit_code == case.code, result.output
        shown = result.stdout if case.code == 0 else result.stderr
        assert case.words in shown, shown
        if case.line is not None:
            assert f"{path}:{case.line}:" in shown
        assert "Traceback" not in result.output and "\x1b" not in result.output and "\x00" not in result.output
        assert API_KEY not in result.output and "ghs_secret_value" not in result.output
    if case.code:
        assert account.request_count() == 0


def _saved_plan(account: Account, tmp_path: Path) -> dict:
    config = tmp_path / "telnyx.yaml"
    config.write_text("billing_groups:\n  - name: Hostile\n")
    planfile = tmp_path / "reviewed.plan"
    assert account.run("plan", str(config), "--out", str(planfile)).exit_code == 0
    return json.loads(planfile.read_text())


def _first_change(document: dict, **changed: object) -> dict:
    document["plan"]["changes"][0].update(changed)
    return document


PLANFILES: dict[str, tuple[Callable[[dict], object], str]] = {
    "a bad action": (lambda d: _first_change(d, action="explode"), "damaged plan file: 'explode' is not a valid Action"),
    "a missing key": (lambda d: d["plan"]["changes"][0].pop("kind") and d, "damaged plan file: the key 'kind' is missing"),
    "changes not a list": (lambda d: d["plan"].update(changes={"a": 1}) or d, "`plan.changes` is not a list"),
    "changed fields not a list of mappings": (lambda d: _first_change(d, changed_fields=[1]), "damaged plan file"),
    "config not a list": (lambda d: d.update(config="telnyx.yaml") or d, "`config`, `targets` or `force`"),
    "no plan at all": (lambda d: d.pop("plan") and d, "the key 'plan' is missing"),
    "not a plan but JSON": (lambda d: {"billing_groups": []}, "is not a plan file"),
    "not JSON": (lambda d: "billing_groups:\n  - name: x\n", "is not a plan file (it is not JSON)"),
}


@pytest.mark.parametrize("name", list(PLANFILES))
def test_a_damaged_plan_file_is_one_message(account: Account, tmp_path: Path, name: str) -> None:
    damage, words = PLANFILES[name]
    damaged = damage(_saved_plan(account, tmp_path))
    planfile = tmp_path / "damaged.plan"
    planfile.write_text(damaged if isinstance(damaged, str) else json.dumps(damaged))
    before = account.request_count()
    result = account.run("apply", str(planfile))
    assert result.exit_code == 1 and words in result.stderr, result.output
    assert "the config is invalid" not in result.stderr and "Traceback" not in result.output
    assert account.request_count() == before


SEEDS = {
    "not a mapping": (b"- billing_groups\n", "expected a mapping"),
    "bad YAML": (b"billing_groups: [x\n", "cannot read seed"),
    "a NUL": (b"billing_groups:\n  - name: a\x00\n", "cannot read seed"),
    "nested deeply": (b"billing_groups: " + b"[" * 2000 + b"]" * 2000 + b"\n", "cannot read seed"),
    "an unknown collection": (b"billing_group: []\n", "unknown seed collection"),
    "a refused entry": (b"phone_numbers:\n  - phone_number: nope\n", "phone_numbers[0]"),
}


@pytest.mark.parametrize("name", list(SEEDS))
def test_a_bad_seed_file_is_one_message(account: Account, tmp_path: Path, name: str) -> None:
    text, words = SEEDS[name]
    seed = tmp_path / "seed.yaml"
    seed.write_bytes(text)
    result = account.run("sandbox", "--port", "0", "--seed", str(seed))
    assert result.exit_code == 1 and "the seed is invalid" in result.stderr and words in result.stderr, result.output
    assert "Traceback" not in result.output


# --- names are shown, never executed (item 10), secrets scrubbed in every form (item 5) ------------------

EVIL = "evil\x1b[2J\x9b31m|`x`</details>*bold*"
LONG = "L" * 100_000


def test_hostile_names_from_the_account_are_escaped_in_plans_and_progress(tmp_path: Path) -> None:
    config = tmp_path / "telnyx.yaml"
    config.write_text("reconciler:\n  prune: [billing_groups]\nbilling_groups:\n  - name: Ops\n")
    with served(Sandbox(api_key=API_KEY, seed={"billing_groups": [{"name": EVIL}, {"name": LONG}]})) as account:
        outputs = [account.run("plan", str(config), "--format", fmt).stdout for fmt in ("text", "markdown", "json")]
        applied = account.run("apply", str(config), "--auto-approve", "--force")
    text, markdown, as_json = outputs
    assert EVIL in {change["key"] for change in json.loads(as_json)["changes"]}  # JSON escapes, and keeps the name whole
    for shown in (text, markdown, as_json, applied.output):
        assert "\x1b" not in shown and "\x9b" not in shown
        assert shown is as_json or shown.count("L" * 1000) <= 1  # a long name is cut in headings
    assert "billing_groups[evil\\x1b[2J\\x9b31m|`x`</details>*bold*]" in text
    row = next(line for line in markdown.splitlines() if "evil" in line)
    assert row.count(" | ") == 3 and "\\|" in row and "``" in row  # the table keeps its four cells
    assert applied.exit_code == 0 and "deleted billing_groups[evil\\x1b[2J" in applied.output
    assert "more characters)" in applied.output


@pytest.mark.parametrize(
    "form",
    [
        lambda s: json.dumps({"detail": s}),
        lambda s: json.dumps({"detail": s}, ensure_ascii=False),
        lambda s: json.dumps(s).replace("/", "\\/"),
        lambda s: repr({"token": s}),
        lambda s: "GET /x?token=" + quote(s, safe=""),
        lambda s: "token=" + quote_plus(s),
    ],
    ids=["json", "json-utf8", "json-slash", "repr", "url", "form"],
)
def test_secrets_are_scrubbed_when_quoted_escaped(form: Callable[[str], str]) -> None:
    secret = 'to"ken\\with/slash\'é &=+'
    redact.register([secret])
    shown = redact.scrub(f"the API said: {form(secret)}")
    assert "(sensitive)" in shown and "slash" not in shown, shown


def test_markdown_cells_escape_what_would_end_the_table_or_the_details_block() -> None:
    change = Change("billing_groups", "a`b|c", Action.CREATE, None, {"name": "</details> | `x` *y*"}, reason="</details>")
    out = io.StringIO()
    render(Plan((change,)), "markdown", out)
    row = next(line for line in out.getvalue().splitlines() if "billing_groups" in line)
    assert "</details>" not in row and "\\</details\\>" in row and "\\*y\\*" in row
    assert "``billing_groups[a`b\\|c]``" in row and row.count(" | ") == 3
