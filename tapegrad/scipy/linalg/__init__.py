"""``tapegrad.scipy.linalg``: jax.scipy.linalg's names and signatures, differentiable by tapegrad's rules.

Every function of ``jax.scipy.linalg`` is here, differentiable where JAX's is (and ``sqrtm`` and
``solve_sylvester`` besides). ``schur``, ``hessenberg``, ``funm``, ``eigh_tridiagonal``,
``qr_multiply`` and ``polar(method='qdwh')`` are forward only, as in JAX: differentiating through
them raises an error that names them.

Example:
    >>> import tapegrad as tg, tapegrad.numpy as tnp
    >>> from tapegrad.scipy import linalg
    >>> a = tnp.asarray([[2.0, 0.0], [1.0, 1.0]])
    >>> tg.grad(lambda b: linalg.solve_triangular(a, b, lower=True).sum())(tnp.ones(2)).tolist()
    [0.0, 1.0]
"""
from tapegrad.scipy.linalg.decompositions import (
    eigh,
    eigh_tridiagonal,
    hessenberg,
    polar,
    qr,
    qr_multiply,
    rsf2csf,
    schur,
    svd,
)
from tapegrad.scipy.linalg.matrix_functions import expm, expm_frechet, funm, sqrtm
from tapegrad.scipy.linalg.solvers import (
    cho_factor,
    cho_solve,
    cholesky,
    det,
    inv,
    lu,
    lu_factor,
    lu_solve,
    solve,
    solve_sylvester,
    solve_triangular,
)
from tapegrad.scipy.linalg.special_matrices import (
    block_diag,
    circulant,
    companion,
    convolution_matrix,
    dft,
    fiedler,
    fiedler_companion,
    hadamard,
    hankel,
    helmert,
    hilbert,
    invhilbert,
    invpascal,
    leslie,
    pascal,
    toeplitz,
)

__all__ = ["block_diag", "cho_factor", "cho_solve", "cholesky", "circulant", "companion", "convolution_matrix",
           "det", "dft", "eigh", "eigh_tridiagonal", "expm", "expm_frechet", "fiedler", "fiedler_companion", "funm",
           "hadamard", "hankel", "helmert", "hessenberg", "hilbert", "inv", "invhilbert", "invpascal", "leslie", "lu",
           "lu_factor", "lu_solve", "pascal", "polar", "qr", "qr_multiply", "rsf2csf", "schur", "solve",
           "solve_sylvester", "solve_triangular", "sqrtm", "svd", "toeplitz"]
