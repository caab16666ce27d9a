"""Discrete Fourier transforms: three linear primitives, each VJP written in the others.

* ``fftn_p`` (complex to complex, forward or inverse, any ``norm``): the DFT matrix
  is symmetric, so the transpose of every one of these maps is the same map
  (JAX's ``_fft_transpose_rule``; a transpose, not an adjoint, by JAX's convention).
* ``rfftn_p`` (real to the non-redundant half spectrum): it is ``fftn`` of the
  real input cropped to ``n // 2 + 1`` bins along the last axis, so its transpose
  zero-pads the cotangent back to ``n`` bins, applies ``fftn`` and keeps the real
  part (the transpose of the real-to-complex cast).
* ``irfftn_p`` (half spectrum to real signal of lengths ``s``): its transpose is
  ``conj(mask * rfftn(ct))`` with the norm's direction swapped, where ``mask``
  doubles the bins that stand for two bins of the full spectrum (all but the zero
  and, for even ``n``, the Nyquist bin): JAX's ``_irfft_transpose``.

Zero-padding and cropping to ``n``/``s`` are not part of these primitives: the
namespace does them with ``tnp.pad`` and slicing, whose rules crop and pad back.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import tapegrad.numpy as tnp
from tapegrad.core.primitive import Primitive

# Swapping the direction turns the scale of a transform into that of its transpose's counterpart:
# irfft's 1/N (backward) becomes rfft's 1/N (forward), and so on.
SWAP = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def _fftn_impl(x, axes, norm, inverse):
    return (jnp.fft.ifftn if inverse else jnp.fft.fftn)(x, axes=axes, norm=norm)


def _rfftn_impl(x, axes, norm):
    return jnp.fft.rfftn(x, axes=axes, norm=norm)


def _irfftn_impl(x, axes, s, norm):
    return jnp.fft.irfftn(x, s=s, axes=axes, norm=norm)


fftn_p = Primitive("fftn", _fftn_impl, save_args=False)
rfftn_p = Primitive("rfftn", _rfftn_impl, save_args=False)
irfftn_p = Primitive("irfftn", _irfftn_impl, save_args=False)


def _fftn_transpose(g, x, axes, norm, inverse):
    return fftn_p(g, axes=axes, norm=norm, inverse=inverse)


def _rfftn_transpose(g, x, axes, norm):
    last = axes[-1]
    n = x.shape[last]
    widths = [(0, 0)] * len(g.shape)
    widths[last] = (0, n - g.shape[last])
    full = tnp.pad(g, widths) if n != g.shape[last] else g
    return tnp.real(fftn_p(full, axes=axes, norm=norm, inverse=False))


def _irfftn_transpose(g, x, axes, s, norm):
    y = rfftn_p(g, axes=axes, norm=SWAP[norm])
    n = s[-1]
    bins = n // 2 + 1
    # Every bin but the zero one (and the Nyquist bin of an even length) stands for itself and its
    # conjugate mirror in the full spectrum, so it carries twice the cotangent.
    mask = np.full(bins, 2.0)
    mask[0] = 1.0
    if n % 2 == 0:
        mask[-1] = 1.0
    shape = [1] * len(g.shape)
    shape[axes[-1]] = bins
    mask = jnp.asarray(mask.reshape(shape), dtype=jnp.real(jnp.zeros((), y.dtype)).dtype)
    # JAX's convention for the transpose of a complex-to-real map: the conjugate
    # (jax-ml/jax#6223); the sweep then casts nothing, the input is complex.
    return tnp.conj(y * mask)


fftn_p.deflinear(_fftn_transpose)
rfftn_p.deflinear(_rfftn_transpose)
irfftn_p.deflinear(_irfftn_transpose)
