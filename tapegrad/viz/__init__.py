"""See the computation: print a tape as a Wengert list, or draw it with Graphviz.

``print(tape)`` uses :func:`format_tape`; ``tape.draw(...)`` and
:func:`draw_graph` return a ``graphviz.Digraph`` (the ``graphviz`` package is
imported only when something is drawn, so ``import tapegrad`` works without it).
Both speak the user's words: a call of ``F.relu``, ``F.linear``, a composed
``tnp`` function or a library layer is one line and one node, named as it was
called, and ``detail="primitives"`` opens them (:mod:`tapegrad.viz.groups`).

Example:
    >>> import tapegrad as tg, tapegrad.numpy as tnp
    >>> from tapegrad.viz import draw_graph
    >>> x = tnp.ones((2, 2))
    >>> dot = draw_graph(lambda x: (x * x * x * x).mean(), x, params=dict(x=x), backward=True)
    >>> "cluster_backward" in dot.source
    True
"""
from tapegrad.core.tape import register_view
from tapegrad.viz.dot import GraphvizNotFoundError, draw_graph, draw_tape
from tapegrad.viz.listing import format_tape

__all__ = ["GraphvizNotFoundError", "draw_graph", "draw_tape", "format_tape"]

register_view("listing", format_tape)
register_view("drawing", draw_tape)
