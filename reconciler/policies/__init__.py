"""The registry of policies: one entry per policy. A policy decides about what it reads in the account
(policies/base.py); it is not a resource kind, and the kinds' registry (kinds/__init__.py) does not list it.
A new policy is a module in this package and one line here."""

from __future__ import annotations

from typing import Any

from reconciler.policies.base import Decisions, Policy
from reconciler.policies.portout import PortoutAnswers

POLICIES: dict[str, Policy[Any]] = {
    policy.name: policy
    for policy in (
        PortoutAnswers(),
    )
}

__all__ = ["POLICIES", "Decisions", "Policy"]
