"""Full Jacobians and Hessians, built from ``vjp`` rows or JVP columns.

When no tapegrad level is live, the rows (columns) are computed by one
``jax.vmap`` over the basis: the pull-back closure holds only JAX arrays then.
Inside an outer tapegrad transform, the residuals are that level's tracers,
which ``jax.vmap`` cannot carry, so the basis is walked in a Python loop and
the result stays differentiable.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import tree_flatten, tree_map, tree_unflatten

from tapegrad.core.tracer import trace_stack
from tapegrad.transforms.forward import linearize_forward
from tapegrad.transforms.inputs import check_callable, normalize_argnums, substitute
from tapegrad.transforms.reverse import _check_holomorphic_inputs, vjp, vjp_jax


def _tnp():
    import tapegrad.numpy as tnp  # the namespace sits above the transforms

    return tnp


def _size(x: Any) -> int:
    return int(np.prod(np.shape(x), dtype=np.int64))


def _map_basis(fn: Callable, leaves: Sequence[Any]) -> list[Any]:
    """Apply linear ``fn`` to every unit vector of the flattened ``leaves``; return, per
    output leaf of ``fn``, the results stacked along a new leading axis."""
    tnp = _tnp()
    sizes = [_size(v) for v in leaves]
    total = sum(sizes)
    dtype = jnp.result_type(*[v.dtype for v in leaves]) if leaves else jnp.float32

    def unit_tree(e: Any) -> list[Any]:
        parts, start = [], 0
        for v, n in zip(leaves, sizes):
            parts.append(jnp.reshape(e[start:start + n], v.shape).astype(v.dtype))
            start += n
        return parts

    eye = jnp.eye(total, dtype=dtype)
    if not trace_stack():
        rows = jax.vmap(lambda e: tree_flatten(fn(unit_tree(e)))[0])(eye)
        return list(rows)
    results = [tree_flatten(fn(unit_tree(eye[k])))[0] for k in range(total)]
    if not results:
        return []
    return [tnp.stack([r[j] for r in results]) for j in range(len(results[0]))]


def _as_array_if_number(v: Any) -> Any:
    return jnp.asarray(v) if isinstance(v, (int, float, complex, np.number)) else v


def _jacobian(fun: Callable, argnums: int | Sequence[int], has_aux: bool, mode: str,
              holomorphic: bool = False) -> Callable:
    who = "jacobian" if mode == "rev" else "jacfwd"
    check_callable(fun, who)

    @functools.wraps(fun)
    def jac_fun(*args: Any, **kwargs: Any) -> Any:
        tnp = _tnp()
        nums = normalize_argnums(argnums, len(args), who)
        # Python numbers become arrays here, as in JAX: the basis and the blocks need shapes and dtypes.
        dyn = tuple(tree_map(_as_array_if_number, args[i]) for i in nums)
        if holomorphic:
            _check_holomorphic_inputs(dyn, who)
        aux = None

        def partial(*d: Any) -> Any:
            nonlocal aux
            out = fun(*substitute(args, nums, d), **kwargs)
            if has_aux:
                out, aux = out
            return out

        in_leaves, in_tree = tree_flatten(dyn)
        if mode == "rev":
            # Rows are VJPs: PyTorch's (conjugated) for complex values, JAX's when holomorphic.
            out, vjp_fn = (vjp_jax if holomorphic else vjp)(partial, *dyn)
            out_leaves, out_tree = tree_flatten(out)
            # rows[j]: (n_out_total,) + in_leaf_j.shape
            rows = _map_basis(lambda cts: vjp_fn(tree_unflatten(out_tree, cts)), out_leaves)
            blocks = _split_rows(rows, out_leaves, in_leaves, tnp, rows_are_outputs=True)
        else:
            out, jvp_fn = linearize_forward(partial, *dyn)
            out_leaves, out_tree = tree_flatten(out)
            cols = _map_basis(lambda ts: jvp_fn(*tree_unflatten(in_tree, ts)), in_leaves)
            blocks = _split_rows(cols, in_leaves, out_leaves, tnp, rows_are_outputs=False)
        # blocks[o][i]: out_leaf_o.shape + in_leaf_i.shape
        per_out = [tree_unflatten(in_tree, blocks[o]) for o in range(len(out_leaves))]
        if isinstance(argnums, (int, np.integer)):
            per_out = [p[0] for p in per_out]
        jac = tree_unflatten(out_tree, per_out)
        return (jac, aux) if has_aux else jac

    return jac_fun


def _split_rows(stacked: list[Any], basis_leaves: Sequence[Any], other_leaves: Sequence[Any], tnp: Any,
                rows_are_outputs: bool) -> list[list[Any]]:
    """Cut the stacked basis results into one block per (output leaf, input leaf)."""
    sizes = [_size(v) for v in basis_leaves]
    offsets = np.cumsum([0] + sizes)
    blocks: list[list[Any]] = []
    if rows_are_outputs:  # basis over outputs, stacked[i] has shape (n_out,) + in_i.shape
        for o, leaf in enumerate(basis_leaves):
            blocks.append([tnp.reshape(s[offsets[o]:offsets[o + 1]], tnp.shape(leaf) + tnp.shape(other))
                           for s, other in zip(stacked, other_leaves)])
        return blocks
    # basis over inputs: stacked[o] has shape (n_in,) + out_o.shape; move the input axes last
    for s, out_leaf in zip(stacked, other_leaves):
        row = []
        nd = len(tnp.shape(out_leaf))
        for i, leaf in enumerate(basis_leaves):
            piece = s[offsets[i]:offsets[i + 1]]
            piece = tnp.moveaxis(piece, 0, -1) if nd else piece
            row.append(tnp.reshape(piece, tnp.shape(out_leaf) + tnp.shape(leaf)))
        blocks.append(row)
    return blocks


def jacobian(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
             holomorphic: bool = False) -> Callable:
    """Reverse-mode Jacobian: shape ``out.shape + in.shape``, one VJP per output element.

    Row ``i`` is ``vjp_fn(e_i)``: for complex values PyTorch's ``torch.autograd.functional.jacobian``;
    with ``holomorphic=True`` the complex derivatives ``df_i/dz_j``, as ``jax.jacrev(holomorphic=True)``.

    Example:
        >>> import tapegrad as tg, tapegrad.numpy as tnp
        >>> tg.jacobian(lambda x: x ** 2)(tnp.array([1.0, 2.0])).tolist()
        [[2.0, 0.0], [0.0, 4.0]]
    """
    return _jacobian(fun, argnums, has_aux, "rev", holomorphic)


jacrev = jacobian


def jacfwd(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
           holomorphic: bool = False) -> Callable:
    """Forward-mode Jacobian: shape ``out.shape + in.shape``, one JVP per input element.

    Column ``j`` is the JVP along the (real) unit direction ``e_j``: JAX's values, complex included;
    ``holomorphic=True`` checks that the inputs are complex, as ``jax.jacfwd`` does.

    Example:
        >>> import tapegrad as tg, tapegrad.numpy as tnp
        >>> tg.jacfwd(lambda x: x ** 2)(tnp.array([1.0, 2.0])).tolist()
        [[2.0, 0.0], [0.0, 4.0]]
    """
    return _jacobian(fun, argnums, has_aux, "fwd", holomorphic)


def hessian(fun: Callable, argnums: int | Sequence[int] = 0, holomorphic: bool = False) -> Callable:
    """Hessian of scalar ``fun``: shape ``in.shape + in.shape`` (forward over reverse).

    Example:
        >>> import tapegrad as tg, tapegrad.numpy as tnp
        >>> tg.hessian(lambda x: (x ** 3).sum())(tnp.array([1.0, 2.0])).tolist()
        [[6.0, 0.0], [0.0, 12.0]]
    """
    from tapegrad.transforms.reverse import grad

    return jacfwd(grad(fun, argnums, holomorphic=holomorphic), argnums, holomorphic=holomorphic)
