"""Drawings and listings in the user's words: one node per call of F.relu, F.linear, a layer (issue 15 §4)."""
from __future__ import annotations

import re
import time
import warnings
import xml.etree.ElementTree as ET

import jax.numpy as jnp
import numpy as np
import pytest
from test_viz import HAVE_DOT, clusters, edges, nodes, of_kind

import tapegrad as tg
import tapegrad.nn as nn
import tapegrad.nn.functional as F
import tapegrad.numpy as tnp
from tapegrad.core import scope
from tapegrad.viz import draw_graph, format_tape
from tapegrad.viz.backward_view import record_backward
from tapegrad.viz.groups import call_label, group_entries, opaque

F32 = jnp.float32


def _first_lines(src: str, kind: str = "op") -> list[str]:
    ops = of_kind(src, kind)
    return [ops[n].split("\n")[0] for n in sorted(ops, key=lambda n: int(re.findall(r"\d+", n)[0]))]


def _mlp_params():
    rng = np.random.default_rng(0)
    return {"fc1": {"weight": jnp.asarray(rng.normal(size=(5, 6)), F32), "bias": jnp.zeros(5, F32)},
            "fc2": {"weight": jnp.asarray(rng.normal(size=(3, 5)), F32), "bias": jnp.zeros(3, F32)}}


def mlp_loss(p, x, y):
    h = F.relu(F.linear(x, p["fc1"]["weight"], p["fc1"]["bias"]))
    logits = F.linear(h, p["fc2"]["weight"], p["fc2"]["bias"])
    return F.cross_entropy(logits, y)


LINE = mlp_loss.__code__.co_firstlineno  # the def; its body is on the next three lines
X, Y = jnp.ones((4, 6), F32), jnp.array([0, 1, 2, 0])


def test_mlp_default_drawing_names_the_calls_and_primitives_open_them():
    p = _mlp_params()
    g = draw_graph(mlp_loss, p, X, Y, show_source=True)
    src = g.source
    assert _first_lines(src) == ["linear", "relu", "linear", "cross_entropy"]
    assert not any("dot_general" in lab or "log_softmax" in lab for lab in nodes(src).values())
    ops = of_kind(src, "op")
    # show_source: the line of this file that called each function, not a line of the library.
    lines = [LINE + 1, LINE + 1, LINE + 2, LINE + 3]
    for (_name, lab), line in zip(sorted(ops.items(), key=lambda kv: int(kv[0][2:])), lines, strict=True):
        assert lab.split("\n")[-1] == f"test_viz_groups.py:{line}", lab
    assert "2 ops" in ops["op0"] and "2 ops" in ops["op5"]  # linear: dot_general + add; cross_entropy: 2
    # The folded node lists its primitives in its tooltip, and has round corners (the legend says so).
    assert re.search(r'op0 \[label="linear.*tooltip="linear: 2 ops\\n%\d+ = dot_general', src)
    assert 'style="filled,rounded"' in src and "legend_call" in src
    # Edges: the data flows linear -> relu -> linear -> cross_entropy, the parameters into the linears.
    es = {(a, b) for a, b, _ in edges(src)}
    assert {("op0", "op2"), ("op2", "op3"), ("op3", "op5"), ("op5", "out0")} <= es
    assert sum(1 for a, b in es if a.startswith("in") and b == "op0") == 3  # x, weight, bias
    assert not any(a == b for a, b in es)
    # No size cap, SVG by default.
    assert not re.search(r"[\s\[]size=", src) and g.format == "svg"
    assert "ranksep" in src.splitlines()[1]

    prim = draw_graph(mlp_loss, p, X, Y, detail="primitives").source
    assert _first_lines(prim) == ["dot_general", "add", "relu", "dot_general", "add", "log_softmax",
                                  "weighted_sum"]
    assert "legend_call" not in prim
    # The same tape drawn by tape.draw, at each detail.
    tape = tg.make_tape(mlp_loss)(p, X, Y)
    assert _first_lines(tape.draw(detail="primitives").source) == _first_lines(prim)
    assert _first_lines(tape.draw().source) == _first_lines(src)


