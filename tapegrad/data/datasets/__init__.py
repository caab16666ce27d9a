"""Ready-made datasets: `digits` (bundled with scikit-learn) and `MNIST` (IDX files)."""
from .digits import digits
from .mnist import MNIST

__all__ = ["digits", "MNIST"]
