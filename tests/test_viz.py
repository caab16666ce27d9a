"""Seeing the computation: ``print(tape)``, ``tape.draw`` / ``draw_graph`` and rendering."""
from __future__ import annotations

import os
import re
import shutil
import sys
import time
import xml.etree.ElementTree as ET

import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad.core.backward import backward as sweep
from tapegrad.core.primitive import REGISTRY
from tapegrad.core.tape import Entry, Tape
from tapegrad.core.tracer import Aval
from tapegrad.viz import GraphvizNotFoundError, draw_graph, format_tape
from tapegrad.viz.backward_view import record_backward
from tapegrad.viz.modules import assign_modules, parse_name

HAVE_DOT = shutil.which("dot") is not None
F32 = jnp.float32


# --- reading the DOT source back ---------------------------------------------------

_NODE = re.compile(r'^\s*(\w+) \[label="((?:[^"\\]|\\.)*)"', re.M)
_EDGE = re.compile(r"^\s*(\w+) -> (\w+)(?: \[(.*)\])?$", re.M)


def nodes(src: str) -> dict[str, str]:
    """node name -> label (with DOT's ``\\n`` turned back into newlines)."""
    return {n: lab.replace("\\n", "\n") for n, lab in _NODE.findall(src)}


def edges(src: str) -> list[tuple[str, str, str]]:
    return [(a, b, attrs) for a, b, attrs in _EDGE.findall(src) if "invis" not in attrs]


def of_kind(src: str, prefix: str) -> dict[str, str]:
    return {n: lab for n, lab in nodes(src).items() if re.fullmatch(prefix + r"\d+(_\d+)?", n)}


def clusters(src: str) -> dict[str, tuple[str, ...]]:
    """node name -> labels of the clusters it is nested in, outermost first."""
    where: dict[str, tuple[str, ...]] = {}
    stack: list[str] = []
    for line in src.splitlines():
        s = line.strip()
        if s.startswith("subgraph cluster"):
            stack.append("?")
        elif s == "}" and stack:
            stack.pop()
        elif stack and stack[-1] == "?" and s.startswith("label="):
            stack[-1] = re.match(r'label="([^"]*)"', s).group(1)
        else:
            m = re.match(r"(\w+) \[label=", s)
            if m:
                where[m.group(1)] = tuple(stack)
    return where


def seed_fun(x):
    y = x * x * x * x
    out = y.mean()
    return out


# --- the seed tutorial's picture ------------------------------------------------------

def test_seed_graph_counts_and_labels():
    x = jnp.ones((2, 2), F32)
    src = draw_graph(seed_fun, x, params=dict(x=x), legend=False).source
    ins, ops, outs = of_kind(src, "in"), of_kind(src, "op"), of_kind(src, "out")
    assert (len(ins), len(ops), len(outs)) == (1, 4, 1)
    assert len(nodes(src)) == 6
    assert list(ins.values()) == ["x\nf32[2,2]"]
    assert sorted(lab.split("\n")[0] for lab in ops.values()) == ["mean", "multiply", "multiply", "multiply"]
    assert list(outs.values()) == ["out\nf32[]"]
    # x feeds each multiply (once, though x*x reads it twice); a chain to the output.
    es = edges(src)
    assert len(es) == 7
    assert sum(1 for a, _, _ in es if a == "in0") == 3
    assert {attrs for a, b, attrs in es if b.startswith("op")} == {'label="f32[2,2]"'}
    assert [attrs for a, b, attrs in es if b == "out0"] == ['label="f32[]"']
    # torchviz's colours.
    for colour in ("lightblue", "lightgrey", "darkolivegreen1"):
        assert f"fillcolor={colour}" in src


def test_tape_draw_matches_draw_graph_and_legend():
    x = jnp.ones((2, 2), F32)
    tape = tg.make_tape(seed_fun)(x)
    assert tape.draw().source == draw_graph(seed_fun, x).source
    src = tape.draw().source
    assert "subgraph cluster_legend" in src and "legend_saved" not in src
    assert clusters(src)["legend_op"] == ("legend",)
    bare = tape.draw(show_shapes=False, legend=False).source
    assert not any("f32" in lab for lab in nodes(bare).values())
    assert not any("label" in attrs for _, _, attrs in edges(bare))


