"""What the family tables really check in CI, counted: a table that stops testing much fails here.

CI runs hypothesis derandomized (``CI=1``: the ``tapegrad-ci`` profile of conftest) with two or
three examples a row, and hypothesis' first draws are the simplest ones: a scalar, size 0. This
test replays each table test as CI runs it -- the same function, its own settings made
derandomized (CI's profile for tables that build their hypothesis test at run time), and the same
node id, which the hypothesis pytest plugin mixes into a parametrized test's seed -- with the
oracle check (``check_against_jax``/``assert_vjp``) replaced by a recorder. Then it counts, per
table:

- *non-empty cases*: distinct tuples of operand shapes where every operand has elements and one
  has at least two (a scalar or a single element says nothing about shapes);
- *broadcasting cases*: non-empty cases whose operand shapes differ and broadcast together
  (for the batched linear-algebra ops, their batch dimensions: all but the last two);

and per row, whether it was checked on a non-empty case in float64 at order 2 (every row must be),
and on a broadcasting one (every row of an op that broadcasts its operands must be). The explicit
``@example``s count: hypothesis runs them in CI too. ``-s`` prints the counts;
``TAPEGRAD_SHOW_DRAWS=1`` also lists every case of every row.
"""
from __future__ import annotations

import importlib
import math
import os
from pathlib import Path
from typing import NamedTuple

import family_checks
import jax
import numpy as np
import pytest
from hypothesis import settings

import tapegrad.testing


class Case(NamedTuple):
    shapes: tuple[tuple[int, ...], ...]
    dtype: str
    order: int


def _conv_case(case, nsp):
    return Case(((case["n"], case["cin"]) + tuple(case["size"]),), "float32", 1)


def _pool_case(case, *rest):
    return Case((((2,) if case["batched"] else ()) + (3,) + tuple(case["size"]),), "float32", 1)


def _floor_case(x):
    return Case((tuple(np.shape(x)),), str(x.dtype), 1)


class Table(NamedTuple):
    module: str
    test: str
    nonempty: int  # floor: distinct non-empty cases
    broadcasting: int  # floor: distinct broadcasting cases
    broadcasting_rows: tuple[str, ...] | str = ()  # rows (param ids) that must see one; "all" for every row
    batched: bool = False  # broadcasting of batch dimensions (all but the last two)
    # Rows that must be checked non-empty in float64 at order 2: every row of a table with a canonical case
    # per row; for the other linalg tables, those whose op has no canonical case (test_canonical_matches_jax).
    f64_rows: tuple[str, ...] | str = "all"
    # The module's own check helpers to record instead, each with what it is handed -> Case; by default
    # check_against_jax and assert_vjp.
    checks: tuple = ()


