"""What every evaluation protocol shares: additive state, per-category groups, merge and compute.

A protocol scores one (item, prediction) pair with a pure function, :meth:`Protocol.score`, which
returns the increments of its accumulators (exact integer pixel counts, sample counts, and one float
IoU sum). :meth:`Protocol.update` adds them to the ``"all"`` group and to the item's category group.
:meth:`Protocol.merge` adds another protocol's (or a saved ``state``'s) accumulators field by field,
so shards evaluated apart — in other processes, on other machines — give exactly the result of one
pass (as the official code's ``all_reduce`` does). :meth:`Protocol.compute` reads only the state.

Every metric is reported in **percent** (gIoU, cIoU, N-Acc, T-Acc, Pr@X), whatever unit the official
code prints (METRICS.md §7). A ratio the official code would divide by zero for is ``None``, and
``undefined`` says why, instead of a crash.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from groundv.errors import ConfigError
from groundv.eval.records import Item, Prediction

__all__ = ["ALL", "Metrics", "Protocol", "State"]

ALL = "all"

State = dict[str, int | float]
Metrics = dict[str, float | None]


class Protocol(ABC):
    """Base of the gres, lisa, gsva and psalm protocols.

    Subclasses declare :attr:`FIELDS` (their additive accumulators) and :attr:`COUNT`, implement :meth:`score` (one
    item's increments) and :meth:`metrics` (metrics in percent from one group's state), and may
    describe undefined metrics in :attr:`UNDEFINED`.

    Example:
        >>> from groundv.eval import get_protocol  # doctest: +SKIP
        >>> gres = get_protocol("gres")  # doctest: +SKIP
        >>> for item, pred in pairs: gres.update(item, pred)  # doctest: +SKIP
        >>> gres.compute()["giou"]  # doctest: +SKIP
    """

    #: name used on the command line
    name: ClassVar[str]
    #: the additive accumulators, in a stable order
    FIELDS: ClassVar[tuple[str, ...]]
    #: the field that counts samples
    COUNT: ClassVar[str]
    #: metric name → why it is undefined when :meth:`metrics` returns None for it
    UNDEFINED: ClassVar[Mapping[str, str]] = {}
    #: the pure per-item function: ``increments(item, prediction, **options) -> State``
    increments: ClassVar[Callable[..., State]]

    def __init__(self, **options: bool) -> None:
        for key, value in options.items():
            if not isinstance(value, bool):
                raise ConfigError(f"protocol {self.name!r}: {key} must be true or false, got {value!r}")
        self._options = options
        self.groups: dict[str, State] = {}

    # -- the contract ----------------------------------------------------------------------------

    @property
    def options(self) -> dict[str, Any]:
        """The options this protocol was built with (they are part of what its numbers mean)."""
        return dict(self._options)

    def score(self, item: Item, prediction: Prediction) -> State:
        """The increments one item adds to each field of :attr:`FIELDS` (a pure function)."""
        return type(self).increments(item, prediction, **self._options)

    @abstractmethod
    def metrics(self, state: Mapping[str, int | float]) -> Metrics:
        """Metrics in percent from one group's accumulators; None where undefined."""

    def update(self, item: Item, prediction: Prediction) -> State:
        """Score one item and add it to the ``all`` group and its category's group; returns the increments."""
        increments = self.score(item, prediction)
        self._add(ALL, increments)
        if item.category is not None:
            self._add(item.category, increments)
        return increments

    def merge(self, other: Protocol | Mapping[str, Mapping[str, int | float]]) -> None:
        """Add another protocol's accumulators (or a ``state`` dict from :meth:`compute`) to this one.

        Raises:
            ConfigError: the other state belongs to another protocol (its fields differ) or was built
                with other options.
        """
        groups = other.groups if isinstance(other, Protocol) else other
        if isinstance(other, Protocol) and type(other) is not type(self):
            raise ConfigError(f"cannot merge a {other.name!r} state into a {self.name!r} protocol")
        if isinstance(other, Protocol) and other.options != self.options:
            raise ConfigError(f"cannot merge a {self.name} state built with {other.options} into one built with "
                              f"{self.options}")
        for name, state in groups.items():
            if set(state) != set(self.FIELDS):
                raise ConfigError(f"state group {name!r} has fields {sorted(state)}, expected "
                                  f"{sorted(self.FIELDS)} of protocol {self.name!r}")
            self._add(name, state)

    def compute(self) -> dict[str, Any]:
        """Metrics of the ``all`` group, ``by_category`` metrics and the raw ``state``.

        Returns:
            ``{"protocol", "unit": "percent", "options", <metric>: value, "count", "undefined": {metric: why},
            "by_category": {category: {<metric>: value, "count", "undefined"}}, "state": {...}}``
        """
        result: dict[str, Any] = {"protocol": self.name, "unit": "percent", "options": self.options}
        result.update(self._group_result(self.groups.get(ALL, self._zero())))
        result["by_category"] = {name: self._group_result(state)
                                 for name, state in sorted(self.groups.items()) if name != ALL}
        result["state"] = {name: dict(state) for name, state in self.groups.items()}
        return result

    def reset(self) -> None:
        """Forget every accumulated item."""
        self.groups.clear()

    @property
    def state(self) -> dict[str, State]:
        """The raw accumulators per group (a copy), JSON-ready and mergeable."""
        return {name: dict(state) for name, state in self.groups.items()}

    # -- helpers ---------------------------------------------------------------------------------

    def count(self, state: Mapping[str, int | float]) -> int:
        """Samples counted in a group's state."""
        return int(state[self.COUNT])

    def _zero(self) -> State:
        return dict.fromkeys(self.FIELDS, 0)

    def _add(self, group: str, increments: Mapping[str, int | float]) -> None:
        state = self.groups.get(group)
        if state is None:
            state = self.groups[group] = self._zero()
        for key, value in increments.items():
            state[key] += value

    def _group_result(self, state: Mapping[str, int | float]) -> dict[str, Any]:
        values = self.metrics(state)
        out: dict[str, Any] = dict(values)
        out["count"] = self.count(state)
        out["undefined"] = {k: self.UNDEFINED.get(k, "undefined") for k, v in values.items() if v is None}
        return out
