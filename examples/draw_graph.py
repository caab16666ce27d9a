"""Draw computation graphs: the seed tutorial's torchviz example, and its MLP.

The tutorial (PyTorch) draws ``out = (x * x * x * x).mean()`` with
``torchviz.make_dot(out, params=dict(x=x, y=y)).render("graph", format="png")``.
Here the function is traced instead of a tensor's history: ``tg.draw_graph``
records ``fun(*args)`` on a tape and draws it. (``y`` is a value inside the
function, so it has no name to match outside; the inputs are named by
``params=`` or by their argument names.)

Writes, into OUTPUT_DIR (default: the current directory):

- ``graph.png``: the forward graph, as torchviz draws it;
- ``graph_backward.png``: the same with the backward pass (the ops the VJP rules
  ran, in a cluster "backward") and the residuals each one reads;
- ``mlp.png``: the tutorial's 784-512-512-10 ReLU network written with raw ``tnp``
  ops, grouped by module (``linear_relu_stack.0``, ``.2``, ``.4``) with
  ``collapse="module"`` (the parameter paths say which op is whose);
- ``mlp_nn_backward.svg``: the same network as ``nn`` modules, with its
  cross-entropy loss and backward pass: each layer call is one node named as in
  the code (``Linear: linear_relu_stack.0``, ``cross_entropy``) and its backward
  one ``∂`` node; ``detail="primitives"`` would open them. SVG, which stays
  legible at any size (hover a node to see its primitives).

Usage::

    python examples/draw_graph.py [OUTPUT_DIR]

Needs the Graphviz ``dot`` program (``apt-get install graphviz`` / ``brew install
graphviz`` / ``conda install graphviz``) to render the images.
"""
from __future__ import annotations

import argparse
import os
from typing import Any

import jax

import tapegrad.nn as nn
import tapegrad.nn.functional as F
import tapegrad.numpy as tnp
from tapegrad.viz import draw_graph


def seed_function(x: Any) -> Any:
    """The tutorial's computation: ``y = x * x * x * x; out = y.mean()``."""
    y = x * x * x * x
    out = y.mean()
    return out


def init_mlp(key: Any, sizes: tuple[int, ...] = (28 * 28, 512, 512, 10)) -> dict:
    """Parameters shaped like the tutorial's ``model.state_dict()``.

    ``linear_relu_stack`` is ``Sequential(Linear, ReLU, Linear, ReLU, Linear)``, so
    its Linear layers are children ``'0'``, ``'2'`` and ``'4'``; weights are
    ``(out, in)`` and drawn as PyTorch's default ``U(-1/sqrt(in), 1/sqrt(in))``.
    """
    stack = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        key, kw, kb = jax.random.split(key, 3)
        bound = 1.0 / n_in ** 0.5
        stack[str(2 * i)] = {
            "weight": jax.random.uniform(kw, (n_out, n_in), minval=-bound, maxval=bound),
            "bias": jax.random.uniform(kb, (n_out,), minval=-bound, maxval=bound),
        }
    return {"linear_relu_stack": stack}


def mlp(params: dict, x: Any) -> Any:
    """The tutorial's ``NeuralNetwork.forward``: flatten, then Linear/ReLU/Linear/ReLU/Linear."""
    h = tnp.reshape(x, (x.shape[0], -1))  # nn.Flatten()
    layers = params["linear_relu_stack"]
    names = sorted(layers, key=int)
    for n, name in enumerate(names):
        h = h @ layers[name]["weight"].T + layers[name]["bias"]
        if n < len(names) - 1:
            h = tnp.maximum(h, 0.0)  # nn.ReLU()
    return h


class NeuralNetwork(nn.Module):
    """The tutorial's model as ``nn`` modules (its params are named like ``init_mlp``'s)."""

    def __init__(self) -> None:
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(nn.Linear(28 * 28, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                                               nn.Linear(512, 10))

    def forward(self, params: Any, x: Any) -> Any:
        x = self.flatten(params["flatten"], x)
        return self.linear_relu_stack(params["linear_relu_stack"], x)


def main(outdir: str = ".") -> list[str]:
    """Render the three pictures into ``outdir``; return their paths."""
    os.makedirs(outdir, exist_ok=True)
    written = []

    x = tnp.ones((2, 2))
    dot = draw_graph(seed_function, x, params=dict(x=x))
    written.append(dot.render(os.path.join(outdir, "graph"), format="png", cleanup=True))

    dot = draw_graph(seed_function, x, params=dict(x=x), backward=True, show_saved=True)
    written.append(dot.render(os.path.join(outdir, "graph_backward"), format="png", cleanup=True))

    params = init_mlp(jax.random.PRNGKey(0))
    # The tutorial's X = torch.rand(1, 28, 28): one image, batch of one.
    images = jax.random.uniform(jax.random.PRNGKey(1), (1, 28, 28))
    dot = draw_graph(mlp, params, images, collapse="module")
    written.append(dot.render(os.path.join(outdir, "mlp"), format="png", cleanup=True))

    model = NeuralNetwork()

    def loss(params, images, labels):
        return F.cross_entropy(model(params, images), labels)

    dot = draw_graph(loss, model.init(0), images, jax.numpy.array([3]), backward=True)
    written.append(dot.render(os.path.join(outdir, "mlp_nn_backward"), cleanup=True))  # SVG by default
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", nargs="?", default=".", help="where to write the pictures")
    for path in main(parser.parse_args().outdir):
        print("wrote", path)
