"""The one structure key of the speed machinery: everything a compiled program may depend on.

A compiled rule or sweep is traced once and replayed with new arrays. That is right only if
nothing else that reaches the traced code differs between the call that compiled it and the
call that replays it. So the key of an entry holds:

* the primitive, and the ids that wire the entry into its tape;
* for each array argument and output: shape, dtype and **weak type** (``jit`` traces on all
  three, and a weak type changes promotion: a weak float32 times a float16 array is float16);
* Python and NumPy constants by their exact bits: ``0.0`` and ``-0.0`` are equal and hash alike
  but give products of different sign, so floats are keyed by ``float.hex`` (which also makes a
  NaN constant equal to itself); ``1``, ``1.0`` and ``True`` hash alike but trace differently, so
  every constant is keyed with its type;
* params, recursively, under the same rules.

What cannot be keyed exactly (a NumPy array, a tracer of an outer level, an arbitrary object
whose ``==`` may hide a difference, a function whose closure may change) raises
:class:`Unkeyable`, and the caller interprets instead of guessing. The key holds no array, so
nothing a step saved outlives the step.
"""
from __future__ import annotations

import enum
from typing import Any

import jax.numpy as jnp
import numpy as np

from tapegrad.core.primitive import Primitive
from tapegrad.core.tape import Entry
from tapegrad.core.tracer import Aval

ARRAY = type(jnp.zeros(()))  # the concrete array type; jit tracers, NumPy arrays and our Tracers are not it


class Unkeyable(Exception):
    """A value the structure key cannot describe exactly: interpret, never compile."""


def const_key(v: Any) -> Any:
    """A hashable, exact description of a constant, or :class:`Unkeyable`."""
    t = type(v)
    if t is float:
        return (float, v.hex())
    if t is int or t is bool or t is str or v is None or v is Ellipsis:
        return (t, v)
    if t is complex:
        return (complex, v.real.hex(), v.imag.hex())
    if isinstance(v, tuple) or t is list:  # NamedTuples (dimension numbers) keep their class
        return (t, tuple(const_key(u) for u in v))
    if t is slice:
        return (slice, const_key(v.start), const_key(v.stop), const_key(v.step))
    if t is dict:
        return (dict, tuple((k, const_key(u)) for k, u in sorted(v.items())))
    if isinstance(v, np.generic):  # NumPy scalars: exact bits and the dtype
        return (t, v.dtype, v.tobytes())
    if isinstance(v, (np.dtype, type, enum.Enum)):  # dtypes, scalar types, lax.Precision
        return (t, v)
    raise Unkeyable(t.__name__)


def params_key(params: dict) -> tuple:
    return tuple((k, const_key(v)) for k, v in sorted(params.items())) if params else ()


def entry_key(e: Entry, dyn: list, ids: bool = True) -> tuple:
    """What code traced from entry ``e`` depends on; its arrays are appended to ``dyn``.

    With ``ids=False`` (one rule on its own) only which arguments are constants counts, not
    where on the tape the entry sits. Raises :class:`Unkeyable` for values that must not be
    baked into a compiled program.
    """
    if ids:
        sig: list[Any] = [e.prim, e.in_ids, e.out_ids]
    else:
        sig = [e.prim, tuple(i is None for i in e.in_ids), tuple(i is None for i in e.out_ids)]
    for a in e.args:
        ta = type(a)
        if ta is ARRAY:
            dyn.append(a)
            sig.append((a.shape, a.dtype, a.weak_type))
        elif ta is Aval:
            sig.append((Aval, a.shape, a.dtype))
        else:
            sig.append(const_key(a))  # an outer level's tracer or a NumPy array raises
    out = e.out
    if out is None:
        sig.append(None)
    else:
        outs = out if e.prim.multiple_results else (out,)
        for o in outs:
            if type(o) is not ARRAY:
                raise Unkeyable(type(o).__name__)
            dyn.append(o)
            sig.append((o.shape, o.dtype, o.weak_type))
    sig.append(params_key(e.params))
    sig.append(e.out_avals)
    return tuple(sig)


def family(key: Any) -> Any:
    """``key`` with every integer but the tape ids replaced by 0: the same program at other shapes.

    Shapes, int constants and int params (a reshape's sizes, a static index) are what change when a
    batch size changes, and they are also what makes JAX compile each small op anew; dtypes, weak
    types, floats and flags stay, because a structure that differs in those is another program. Only
    computed when a structure is not compiled yet, so the steady state never pays for it.
    """
    if type(key) is tuple:
        if len(key) >= 3 and isinstance(key[0], Primitive):  # an entry: keep its ids
            return (key[0], key[1], key[2]) + tuple(family(k) for k in key[3:])
        return tuple(family(k) for k in key)
    if type(key) is int:
        return 0
    return key


def array_key(g: Any) -> tuple:
    """Shape, dtype and weak type of a concrete array (a cotangent, a seed)."""
    if type(g) is not ARRAY:
        raise Unkeyable(type(g).__name__)
    return (g.shape, g.dtype, g.weak_type)
