"""``tnp.linalg``: differentiable linear algebra (rules in ``tapegrad.rules.linalg``)."""
# ruff: noqa: F401
