"""``tnp.linalg``: differentiable linear algebra (rules in ``tapegrad.rules.linalg``).

Every name here has a VJP rule; ``svd(full_matrices=True)`` of a non-square matrix is
differentiable only with ``full_matrices=False`` (as in jax).
"""
# ruff: noqa: F401
from tapegrad.rules.linalg import (
    SlogdetResult,
    SVDResult,
    cholesky,
    det,
    inv,
    matmul,
    norm,
    slogdet,
    solve,
    svd,
    svdvals,
    tensordot,
)