def test_names_from_params_and_pytree_paths():
    w, x = jnp.ones((3, 4), F32), jnp.ones((2, 4), F32)
    src = draw_graph(lambda p, inp: tnp.sum(inp @ p["layer"]["w"].T), {"layer": {"w": w}}, x,
                     legend=False).source
    assert sorted(of_kind(src, "in").values()) == ["inp\nf32[2,4]", "p['layer']['w']\nf32[3,4]"]
    # torchviz style: params= names leaves by identity, the others keep their path names.
    src = draw_graph(lambda p, inp: tnp.sum(inp @ p["layer"]["w"].T), {"layer": {"w": w}}, x,
                     params={"weight": w}, legend=False).source
    assert sorted(of_kind(src, "in").values()) == ["inp\nf32[2,4]", "weight\nf32[3,4]"]
    # A pytree value is named by path under its key; tape.draw matches residuals by identity.
    tape = tg.make_tape(lambda a, b: a * b)(w, w + 1)
    labels = sorted(of_kind(tape.draw(params={"m": {"first": w}}).source, "in").values())
    assert labels == ["b\nf32[3,4]", "m['first']\nf32[3,4]"]


def test_op_attributes_and_constants():
    x = jnp.ones((2, 3), F32)
    src = draw_graph(lambda x: tnp.sum(x * 2.0, axis=0, keepdims=True), x,
                     legend=False, show_source=True).source
    ops = list(of_kind(src, "op").values())
    assert ops[0].split("\n")[:2] == ["multiply", "const: 2.0"]
    assert ops[1].split("\n")[:2] == ["sum", "axis=0, keepdims=True"]
    line = test_op_attributes_and_constants.__code__.co_firstlineno + 2  # the lambda's line
    assert all(lab.endswith(f"test_viz.py:{line}") for lab in ops)
    # The tooltip repeats the tape listing line.
    assert 'tooltip="%2 = sum[axis=0, keepdims=True] %1 : f32[1,3]' in src


# --- what the VJP rules keep --------------------------------------------------------

def _bytes(label: str) -> int:
    return int(re.search(r"([\d,]+) B", label).group(1).replace(",", ""))


def test_show_saved_bytes_equal_residual_sizes():
    rng = np.random.default_rng(0)
    w, x = jnp.asarray(rng.normal(size=(16, 32)), F32), jnp.asarray(rng.normal(size=(8, 32)))
    tape = tg.make_tape(lambda w, x: tnp.tanh(x @ w.T).sum())(w, x)
    src = tape.draw(show_saved=True).source
    saved = of_kind(src, "sv")
    expect = {}
    for k, e in enumerate(tape.entries):
        for j, (role, v) in enumerate(e.saved()):
            expect[f"sv{k}_{j}"] = (role, v.size * v.dtype.itemsize)
    assert expect, "matmul keeps its arguments"
    assert set(saved) == set(expect)
    for name, (role, nbytes) in expect.items():
        assert saved[name].split("\n")[0] == role
        assert _bytes(saved[name]) == nbytes
        k = int(name[2:].split("_")[0])
        assert (name, f"op{k}", "dir=none style=dashed") in edges(src)
        assert clusters(src)[name] == ()
    total = sum(e.saved_bytes() for e in tape.entries)
    legend = nodes(src)["legend_saved"]
    assert _bytes(legend.split("total ")[1]) == total
    # x (8x32 f64) and w.T (f32) for matmul, the tanh output: 2048 + 2048 + 512 bytes.
    assert total == 8 * 32 * 8 + 32 * 16 * 4 + 8 * 16 * 8
    assert 'fillcolor=orange' in src


def test_show_saved_counts_shared_arrays_once_in_distinct_total():
    x = jnp.ones((2, 2), F32)
    src = draw_graph(seed_fun, x, show_saved=True).source
    legend = nodes(src)["legend_saved"]
    assert "total 96 B" in legend  # three multiplies keep two 16-byte arrays each
    assert "(48 B in distinct arrays)" in legend  # x, x*x, x*x*x


# --- the backward view --------------------------------------------------------------

