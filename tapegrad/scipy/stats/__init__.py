"""``tapegrad.scipy.stats``: jax.scipy.stats' distributions and functions, differentiable by tapegrad.

Each distribution is a submodule with jax's functions and signatures (``norm.logpdf(x, loc=0, scale=1)``,
``poisson.logpmf(k, mu, loc=0)``, ...), written as compositions of tnp ops and
:mod:`tapegrad.scipy.special` functions, so every derivative comes from tapegrad's own rules.
``mode`` and ``rankdata`` return plain arrays (no derivative); ``sem`` and ``gaussian_kde`` are
differentiable.

Example:
    >>> import tapegrad as tg
    >>> from tapegrad.scipy.stats import norm
    >>> round(float(tg.grad(norm.logpdf)(1.0)), 4)  # d/dx log N(x) = -x
    -1.0
"""
from tapegrad.scipy.stats import (  # noqa: F401  (one submodule per distribution, as jax.scipy.stats)
    bernoulli,
    beta,
    betabinom,
    binom,
    cauchy,
    chi2,
    dirichlet,
    expon,
    gamma,
    gennorm,
    geom,
    gumbel_l,
    gumbel_r,
    laplace,
    logistic,
    multinomial,
    multivariate_normal,
    nbinom,
    norm,
    pareto,
    poisson,
    t,
    truncnorm,
    uniform,
    vonmises,
    wrapcauchy,
)
from tapegrad.scipy.stats.functions import ModeResult, mode, rankdata, sem  # noqa: F401
from tapegrad.scipy.stats.kde import gaussian_kde  # noqa: F401

DISTRIBUTIONS = ("bernoulli beta betabinom binom cauchy chi2 dirichlet expon gamma gennorm geom gumbel_l gumbel_r "
                 "laplace logistic multinomial multivariate_normal nbinom norm pareto poisson t truncnorm uniform "
                 "vonmises wrapcauchy").split()

__all__ = [*DISTRIBUTIONS, "gaussian_kde", "mode", "rankdata", "sem"]