def test_mlp_listing_groups_the_same_way():
    tape = tg.make_tape(mlp_loss)(_mlp_params(), X, Y)
    lines = [re.sub(r"\s+#", "  #", ln.rstrip()) for ln in str(tape).splitlines()]  # (inputs: sorted keys)
    assert lines[0] == "Tape: 7 entries, 5 inputs, 1 output"
    assert lines[6:] == [
        f"  %6 = linear %4 %1 %0 : f32[4,5]  {{dot_general, add}}  # test_viz_groups.py:{LINE + 1}",
        f"  %7 = relu %6 : f32[4,5]  # test_viz_groups.py:{LINE + 1}",
        f"  %9 = linear %7 %3 %2 : f32[4,3]  {{dot_general, add}}  # test_viz_groups.py:{LINE + 2}",
        f"  %11 = cross_entropy %9 : f32[]  {{log_softmax, weighted_sum}}  # test_viz_groups.py:{LINE + 3}",
        "  return out = %11 : f32[]",
    ]
    flat = format_tape(tape, detail="primitives").splitlines()
    assert len(flat) == 1 + 5 + 7 + 1
    assert [ln.split("=", 1)[1].split()[0] for ln in flat[6:-1]] == [
        "dot_general[dimension_numbers=(((1,),", "add", "relu", "dot_general[dimension_numbers=(((1,),", "add",
        "log_softmax[axis=1]", "weighted_sum[axis=None]"]
    with pytest.raises(ValueError, match="detail must be one of 'functions', 'modules', 'primitives'"):
        format_tape(tape, detail="ops")


class Net(nn.Module):
    def __init__(self):
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))

    def forward(self, params, x):
        x = self.flatten(params["flatten"], x)
        return self.linear_relu_stack(params["linear_relu_stack"], x)


def test_modules_are_nodes_by_default_and_clusters_at_detail_modules():
    model = Net()
    params = model.init(0)

    def loss(params, x, y):
        return F.cross_entropy(model(params, x), y)

    x = jnp.ones((4, 2, 3), F32)
    tape = tg.make_tape(loss)(params, x, Y)
    # Library layers are one node each; the user's Net and the Sequential show what they call.
    assert _first_lines(tape.draw().source) == ["Flatten: flatten", "Linear: linear_relu_stack.0",
                                                "ReLU: linear_relu_stack.1", "Linear: linear_relu_stack.2",
                                                "cross_entropy"]
    assert "  %7 = Linear[linear_relu_stack.0] %5 %0 %1 : f32[4,5]  {dot_general, add}" in str(tape)

    src = tape.draw(detail="modules").source
    where, labels = clusters(src), nodes(src)
    by_name = {lab.split("\n")[0]: where[n] for n, lab in of_kind(src, "op").items()}
    stack = ("Net", "linear_relu_stack (Sequential)")
    assert by_name == {"reshape": ("Net", "flatten (Flatten)"), "linear": stack + ("linear_relu_stack.2 (Linear)",),
                       "relu": stack + ("linear_relu_stack.1 (ReLU)",), "cross_entropy": ()}
    linears = [n for n, lab in of_kind(src, "op").items() if lab.startswith("linear")]
    assert sorted(where[n][-1] for n in linears) == ["linear_relu_stack.0 (Linear)", "linear_relu_stack.2 (Linear)"]
    # Parameters sit in their layer's cluster, named by their key there; the data at the top.
    for n, lab in of_kind(src, "in").items():
        if lab.startswith("x\n"):
            assert where[n] == ()
        else:
            assert lab.split("\n")[0] in ("weight", "bias") and where[n][-1].endswith("(Linear)")
    assert labels["out0"].startswith("out")
    text = format_tape(tape, detail="modules")
    assert "\n  Net:\n    flatten (Flatten):\n      %5 = reshape" in text
    assert "\n      linear_relu_stack.0 (Linear):\n        %7 = linear %5 %0 %1 : f32[4,5]  {dot_general, add}" in text
    with pytest.raises(ValueError, match="choose one"):
        tape.draw(detail="modules", collapse="module")
    with pytest.raises(ValueError, match="detail must be"):
        tape.draw(detail="layers")
    # collapse="module" keeps working with the grouped nodes: a call sits in its parameters' module.
    src = tape.draw(collapse="module").source
    where = clusters(src)
    placed = {lab.split("\n")[0]: where[n] for n, lab in of_kind(src, "op").items()}
    assert placed["Linear: linear_relu_stack.0"] == ("linear_relu_stack", "linear_relu_stack.0")
    assert placed["cross_entropy"] == ()