def test_backward_view_cluster_ops_and_edges():
    x = jnp.array([[1.0, 2.0], [3.0, 4.0]], F32)
    src = draw_graph(seed_fun, x, params=dict(x=x), backward=True).source
    where = clusters(src)
    bw = {n: lab for n, lab in of_kind(src, "bw").items()}
    assert bw and all(where[n] == ("backward",) for n in bw)
    names = [lab.split("\n")[0] for lab in bw.values()]
    # d(mean)/dy: reshape/broadcast/divide; then two multiplies per forward multiply, and the adds
    # that accumulate x's cotangent.
    assert names.count("multiply") == 6
    assert names.count("add") == 3 and "divide" in names and "broadcast_to" in names
    assert all(where[n] == () for n in of_kind(src, "op"))
    # The seed starts from the output; the gradient comes out of the last accumulation.
    assert where["seed0"] == ("backward",) and ("out0", "seed0", "style=dashed") in edges(src)
    grad = nodes(src)["grad0"]
    assert grad.startswith("∂/∂x") and where["grad0"] == ("backward",)
    (src_of_grad,) = [a for a, b, _ in edges(src) if b == "grad0"]
    assert src_of_grad in bw and bw[src_of_grad].startswith("add")
    # Residual reads: dashed edges from forward nodes (x and the products) into backward ops.
    reads = {a for a, b, attrs in edges(src) if b in bw and "darkorange3" in attrs}
    assert reads == {"in0", "op0", "op1"}
    assert any(a == "seed0" and b in bw for a, b, _ in edges(src))


def test_backward_record_is_the_real_gradient():
    x = jnp.array([[1.0, 2.0], [3.0, 4.0]])
    rec = record_backward(tg.make_tape(seed_fun)(x))
    (iid, name, g), = rec.grads
    assert name == "x"
    np.testing.assert_allclose(g.value, tg.grad(seed_fun)(x))
    # Every backward entry is attributed to a forward entry, the mean's rule first.
    assert rec.origin[0] == 3 and sorted(set(rec.origin)) == [0, 1, 2, 3]


def test_backward_view_two_outputs_and_truncation():
    def f(p):
        h = tnp.sin(p["a"]) * p["b"]
        return h.sum(), (h * h).sum()

    p = {"a": jnp.ones(3), "b": jnp.arange(3.0)}
    tape = tg.make_tape(f)(p)
    src = tape.draw(backward=True).source
    assert {"seed0", "seed1", "grad0", "grad1"} <= set(nodes(src))
    rec = record_backward(tape)
    got = {name: g.value for _, name, g in rec.grads}
    _, vjp_fn = tg.vjp(f, p)
    (want,) = vjp_fn((jnp.ones(()), jnp.ones(())))
    np.testing.assert_allclose(got["p['a']"], want["a"])
    np.testing.assert_allclose(got["p['b']"], want["b"])
    # max_nodes counts forward and backward ops together.
    src = tape.draw(backward=True, max_nodes=len(tape) + 2).source
    assert len(of_kind(src, "bw")) == 2
    assert re.search(r"… \d+ more backward ops", nodes(src)["more_bw"])


def test_backward_view_shows_checkpoint_recomputation():
    block = tg.checkpoint(lambda x: tnp.sin(tnp.sin(x)))

    def f(x):
        return block(x * 2.0).sum()

    x = jnp.array([0.1, 0.2, 0.3])
    tape = tg.make_tape(f)(x)
    rec = record_backward(tape)
    np.testing.assert_allclose(rec.grads[0][2].value, tg.grad(f)(x))
    src = tape.draw(backward=True).source
    where, bw = clusters(src), of_kind(src, "bw")
    # The checkpoint keeps only its input; its rule recomputes both sins, then applies the cosines.
    names = [lab.split("\n")[0] for lab in bw.values()]
    assert names.count("sin") == 2 and names.count("cos") == 2
    (held,) = [n for n in nodes(src) if n.startswith("held")]
    assert where[held] == ("backward",) and nodes(src)[held].startswith("kept by checkpoint")
    assert ("op1", held, "dir=none style=dashed") in edges(src)
    # The picture keeps the checkpoint's machinery (functions, tree structures) out of its label.
    assert nodes(src)["op1"].split("\n")[:2] == ["checkpoint[<lambda>] %2", "residuals=(f64[3],)"]


def test_backward_of_consumed_tape_is_an_error_and_listing_survives():
    x = jnp.ones((2, 2), F32)
    tape = tg.make_tape(seed_fun)(x)
    sweep(tape, {tape.outputs[0][0]: jnp.ones((), F32)}, consume=True)
    assert all(e is None for e in tape.entries)
    text = format_tape(tape)
    assert "… 4 entries consumed (freed by a backward sweep)" in text
    assert text.splitlines()[-1].strip() == "return out = %4 : f32[]"
    src = tape.draw().source
    assert "consumed by a backward sweep" in nodes(src)["consumed"]
    with pytest.raises(ValueError, match="consumed"):
        tape.draw(backward=True)


# --- collapse="module" --------------------------------------------------------------

