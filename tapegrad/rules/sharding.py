"""JAX's explicit sharding mode, where a rule must say what JAX cannot infer.

Under ``jax.set_mesh(mesh)`` with ``AxisType.Explicit`` axes every array's type carries its sharding,
and a few operations refuse to guess one: a contraction over a sharded axis (a weight gradient
summed over a sharded batch) and a ``select`` whose cases are sharded differently (a constant mask
against a sharded batch). The rules that meet those cases ask here, and get ``None`` outside such a
mesh, so the ordinary path is not touched.
"""
from __future__ import annotations

import jax
from jax import lax

from tapegrad.core.tracer import Tracer


def explicit_sharding(x):
    """``x``'s sharding under a mesh with explicit axes, else None.

    Example:
        >>> explicit_sharding(jax.numpy.ones(3)) is None
        True
    """
    mesh = jax.sharding.get_abstract_mesh()
    if mesh.empty or not mesh._any_axis_explicit:
        return None
    while type(x) is Tracer:  # a higher-order rule sees tapegrad values: the JAX value is inside
        x = x.value
    sharding = jax.typeof(x).sharding
    return None if sharding.mesh.empty else sharding


def permuted_sharding(x, axes):
    """``x``'s explicit sharding with its axes taken in the order ``axes`` (None outside explicit mode):
    the sharding JAX's transpose rule gives a contraction that produces ``x``'s cotangent."""
    sharding = explicit_sharding(x)
    if sharding is None:
        return None
    return sharding.update(spec=sharding.spec.update(partitions=tuple(sharding.spec[o] for o in axes)))


def spread_like(const, ref, dims):
    """The constant ``const`` broadcast to ``ref``'s shape (its axes landing on ``dims``) with ``ref``'s
    sharding, so that ``jnp.where`` takes it beside ``ref``; unchanged outside explicit mode."""
    sharding = explicit_sharding(ref)
    if sharding is None:
        return const
    return lax.broadcast_in_dim(const, ref.shape, dims, out_sharding=sharding)
