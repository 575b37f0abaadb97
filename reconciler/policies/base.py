"""The interface every policy implements: something that decides, as opposed to something that exists.

A kind (kinds/) is a collection of resources that the config lists by natural key; the engine compares
the two sides and creates, updates or deletes. A policy is one mapping in the config, under its own
top-level key, that reads the account, decides about what it finds there, and returns changes to make
and items left to a person (plan.Change and plan.Attention, `kind` being the policy's name). It has no
natural key, nothing to prune or export, and no share-of-live-resources thresholds; it carries out its own
changes when a plan is applied. The engine runs the kinds, then the policies (pipeline.py), and apply
hands each change whose kind is a policy's name to that policy (apply.py). octoDNS keeps its processors
apart from its providers the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from reconciler.plan import Attention, Change, Step

if TYPE_CHECKING:
    from reconciler.api import Api
    from reconciler.kinds.base import ApplyContext
    from reconciler.states import LiveResource

Section = TypeVar("Section", bound=BaseModel)
Where = tuple[int | str, ...]  # a place inside a policy's section, e.g. ("rules", 2)


@dataclass
class Decisions:
    """What a policy decided: changes for apply, items for a person, and words for the plan's reader."""

    changes: list[Change] = field(default_factory=list)
    attention: list[Attention] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Policy(Generic[Section]):
    """A policy: its config section's model, what it reads, how it decides, how it applies its changes.

    Its changes are updates of things it read (answers); order.py puts updates with the other updates.
    """

    name: ClassVar[str]  # the config's top-level key, and the `kind` of its changes and items in a plan
    title: ClassVar[str]  # one decided thing in words, e.g. "port-out"
    model: type[Section]  # the section as the config writes it (extra="forbid")

    def fetch(self, api: Api, section: Section) -> list[LiveResource]:
        """What the policy decides about, read from the account (no more than the section needs)."""
        raise NotImplementedError

    def decide(self, section: Section, live: list[LiveResource]) -> Decisions:
        """Pure: the changes to make, the items left to a person, and notes, from the section and the read."""
        raise NotImplementedError

    def apply(self, api: Api, steps: list[Step], ctx: ApplyContext) -> None:
        """Carry out consecutive steps of this policy, calling `ctx.step_done` after each; raise
        PartialFailure naming what failed."""
        raise NotImplementedError

    def warnings(self, section: Section) -> list[tuple[Where, str]]:
        """What `validate` warns about, each with where in the section it is; by default nothing."""
        return []

    def irreversible_cap(self, section: Section) -> int | None:
        """How many irreversible changes one run may make (plan.check_safety), or None for no cap."""
        return None