def _mlp_params(sizes=(6, 5, 5, 3)):
    rng = np.random.default_rng(0)
    stack = {str(2 * i): {"weight": jnp.asarray(rng.normal(size=(o, n))), "bias": jnp.zeros(o)}
             for i, (n, o) in enumerate(zip(sizes[:-1], sizes[1:], strict=True))}
    return {"linear_relu_stack": stack}


def _mlp(params, x):
    h = tnp.reshape(x, (x.shape[0], -1))
    layers = params["linear_relu_stack"]
    for n, name in enumerate(sorted(layers, key=int)):
        h = h @ layers[name]["weight"].T + layers[name]["bias"]
        if n < len(layers) - 1:
            h = tnp.maximum(h, 0.0)
    return h


def test_collapse_module_clusters_follow_parameter_paths():
    params, x = _mlp_params(), jnp.ones((4, 2, 3))
    src = draw_graph(_mlp, params, x, collapse="module").source
    where, labels = clusters(src), nodes(src)
    by_cluster: dict[tuple, list[str]] = {}
    for n, lab in of_kind(src, "op").items():
        by_cluster.setdefault(where[n], []).append(lab.split("\n")[0])
    stack = "linear_relu_stack"
    for child in ("0", "2", "4"):
        assert sorted(by_cluster[(stack, f"{stack}.{child}")]) == ["add", "matmul", "transpose"]
    assert by_cluster[(stack,)] == ["maximum", "maximum"]  # the ReLUs sit between the Linears
    assert by_cluster[()] == ["reshape"]  # flatten reads the data only
    # Parameters are drawn inside their module, named by their key there; the data input at the top.
    full = dict(re.findall(r'^\s*(in\d+) \[.*tooltip="%\d+ = ([^"]*)"', src, re.M))
    assert len(full) == 7
    for n, name in full.items():
        if name.startswith("params"):
            child, leaf = re.fullmatch(r"params\['linear_relu_stack'\]\['(\d)'\]\['(\w+)'\]", name).groups()
            assert where[n] == (stack, f"{stack}.{child}")
            assert labels[n].split("\n")[0] == leaf
        else:
            assert (name, where[n]) == ("x", ())
    assert where["out0"] == ()
    assert len(labels) > 20


def test_assign_modules_rule_details():
    assert parse_name("params['a']['0'].b[1]") == ("params", [("a", True), ("0", True), ("b", True),
                                                             ("1", False)])
    # Positional leaves (a tuple of data) are not parameters; two parameter arguments keep their names.
    tape = tg.make_tape(lambda enc, dec, batch: tnp.sum(batch[0] * enc["w"] + dec["w"] * batch[1]))(
        {"w": jnp.ones(3)}, {"w": jnp.ones(3)}, (jnp.ones(3), jnp.ones(3)))
    param_mod, mods = assign_modules(tape)
    assert sorted(param_mod.values()) == [("dec",), ("enc",)]
    assert mods == [("enc",), ("dec",), (), ()]  # the add mixes both modules: top level


def test_collapse_rejects_unknown_mode():
    with pytest.raises(ValueError, match="collapse"):
        draw_graph(seed_fun, jnp.ones(2), collapse="layer")
    with pytest.raises(ValueError, match="max_nodes"):
        draw_graph(seed_fun, jnp.ones(2), max_nodes=-1)


# --- rendering with the real Graphviz -----------------------------------------------