# The floors: the distinct cases CI checks whatever hypothesis draws (the canonical ones: a table's first
# example, an @example, or a case run directly), plus half (rounded up) of the distinct cases the draws added
# on top of those when the floor was set. A reshuffle of hypothesis' choices after an edit of a table passes;
# draws collapsing to scalars and size-0 arrays again, or a lost canonical case, do not. Broadcasting floors:
# the same where the ops broadcast their operands; 1 for a table with a few such rows (the per-row check
# below is what matters there); 0 where none does (compatible shapes are counted then, not required).
TABLES = [
    Table("test_elementwise", "test_unary_matches_jax", nonempty=4, broadcasting=0),
    Table("test_arithmetic", "test_binary_matches_jax", nonempty=4, broadcasting=3, broadcasting_rows="all"),
    Table("test_arithmetic", "test_unary_and_scalar_operands_match_jax", nonempty=3, broadcasting=0),
    Table("test_arithmetic", "test_clip_matches_jax", nonempty=1, broadcasting=1, broadcasting_rows="all"),
    Table("test_reductions", "test_reduction_matches_jax", nonempty=4, broadcasting=0),
    Table("test_reductions", "test_scan_matches_jax", nonempty=2, broadcasting=0),
    Table("test_shape", "test_matches_jax_numpy", nonempty=15, broadcasting=1, broadcasting_rows=("where",)),
    Table("test_indexing", "test_matches_jax_numpy", nonempty=8, broadcasting=1,
          broadcasting_rows=("at_set", "at_add", "at_multiply")),
    Table("test_linalg", "test_canonical_matches_jax", nonempty=7, broadcasting=2,
          broadcasting_rows=("matmul", "einsum"), batched=True),
    Table("test_linalg", "test_products", nonempty=3, broadcasting=1, batched=True, f64_rows=()),
    Table("test_linalg", "test_tensordot", nonempty=1, broadcasting=0, f64_rows=()),
    Table("test_linalg", "test_einsum", nonempty=5, broadcasting=1, batched=True, f64_rows=()),
    Table("test_linalg", "test_inv_det_slogdet", nonempty=1, broadcasting=0),
    Table("test_linalg", "test_solve", nonempty=1, broadcasting=1, broadcasting_rows="all", batched=True),
    Table("test_linalg", "test_cholesky", nonempty=1, broadcasting=0),
    Table("test_linalg", "test_vector_norm", nonempty=3, broadcasting=0, f64_rows=()),
    Table("test_linalg", "test_matrix_norm", nonempty=3, broadcasting=0, f64_rows=("2", "-2", "nuc")),
    Table("test_linalg", "test_norm_of_whole_array", nonempty=1, broadcasting=0, f64_rows=()),
    # Against torch in float32 (order 2 in float64 is checked on fixed cases in test_conv.py).
    Table("test_conv", "test_conv2d_matches_torch", nonempty=5, broadcasting=0,
          f64_rows=(), checks=(("_check_conv_vs_torch", _conv_case),)),
    Table("test_conv", "test_conv1d_matches_torch", nonempty=5, broadcasting=0,
          f64_rows=(), checks=(("_check_conv_vs_torch", _conv_case),)),
    Table("test_conv", "test_max_pool2d_matches_torch", nonempty=6, broadcasting=0,
          f64_rows=(), checks=(("_check_max_pool_vs_torch", _pool_case),)),
    Table("test_conv", "test_max_pool2d_forward_picks_torchs_element", nonempty=12, broadcasting=0,
          f64_rows=(), checks=(("_check_max_pool_forward_vs_torch", _pool_case),)),
    Table("test_conv", "test_avg_pool2d_matches_torch", nonempty=6, broadcasting=0,
          f64_rows=(), checks=(("_check_avg_pool_vs_torch", _pool_case),)),
    Table("test_nondiff", "test_floor_times_x_differentiates_to_floor", nonempty=2, broadcasting=0,
          f64_rows=(), checks=(("_check_floor_times_x", _floor_case),)),
]


def _nonempty(shapes) -> bool:
    return all(math.prod(s) > 0 for s in shapes) and any(math.prod(s) >= 2 for s in shapes)


def _broadcasting(shapes, batched: bool) -> bool:
    arrays = [s[:-2] if batched else s for s in shapes if len(s) >= (2 if batched else 0)]
    if not _nonempty(shapes) or len(arrays) < 2 or len(set(arrays)) < 2:
        return False
    try:
        np.broadcast_shapes(*arrays)
    except ValueError:
        return False
    return True


def _shapes(args):
    return tuple(tuple(np.shape(a)) for a in jax.tree_util.tree_leaves(args))


def _dtype(args) -> str:
    leaves = [a for a in jax.tree_util.tree_leaves(args) if hasattr(a, "dtype")]
    return str(np.result_type(*[a.dtype for a in leaves])) if leaves else "float64"


