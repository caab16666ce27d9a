"""How much of JAX's numerical surface tapegrad offers: names of jax.numpy (+ linalg, fft), jax.nn and
jax.scipy.{special, stats, linalg} that exist in the matching tapegrad namespace, over those that exist.

Only *functions* count (classes, dtypes, constants and submodules are not numerical functions), and
names JAX itself marks as deprecated or that are not numerical (printing, dtype queries, I/O, the
array API's namespace hooks) are listed in SKIP with the reason.

    python tools/surface_coverage.py            # the table and the missing names
    python tools/surface_coverage.py --json     # the same as JSON
"""
from __future__ import annotations

import importlib
import inspect
import json
import sys
import types

PAIRS = [
    ("jax.numpy", "tapegrad.numpy"),
    ("jax.numpy.linalg", "tapegrad.numpy.linalg"),
    ("jax.numpy.fft", "tapegrad.numpy.fft"),
    ("jax.nn", "tapegrad.nn"),
    ("jax.scipy.special", "tapegrad.scipy.special"),
    ("jax.scipy.stats", "tapegrad.scipy.stats"),
    ("jax.scipy.linalg", "tapegrad.scipy.linalg"),
]

# Not numerical functions: dtype and type queries, printing and I/O, configuration, array-API hooks.
SKIP = {
    "jax.numpy": {
        "can_cast", "dtype", "finfo", "iinfo", "isdtype", "issubdtype", "promote_types", "printoptions",
        "set_printoptions", "get_printoptions", "load", "save", "savez", "fromfile", "fromiter", "frombuffer",
        "fromfunction", "fromstring", "from_dlpack", "array_repr", "array_str", "broadcast_shapes",
        "result_type", "iscomplexobj", "isrealobj", "isscalar", "ndim", "shape", "size", "vectorize",
        "piecewise", "apply_along_axis", "apply_over_axes", "einsum_path", "show_config", "asarray",
        "astype", "copy", "ufunc", "frompyfunc", "register_jax_array_methods", "mask_indices",
        "issctype", "obj2sctype", "sctype2char", "nested_iters",
    },
}


def _public_functions(mod: types.ModuleType) -> set[str]:
    names = set()
    for n in dir(mod):
        if n.startswith("_"):
            continue
        obj = getattr(mod, n)
        if isinstance(obj, types.ModuleType) or inspect.isclass(obj):
            continue
        if callable(obj):
            names.add(n)
    return names


def _stats_names(mod: types.ModuleType) -> set[str]:
    """jax.scipy.stats: its distribution submodules (norm, t, ...) and its functions, each one name."""
    names = set()
    for n in dir(mod):
        if n.startswith("_"):
            continue
        obj = getattr(mod, n)
        if isinstance(obj, types.ModuleType) or callable(obj):
            names.add(n)
    return names


def measure() -> dict:
    rows = []
    for jname, tname in PAIRS:
        jmod = importlib.import_module(jname)
        names = _stats_names(jmod) if jname == "jax.scipy.stats" else _public_functions(jmod)
        names -= SKIP.get(jname, set())
        try:
            tmod = importlib.import_module(tname)
        except ImportError:
            tmod = None
        have = {n for n in names if tmod is not None and hasattr(tmod, n)}
        rows.append({"jax": jname, "tapegrad": tname, "total": len(names), "have": len(have),
                     "missing": sorted(names - have)})
    return {"rows": rows, "total": sum(r["total"] for r in rows), "have": sum(r["have"] for r in rows)}


def main() -> None:
    result = measure()
    if "--json" in sys.argv:
        print(json.dumps(result, indent=1))
        return
    for r in result["rows"]:
        print(f"{r['jax']:20s} {r['have']:4d} / {r['total']:4d}  ({100 * r['have'] / max(r['total'], 1):.0f}%)")
        if r["missing"]:
            print("    missing:", " ".join(r["missing"]))
    t, h = result["total"], result["have"]
    print(f"{'all':20s} {h:4d} / {t:4d}  ({100 * h / t:.1f}%)")


if __name__ == "__main__":
    main()
