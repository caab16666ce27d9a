"""``tapegrad.scipy``: jax.scipy's names and signatures, differentiable by tapegrad's own rules.

Example:
    >>> import tapegrad as tg
    >>> from tapegrad.scipy import special
    >>> round(float(tg.grad(special.erf)(0.0)), 4)  # 2 / sqrt(pi)
    1.1284
"""
from tapegrad.scipy import integrate, linalg, special, stats  # noqa: F401
