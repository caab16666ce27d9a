"""Global-norm gradient clipping (torch.nn.utils.clip_grad_norm_, norm_type=2)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from tapegrad.optim.base import PyTree


def clip_grad_norm(grads: PyTree, max_norm: float) -> tuple[PyTree, jax.Array]:
    """Scale ``grads`` by ``min(max_norm / (total_norm + 1e-6), 1)``; return ``(clipped, total_norm)``.

    ``total_norm`` is the 2-norm of all leaves taken together (the norm of the per-leaf norms,
    as torch computes it). Pure and jit-able: the scale is always applied, 1 when not clipping.

    Example:
        >>> import jax.numpy as jnp
        >>> clipped, norm = clip_grad_norm({"w": jnp.array([3.0, 4.0])}, max_norm=1.0)
        >>> float(norm), [round(x, 4) for x in clipped["w"].tolist()]
        (5.0, [0.6, 0.8])
    """
    leaves = jax.tree_util.tree_leaves(grads)
    if not leaves:
        return grads, jnp.zeros(())
    total_norm = jnp.linalg.norm(jnp.stack([jnp.linalg.norm(jnp.ravel(g)) for g in leaves]))
    coef = jnp.minimum(float(max_norm) / (total_norm + 1e-6), 1.0)
    clipped = jax.tree_util.tree_map(lambda g: g * coef.astype(jnp.result_type(g)), grads)
    return clipped, total_norm
