"""The README's config examples are real configs: each validates as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml_rs
from support import ROOT, Account

from reconciler.kinds import KINDS
from reconciler.policies import POLICIES
from reconciler.sandbox import Sandbox

BLOCK = re.compile(r"```yaml\n(.*?)```", re.S)
REFERENCE = re.compile(r"\$\{(env|file):([^}]+)\}")
TOP_LEVEL = {*KINDS, *POLICIES, "reconciler"}


def config_examples() -> list[str]:
    blocks = BLOCK.findall((ROOT / "README.md").read_text())
    return [b for b in blocks if isinstance(yaml_rs.loads(b), dict) and set(yaml_rs.loads(b)) <= TOP_LEVEL]


def test_the_readme_shows_an_example_of_every_kind_and_policy() -> None:
    shown = {key for block in config_examples() for key in yaml_rs.loads(block)}
    assert shown == TOP_LEVEL


@pytest.mark.parametrize("example", config_examples(), ids=lambda b: b.split(":", 1)[0])
def test_each_config_example_validates(example: str, tmp_path: Path) -> None:
    env = {}
    for source, name in REFERENCE.findall(example):
        if source == "file":
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text("example-value\n")
        else:
            env[name] = "example-value"
    config = tmp_path / "example.yaml"
    config.write_text(example)
    result = Account(Sandbox(), "http://127.0.0.1:9").run("validate", str(config), env=env)
    assert result.exit_code == 0, result.output
