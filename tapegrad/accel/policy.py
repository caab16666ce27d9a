"""When to compile: a rent-or-buy rule over measured costs, and bounded caches.

Compiling a structure (a rule, a whole sweep) costs milliseconds to seconds once; interpreting
it costs a little every time, and a great deal the first time a *shape* is new, because then
JAX compiles every small op it dispatches (~25 ms each on a CPU). Neither a fixed hit count
nor "always compile" is right for every program:

* a training loop with a fixed batch repeats one structure thousands of times: compile early;
* a loop whose batch size changes (the last batch of an epoch, bucketed sequences) meets new
  shapes of a structure it already knows: interpreting each new shape recompiles every op, so
  one compile of the whole structure is cheaper even for a shape seen once;
* a structure that never comes back (a one-off gradient, constants that change every call)
  must never pay for a compile it cannot use.

So the policy is ski rental with a prediction. Per structure it keeps the seconds spent
interpreting it; per *family* (the same structure with the shapes left out) it keeps what a
first, new-shape interpretation cost and what a compile cost, measured. A structure is
compiled when

* it is new, but its family's new shapes have cost more to interpret than a compile costs; or
* it has been seen before and interpreting it has already cost ``BETA`` times a compile.

The second rule bounds the waste on a structure that stops recurring right after it was
compiled to ``1 + 1/BETA`` times what interpreting it cost; the first one makes new shapes of
a known loop cost one compile instead of one per op. A policy may add a third (``repeat``, used
by lazy segments, whose interpreted calls are the slowest of all): a structure seen before is
compiled as soon as its compile costs less than ``repeat`` interpreted calls of it, since a
structure that comes back once usually comes back many times (a training loop's second step);
the waste is then bounded by ``repeat`` calls per structure that recurs exactly once. Costs are
wall-clock seconds of the host work (tracing, compiling, dispatching), the part compilation changes.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

BETA = 0.5  # compile once interpreting a structure has cost half a compile
_EMA = 0.5  # weight of the newest measurement in a running estimate


class Slot:
    """What is known of one exact structure: times seen, seconds spent interpreting, its program."""

    __slots__ = ("hits", "spent", "program")

    def __init__(self) -> None:
        self.hits = 0
        self.spent = 0.0
        self.program: Any = None  # the compiled callable, NEVER, or None (not compiled)


NEVER = object()  # a structure that cannot be traced (a rule reads a value with NumPy): always interpret


class Family:
    """Running estimates for one structure family (shapes left out)."""

    __slots__ = ("first_visit", "compile")

    def __init__(self) -> None:
        self.first_visit: float | None = None  # seconds to interpret a structure of this family the first time
        self.compile: float | None = None  # seconds to compile one


class Bounded(OrderedDict):
    """An LRU mapping of at most ``size`` items; ``slot(key, make)`` gets or creates one."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def slot(self, key: Any, make: type) -> Any:
        try:
            s = self[key]
            self.move_to_end(key)
            return s
        except KeyError:
            s = self[key] = make()
            while len(self) > self.size:
                try:
                    self.popitem(last=False)
                except KeyError:  # another thread emptied it meanwhile
                    break
            return s


class Policy:
    """The compile decisions for one kind of program (rules, or whole sweeps).

    ``base + per_unit * units`` is the prior compile cost (``units``: entries of a sweep, 1 for a
    rule), refined by every measured compile.
    """

    def __init__(self, base: float, per_unit: float, slots: int, families: int, repeat: float = 0.0) -> None:
        self.base = base
        self.per_unit = per_unit
        self.repeat = repeat
        self.slots = Bounded(slots)
        self.families = Bounded(families)

    def compile_estimate(self, fam: Family, units: int) -> float:
        if fam.compile is not None:
            return fam.compile
        return self.base + self.per_unit * units

    def should_compile(self, slot: Slot, fam: Family, units: int) -> bool:
        cost = self.compile_estimate(fam, units)
        if slot.hits == 0:
            return fam.first_visit is not None and fam.first_visit >= cost
        return slot.spent >= BETA * cost or cost <= self.repeat * slot.spent / slot.hits

    def interpreted(self, slot: Slot, fam: Family, seconds: float) -> None:
        if slot.hits == 0:
            fam.first_visit = seconds if fam.first_visit is None else \
                (1 - _EMA) * fam.first_visit + _EMA * seconds
        slot.hits += 1
        slot.spent += seconds

    def compiled(self, fam: Family, seconds: float, units: int) -> None:
        fam.compile = seconds if fam.compile is None else (1 - _EMA) * fam.compile + _EMA * seconds
        rate = max(seconds - self.base, 0.0) / max(units, 1)
        self.per_unit = (1 - _EMA) * self.per_unit + _EMA * rate

    def clear(self) -> None:
        self.slots.clear()
        self.families.clear()


now = time.perf_counter