def test_which_modules_are_one_node():
    def one_node(module):
        return opaque(scope.module_scope(module, ("m",)))

    assert one_node(nn.Linear(2, 3)) and one_node(nn.LayerNorm(3)) and one_node(nn.LSTM(2, 3))
    assert one_node(nn.MultiheadAttention(4, 2))  # its out_proj is a leaf: the attention is one node
    assert not one_node(nn.Sequential(nn.Linear(2, 3), nn.ReLU()))  # containers show their layers
    assert not one_node(nn.TransformerEncoderLayer(4, 2, 8))  # made of layers: they show
    assert not one_node(Net())  # the user's own module: its inside is the point
    s = scope.module_scope(nn.Linear(2, 3), ("fc1",))
    assert (s, s.kind, call_label(s), call_label(scope.module_scope(Net(), ()))) == (
        "fc1 (Linear)", "module", "Linear: fc1", "Net")


def test_calls_are_told_apart_and_the_outermost_name_wins():
    # relu(relu(x)): two calls, two nodes, though both are "relu" on one line.
    tape = tg.make_tape(lambda x: F.softmax(F.gelu(F.gelu(x)), dim=-1).sum())(jnp.ones((2, 3), F32))
    groups = group_entries(tape.entries, "functions")
    assert [g.label for g in groups if g.folded] == ["gelu", "gelu", "softmax"]
    # softmax calls F.log_softmax inside: one node, not two.
    assert all("log_softmax" not in lab.split("\n")[0] for lab in nodes(tape.draw().source).values())
    assert [e.scope for e in tape.entries if e.prim.name == "log_softmax"] == [("softmax", "log_softmax")]
    # Composed tnp functions are one node too; primitives recorded outside any call stay primitives.
    src = draw_graph(lambda x: tnp.var(x) + tnp.linalg.norm(tnp.stack([x, x])) * 2.0, jnp.ones(3, F32)).source
    assert _first_lines(src) == ["var", "stack", "linalg.norm", "multiply", "add"]
    # A user's named block.
    def f(x):
        with scope.named("attention"):
            y = tnp.exp(x) / tnp.sum(tnp.exp(x))
        return y.sum()
    assert _first_lines(draw_graph(f, jnp.ones(3, F32)).source) == ["attention", "sum"]


def test_backward_view_folds_each_calls_rules():
    p = _mlp_params()
    tape = tg.make_tape(mlp_loss)(p, X, Y)
    src = tape.draw(backward=True, show_source=True).source
    labels = of_kind(src, "bw")
    # The rules of each call, in the sweep's (reverse) order, each at the line that made the call.
    assert [labels[n] for n in sorted(labels, key=lambda n: int(n[2:]))] == [
        f"∂ cross_entropy\n7 ops\ntest_viz_groups.py:{LINE + 3}", f"∂ linear\n3 ops\ntest_viz_groups.py:{LINE + 2}",
        f"∂ relu\ntest_viz_groups.py:{LINE + 1}", f"∂ linear\n3 ops\ntest_viz_groups.py:{LINE + 1}"]
    # detail="primitives" draws the backward ops one by one, as before.
    prim = of_kind(tape.draw(backward=True, detail="primitives").source, "bw")
    assert len(prim) == 7 + 3 + 1 + 3 and not any(lab.startswith("∂ ") for lab in prim.values())
    # The gradient still comes out of the grouped nodes, and is the real one.
    rec = record_backward(tape)
    want = tg.grad(mlp_loss)(p, X, Y)
    got = {name: g.value for _, name, g in rec.grads}
    np.testing.assert_allclose(got["p['fc1']['weight']"], want["fc1"]["weight"], rtol=1e-6)
    where = clusters(src)
    grads = {a for a, b, _ in edges(src) if b.startswith("grad")}
    assert grads and all(where[a] == ("backward",) and a.startswith("bw") for a in grads)


