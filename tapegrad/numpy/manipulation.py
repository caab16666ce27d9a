"""Array manipulation with jax.numpy signatures (rotations, stacks, grids, selections), composed of primitives.

The seam: ``tapegrad.rules`` defines primitives (impl + VJP rule); ``tapegrad.numpy`` defines the
signatures. Everything here is reshapes, flips, transposes, broadcasts and ``where``: no new rules.
(The module is not called ``shape``: ``tnp.shape`` is a function, and a submodule would shadow it.)
"""
from __future__ import annotations

import numpy as np

import tapegrad.numpy as tnp
from tapegrad.core.axes import canon_axes


def kron(a, b):
    """The Kronecker product: blocks ``a[i, j] * b``, for arrays of any ranks (the smaller one padded with 1s).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.kron(tnp.array([1.0, 2.0]), tnp.array([1.0, 10.0])).tolist()
        [1.0, 10.0, 2.0, 20.0]
    """
    a, b = tnp.asarray(a), tnp.asarray(b)
    nd = max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + tuple(a.shape)
    sb = (1,) * (nd - b.ndim) + tuple(b.shape)
    # Interleave: a's axis i at position 2i, b's at 2i+1; merging each pair gives the blocks.
    a2 = tnp.reshape(a, tuple(x for s in sa for x in (s, 1)))
    b2 = tnp.reshape(b, tuple(x for s in sb for x in (1, s)))
    return tnp.reshape(a2 * b2, tuple(x * y for x, y in zip(sa, sb)))


def rot90(m, k: int = 1, axes: tuple[int, int] = (0, 1)):
    """``m`` rotated by ``k`` quarter turns in the plane of ``axes`` (from the first axis towards the second).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.rot90(tnp.array([[1.0, 2.0], [3.0, 4.0]])).tolist()
        [[2.0, 4.0], [1.0, 3.0]]
    """
    m = tnp.asarray(m)
    if len(tuple(axes)) != 2:
        raise ValueError(f"tnp.rot90: axes must be two axes, got {axes!r}")
    if m.ndim < 2:
        raise ValueError(f"tnp.rot90: needs an array of at least 2 dimensions, got shape {m.shape}")
    i, j = canon_axes(tuple(axes), m.ndim, "rot90")
    k = int(k) % 4
    if k == 0:
        return tnp.asarray(m)
    if k == 2:
        return tnp.flip(tnp.flip(m, i), j)
    perm = list(range(m.ndim))
    perm[i], perm[j] = perm[j], perm[i]
    if k == 1:
        return tnp.transpose(tnp.flip(m, j), tuple(perm))
    return tnp.flip(tnp.transpose(m, tuple(perm)), j)


def flipud(m):
    """``m`` with axis 0 reversed (rows upside down).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.flipud(tnp.array([1.0, 2.0])).tolist()
        [2.0, 1.0]
    """
    m = tnp.asarray(m)
    if m.ndim < 1:
        raise ValueError(f"tnp.flipud: needs an array of at least 1 dimension, got shape {m.shape}")
    return tnp.flip(m, 0)


def fliplr(m):
    """``m`` with axis 1 reversed (columns left to right).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.fliplr(tnp.array([[1.0, 2.0]])).tolist()
        [[2.0, 1.0]]
    """
    m = tnp.asarray(m)
    if m.ndim < 2:
        raise ValueError(f"tnp.fliplr: needs an array of at least 2 dimensions, got shape {m.shape}")
    return tnp.flip(m, 1)


def column_stack(tup):
    """1-D arrays as columns (and 2-D arrays as they are), joined along axis 1.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.column_stack([tnp.array([1.0, 2.0]), tnp.array([3.0, 4.0])]).tolist()
        [[1.0, 3.0], [2.0, 4.0]]
    """
    arrays = [tnp.asarray(x) for x in tup]
    if not arrays:
        raise ValueError("tnp.column_stack: needs at least one array")
    cols = [tnp.reshape(x, (-1, 1)) if x.ndim < 2 else x for x in arrays]
    return tnp.concatenate(cols, axis=1)


def meshgrid(*xi, copy: bool = True, sparse: bool = False, indexing: str = "xy"):
    """Coordinate arrays from 1-D coordinate vectors (``'xy'``: Cartesian, first two axes swapped; ``'ij'``: matrix).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> X, Y = tnp.meshgrid(tnp.array([1.0, 2.0, 3.0]), tnp.array([0.0, 1.0]))
        >>> X.shape, Y.tolist()
        ((2, 3), [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    """
    if indexing not in ("xy", "ij"):
        raise ValueError(f"tnp.meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    xs = [tnp.asarray(x) for x in xi]
    for x in xs:
        if x.ndim != 1:
            raise ValueError(f"tnp.meshgrid: needs 1-D arrays, got shapes {[tuple(v.shape) for v in xs]}")
    n = len(xs)
    shapes = [[1] * n for _ in xs]
    for d, x in enumerate(xs):
        shapes[d][d] = x.shape[0]
    if indexing == "xy" and n >= 2:
        for s in shapes:
            s[0], s[1] = s[1], s[0]
    out = [tnp.reshape(x, tuple(s)) for x, s in zip(xs, shapes)]
    if sparse:
        return out
    full = tuple(np.broadcast_shapes(*(tuple(s) for s in shapes)))
    return [tnp.broadcast_to(x, full) for x in out]


def select(condlist, choicelist, default=0):
    """Per element, the choice of the first true condition (``default`` where none holds).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> x = tnp.array([-1.0, 0.5, 3.0])
        >>> tnp.select([x < 0, x > 1], [-x, x * 10], default=x).tolist()
        [1.0, 0.5, 30.0]
    """
    condlist, choicelist = list(condlist), list(choicelist)
    if len(condlist) != len(choicelist):
        raise ValueError(f"tnp.select: condlist and choicelist must have the same length, "
                         f"got {len(condlist)} and {len(choicelist)}")
    if not condlist:
        raise ValueError("tnp.select: condlist must be non-empty")
    for c in condlist:
        dt = getattr(c, "dtype", None)
        if dt is None or np.dtype(dt) != np.bool_:
            raise TypeError(f"tnp.select: conditions must be boolean arrays, got dtype {dt}")
    out = tnp.asarray(default)
    # Folded from the last: the first true condition is the outermost where, so it wins.
    for c, x in zip(reversed(condlist), reversed(choicelist)):
        out = tnp.where(c, x, out)
    return out