def _replay(request, monkeypatch, table: Table) -> dict[str, list[Case]]:
    """Run ``table``'s test as CI does, recording each case its oracle check is handed."""
    mod = importlib.import_module(table.module)
    cases: list[Case] = []

    def check_against_jax(fn, ref, args, dtype, order=None):
        cases.append(Case(_shapes(args), str(dtype), order or (2 if dtype == "float64" else 1)))

    def assert_vjp(fun, args, order=1, *rest, **kw):
        cases.append(Case(_shapes(args), _dtype(args), order))

    for m in (mod, family_checks):
        for name, value in list(vars(m).items()):
            if value is family_checks.check_against_jax:
                monkeypatch.setattr(m, name, check_against_jax)
            elif value is tapegrad.testing.assert_vjp:
                monkeypatch.setattr(m, name, assert_vjp)
    for name, to_case in table.checks:
        assert callable(getattr(mod, name))
        monkeypatch.setattr(mod, name, lambda *a, _f=to_case, **k: cases.append(_f(*a, **k)))

    # pytest's own collection gives the node ids (and so the seeds) and parameters CI's items have.
    items = [it for it in pytest.Module.from_parent(request.session, path=Path(mod.__file__)).collect()
             if getattr(it, "originalname", None) == table.test]
    assert items, f"{table.module}.{table.test} not found"
    out = {}
    for it in items:
        fn, params = it.obj, (it.callspec.params if hasattr(it, "callspec") else {})
        cases.clear()
        if hasattr(fn, "hypothesis"):
            if params:  # what the hypothesis pytest plugin does for a parametrized item: its seed
                monkeypatch.setattr(fn.hypothesis.inner_test, "_hypothesis_internal_add_digest",
                                    it.nodeid.encode(), raising=False)
            monkeypatch.setattr(fn, "_hypothesis_internal_use_settings",
                                settings(fn._hypothesis_internal_use_settings, derandomize=True))
            fn(**params)
        else:  # it builds its hypothesis test when called (check_case), on top of the default profile
            current = settings.get_current_profile_name()
            settings.load_profile("tapegrad-ci")
            try:
                fn(**params)
            finally:
                settings.load_profile(current)
        out[it.name.partition("[")[2].rstrip("]") or it.name] = list(cases)
    return out


@pytest.mark.parametrize("table", TABLES, ids=[f"{t.module}::{t.test}" for t in TABLES])
def test_ci_draws_reach_the_floor(request, monkeypatch, table):
    rows = _replay(request, monkeypatch, table)
    nonempty = {c.shapes for cs in rows.values() for c in cs if _nonempty(c.shapes)}
    bcast = {c.shapes for cs in rows.values() for c in cs if _broadcasting(c.shapes, table.batched)}
    print(f"\n{table.module}::{table.test}: {len(rows)} rows, {sum(map(len, rows.values()))} cases, "
          f"{len(nonempty)} distinct non-empty, {len(bcast)} broadcasting")
    if os.environ.get("TAPEGRAD_SHOW_DRAWS"):
        for r, cs in rows.items():
            print(f"  {r}: " + ", ".join(f"{list(map(list, c.shapes))} {c.dtype} o{c.order}" for c in cs))
    assert len(nonempty) >= table.nonempty, (len(nonempty), sorted(nonempty))
    assert len(bcast) >= table.broadcasting, (len(bcast), sorted(bcast))
    f64 = list(rows) if table.f64_rows == "all" else list(table.f64_rows)
    weak = [r for r in f64 if not any(c.dtype == "float64" and c.order >= 2 and _nonempty(c.shapes)
                                      for c in rows[r])]
    assert not weak, f"rows never checked non-empty in float64 at order 2: {weak}"
    need = list(rows) if table.broadcasting_rows == "all" else list(table.broadcasting_rows)
    missing = [r for r in need if not any(c.dtype == "float64" and c.order >= 2
                                          and _broadcasting(c.shapes, table.batched) for c in rows[r])]
    assert not missing, f"rows never checked on broadcasting operands in float64 at order 2: {missing}"