@pytest.mark.skipif(not HAVE_DOT, reason="Graphviz `dot` is not installed")
def test_render_png_and_svg(tmp_path):
    x = jnp.ones((2, 2), F32)
    g = draw_graph(seed_fun, x, params=dict(x=x), backward=True, show_saved=True)
    png = g.render(str(tmp_path / "graph"), format="png")
    assert png.endswith("graph.png")
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    svg = g.render(str(tmp_path / "graph"), format="svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    texts = [t.text for t in root.iter() if t.tag.endswith("text") and t.text]
    assert sum(t.startswith("multiply") for t in texts) == 3 + 6
    assert "x" in texts and "backward" in texts and "multiply %3" in texts


def test_render_without_dot_explains_how_to_install(tmp_path, monkeypatch):
    g = draw_graph(seed_fun, jnp.ones((2, 2), F32))
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert "multiply" in g.source  # building the source needs no Graphviz
    with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz") as info:
        g.render(str(tmp_path / "graph"), format="png")
    assert isinstance(info.value, RuntimeError)
    assert "brew install graphviz" in str(info.value) and "conda install graphviz" in str(info.value)
    with pytest.raises(GraphvizNotFoundError):
        g.pipe(format="svg")
    assert not os.path.exists(tmp_path / "graph.png")


# --- print(tape) --------------------------------------------------------------------

def test_print_tape_lines():
    def f(p, x):
        y = x * 2.0
        s = tnp.sum(y * p["w"], axis=0)
        return s + 1.0

    line = f.__code__.co_firstlineno
    tape = tg.make_tape(f)({"w": jnp.ones((2, 3), F32)}, jnp.ones((2, 3), F32))
    lines = [ln.rstrip() for ln in str(tape).splitlines()]
    assert lines[0] == "Tape: 4 entries, 2 inputs, 1 output"
    assert lines[1] == "  %0 = input p['w'] : f32[2,3]"
    assert lines[2] == "  %1 = input x : f32[2,3]"
    body = [re.sub(r"\s+#", "  #", ln) for ln in lines[3:7]]
    assert body == [
        f"  %2 = multiply %1 2.0 : f32[2,3]  # test_viz.py:{line + 1}",
        f"  %3 = multiply %2 %0 : f32[2,3]  # test_viz.py:{line + 2}",
        f"  %4 = sum[axis=0, keepdims=False] %3 : f32[3]  # test_viz.py:{line + 2}",
        f"  %5 = add %4 1.0 : f32[3]  # test_viz.py:{line + 3}",
    ]
    assert lines[7] == "  return out = %5 : f32[3]"
    # The source comments line up in one column.
    assert len({ln.index("#") for ln in lines[3:7]}) == 1


def test_print_tape_multiple_outputs_and_constants():
    tape = tg.make_tape(lambda x: tnp.split(x, 2) + [x * jnp.arange(4.0, dtype=F32)])(jnp.ones(4, F32))
    text = str(tape)
    assert re.search(r"^  %1, %2 = split\[.*\] %0 : f32\[2\], f32\[2\]", text, re.M)
    assert re.search(r"^  %3 = multiply %0 const f32\[4\] : f32\[4\]", text, re.M)
    last = "  return out[0] = %1 : f32[2], out[1] = %2 : f32[2], out[2] = %3 : f32[4]"
    assert text.splitlines()[-1] == last


# --- large tapes --------------------------------------------------------------------

def _chain(n: int) -> Tape:
    """A synthetic n-entry chain %0 -> %1 -> ... of real primitives (Aval residuals only)."""
    add, sin = REGISTRY["add"], REGISTRY["sin"]
    tape = Tape()
    aval = Aval((3,), np.dtype(np.float32))
    tape.inputs = [(0, "x", aval)]
    for k in range(n):
        prim, args, ids = (add, (aval, 1.0), (k, None)) if k % 2 else (sin, (aval,), (k,))
        tape.entries.append(Entry(prim, ids, (k + 1,), args, None, {}, (((3,), aval.dtype),), ()))
    tape.outputs = [(n, "out", ((3,), aval.dtype))]
    return tape


def test_ten_thousand_op_tape_source_and_truncation():
    def f(x):
        for _ in range(5000):
            x = tnp.sin(x) * 1.5
        return x

    tape = tg.make_tape(f)(jnp.ones(3, F32))
    assert len(tape) == 10_000
    t0 = time.perf_counter()
    src = tape.draw(max_nodes=20_000).source
    elapsed = time.perf_counter() - t0
    print(f"\ndot source of a 10,000-op tape: {elapsed * 1e3:.0f} ms, {len(src):,} characters")
    assert elapsed < 5.0  # ~0.1-0.3 s here; generous for a loaded CI machine
    assert len(of_kind(src, "op")) == 10_000
    assert len(edges(src)) == 10_000 + 1
    src = tape.draw(max_nodes=100).source
    assert len(of_kind(src, "op")) == 100
    assert nodes(src)["more"] == "… 9900 more ops (max_nodes=100)"
    assert ("op99", "more", "") in edges(src) and ("more", "out0", 'label="f32[3]"') in edges(src)


def test_hundred_thousand_op_chain_is_iterative():
    tape = _chain(100_000)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(300)  # anything recursive over the entries would fail at once
    try:
        text = format_tape(tape)
        src = tape.draw(max_nodes=50).source
        _, mods = assign_modules(tape)
    finally:
        sys.setrecursionlimit(limit)
    lines = text.splitlines()
    assert len(lines) == 1 + 1 + 100_000 + 1
    assert lines[-2] == "  %100000 = add %99999 1.0 : f32[3]"
    assert "… 99950 more ops" in src
    assert len(mods) == 100_000 and set(mods) == {()}