def test_saved_bytes_per_call_and_total():
    p = _mlp_params()
    tape = tg.make_tape(mlp_loss)(p, X, Y)
    src = tape.draw(show_saved=True).source
    total = sum(e.saved_bytes() for e in tape.entries)
    legend = nodes(src)["legend_saved"]
    assert f"total {total} B" in legend or f"total {total:,} B" in legend
    saved = of_kind(src, "sv")
    assert any(lab.startswith("saved by linear") for lab in saved.values())
    assert all((n, f"op{n[2:].split('_')[0]}", "dir=none style=dashed") in edges(src) for n in saved)


def test_warnings_still_point_at_the_callers_line():
    x = jnp.ones((2, 3), F32)
    for call in (lambda: F.log_softmax(x), lambda: F.softmax(x), lambda: F.mse_loss(x, jnp.ones(3, F32)),
                 lambda: F.l1_loss(x, jnp.ones(3, F32)), lambda: F.kl_div(x, x)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        assert caught and all(w.filename == __file__ for w in caught), [(w.filename, w.lineno) for w in caught]


def test_ten_thousand_op_tape_of_calls_draws_fast():
    def f(x):
        for _ in range(2000):
            x = x + tnp.var(x)  # 5 primitives per var, and the add
        return x

    tape = tg.make_tape(f)(jnp.ones(3, F32))
    assert len(tape) == 12_000
    t0 = time.perf_counter()
    src = tape.draw(max_nodes=20_000).source
    grouped = time.perf_counter() - t0
    t0 = time.perf_counter()
    flat = tape.draw(max_nodes=20_000, detail="primitives").source
    primitives = time.perf_counter() - t0
    t0 = time.perf_counter()
    text = str(tape)
    listing = time.perf_counter() - t0
    print(f"\n12,000-op tape of 2,000 tnp.var calls: dot source {grouped * 1e3:.0f} ms grouped (4,000 nodes), "
          f"{primitives * 1e3:.0f} ms as primitives; listing {listing * 1e3:.0f} ms")
    assert len(of_kind(src, "op")) == 4000 and len(of_kind(flat, "op")) == 12_000
    lines = text.splitlines()
    segments = [line for line in lines if line.startswith("  lazy segment: ")]  # 1,024 ops each, when lazy
    assert len(lines) - len(segments) == 1 + 1 + 4000 + 1
    assert len(segments) in (0, -(-12_000 // 1024))
    assert grouped < 5.0 and listing < 5.0  # a few hundred ms here; generous for a loaded CI machine


@pytest.mark.skipif(not HAVE_DOT, reason="Graphviz `dot` is not installed")
def test_render_svg_of_the_grouped_drawing(tmp_path):
    g = draw_graph(mlp_loss, _mlp_params(), X, Y, backward=True)
    path = g.render(str(tmp_path / "mlp"))  # SVG by default
    assert path.endswith("mlp.svg")
    root = ET.parse(path).getroot()
    texts = [t.text for t in root.iter() if t.tag.endswith("text") and t.text]
    assert "linear" in texts and "cross_entropy" in texts and "∂ cross_entropy" in texts
    assert "dot_general" not in texts
    titles = [t.text or "" for t in root.iter() if t.tag.endswith("title")]
    assert "op0" in titles
