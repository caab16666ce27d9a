"""Build-time machinery of the documentation: run the pages' code, draw the pictures.

Three users:

* ``mkdocs.yml`` loads this file as a hook. ``on_pre_build`` writes the pictures into
  ``docs/assets/generated/`` (git-ignored) before mkdocs collects its files;
  ``on_page_markdown`` replaces two markers with text made from the package and the
  repository at build time:

  - ``<!-- tnp-names -->``: every ``tapegrad.numpy`` name, differentiable or declared
    non-differentiable, read from the installed package;
  - ``<!-- benchmark-results -->``: ``benchmarks/RESULTS.md`` when it exists, else a note.

* ``tests/test_docs.py`` imports :func:`parse_blocks` and :func:`run_page` to run
  every ```` ```python ```` block of every page.

* ``python tools/build_docs_assets.py`` does what ``on_pre_build`` does, by hand.

Conventions in the Markdown pages (see ``docs/guide/writing-docs.md``):

* A ```` ```python ```` block runs; the blocks of one page run in order in one namespace,
  in a fresh temporary working directory.
* ``<!-- skip: reason -->`` on the line before a block: it is shown, not run.
* A ```` ```text title="Output" ```` block (``title="出力"`` on Japanese pages) right after
  a python block is what that block must print; ``...`` matches anything
  (doctest's ELLIPSIS) and runs of whitespace compare equal.
* ``<!-- docs-test: env NAME=VALUE ... -->`` anywhere on a page: the page runs in a
  subprocess with these environment variables (e.g. ``XLA_FLAGS`` for several CPU
  devices, which must be set before JAX starts).
"""
from __future__ import annotations

import contextlib
import doctest
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
GENERATED = DOCS / "assets" / "generated"
RESULTS_MD = ROOT / "benchmarks" / "RESULTS.md"

# Pages whose own code draws a picture the page shows: page -> {file it writes: name in generated/}.
PAGE_FIGURES: dict[str, dict[str, str]] = {
    "tutorial/autograd.md": {"graph.png": "autograd-graph.png",
                             "graph_backward.svg": "autograd-graph-backward.svg"},
    "tutorial/nn.md": {"mlp.svg": "nn-mlp.svg"},
    "tutorial/optim.md": {"loss.png": "optim-loss.png"},
    "tutorial/homework.md": {"my_graph.svg": "homework-my-graph.svg",
                             "tape_graph.svg": "homework-tape-graph.svg"},
}

# --------------------------------------------------------------------------------------------
# Reading the code blocks of a page
# --------------------------------------------------------------------------------------------

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
_SKIP = re.compile(r"<!--\s*skip\b(?P<reason>.*?)-->")
_ENV = re.compile(r"<!--\s*docs-test:\s*env\s+(?P<vars>.*?)-->")
_TITLE = re.compile(r'title="(?P<title>[^"]*)"')
OUTPUT_TITLES = ("Output", "出力")


@dataclass
class Block:
    """One ```python block: its code, where it starts, and what it must print."""

    code: str
    lineno: int  # 1-based line of the first code line in the page
    title: str | None = None
    skip: str | None = None  # the reason, when marked <!-- skip -->
    expected: str | None = None  # the Output block after it
    expected_lineno: int | None = None


@dataclass
class Fenced:
    lang: str
    info: str
    code: str
    lineno: int
    start: int  # index of the opening fence line
    end: int  # index of the closing fence line
    indent: str = ""
    title: str | None = None
    extra: dict = field(default_factory=dict)


def _fenced_blocks(lines: list[str]) -> list[Fenced]:
    out: list[Fenced] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = m["indent"], m["fence"], m["info"].strip()
        j = i + 1
        body: list[str] = []
        while j < len(lines):
            close = lines[j]
            s = close.strip()
            if s and set(s) == {fence[0]} and len(s) >= len(fence):
                break
            body.append(close[len(indent):] if close.startswith(indent) else close.lstrip())
            j += 1
        lang = info.split()[0].lstrip(".{").rstrip("}") if info else ""
        t = _TITLE.search(info)
        out.append(Fenced(lang, info, "\n".join(body) + "\n", i + 2, i, j, indent, t["title"] if t else None))
        i = j + 1
    return out


def parse_blocks(text: str) -> list[Block]:
    """The page's ```python blocks, each with its skip mark and expected output."""
    lines = text.splitlines()
    fenced = _fenced_blocks(lines)
    blocks: list[Block] = []
    for k, f in enumerate(fenced):
        if f.lang not in ("python", "py"):
            continue
        prev = next((lines[p] for p in range(f.start - 1, -1, -1) if lines[p].strip()), "")
        skip = _SKIP.search(prev)
        b = Block(f.code, f.lineno, f.title, (skip["reason"].strip(" :") or "marked") if skip else None)
        nxt = fenced[k + 1] if k + 1 < len(fenced) else None
        if (nxt is not None and nxt.lang == "text" and nxt.title in OUTPUT_TITLES
                and all(not lines[p].strip() for p in range(f.end + 1, nxt.start))):
            b.expected, b.expected_lineno = nxt.code, nxt.lineno
        blocks.append(b)
    return blocks


def page_env(text: str) -> dict[str, str]:
    """Environment variables a page asks for with ``<!-- docs-test: env A=B -->``."""
    env: dict[str, str] = {}
    for m in _ENV.finditer(text):
        for item in m["vars"].split():
            name, _, value = item.partition("=")
            env[name] = value
    return env


# --------------------------------------------------------------------------------------------
# Running a page
# --------------------------------------------------------------------------------------------

_CHECKER = doctest.OutputChecker()
_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


class DocsError(AssertionError):
    """A block of a page failed or printed something else than its Output block says."""


def _registry_snapshot():
    try:
        from tapegrad.core.primitive import REGISTRY
    except ImportError:  # pragma: no cover
        return None, {}
    return REGISTRY, dict(REGISTRY)


def run_page(path: str | os.PathLike, workdir: str | os.PathLike | None = None) -> dict:
    """Run the page's python blocks in order in one fresh namespace; return the namespace.

    The working directory is ``workdir`` (a new temporary directory when None) for the
    duration. JAX runs with its defaults (float32: ``jax_enable_x64`` off for this thread,
    whatever the caller has set), and the primitive registry is restored afterwards, so
    pages that define primitives leave no trace. Raises :class:`DocsError` naming the
    page and line of the first block that fails or prints something unexpected.
    """
    path = Path(path).resolve()
    text = path.read_text(encoding="utf-8")
    rel = _rel(path)
    blocks = [b for b in parse_blocks(text) if b.skip is None]
    os.environ.setdefault("MPLBACKEND", "Agg")
    import jax

    module = types.ModuleType("docs_page_" + re.sub(r"\W", "_", rel))
    module.__file__ = str(path)
    ns = module.__dict__
    registry, saved = _registry_snapshot()
    old_cwd = os.getcwd()
    tmp = None
    if workdir is None:
        tmp = tempfile.mkdtemp(prefix="tapegrad-docs-")
        workdir = tmp
    sys.modules[module.__name__] = module
    try:
        os.chdir(workdir)
        with jax.enable_x64(False):
            for b in blocks:
                _run_block(b, ns, rel)
    finally:
        os.chdir(old_cwd)
        sys.modules.pop(module.__name__, None)
        if registry is not None:
            registry.clear()
            registry.update(saved)
        _close_figures()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return ns


def _run_block(b: Block, ns: dict, rel: str) -> None:
    filename = b.title if b.title and b.title.endswith(".py") else "example.py"
    code = compile(b.code, filename, "exec")
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(code, ns)
    except Exception as e:
        tb = traceback.format_exc(limit=-6)
        shown = "".join(f"  {line}\n" for line in b.code.splitlines()[:12])
        raise DocsError(f"{rel}:{b.lineno}: the block raised {type(e).__name__}: {e}\n{shown}\n"
                        f"printed so far:\n{out.getvalue()}\n{tb}") from e
    if b.expected is not None and not _CHECKER.check_output(b.expected, out.getvalue(), _FLAGS):
        raise DocsError(f"{rel}:{b.lineno}: the block's output differs from the Output block at line "
                        f"{b.expected_lineno}.\n--- expected ---\n{b.expected}"
                        f"--- printed ---\n{out.getvalue()}")


def _close_figures() -> None:
    mpl = sys.modules.get("matplotlib.pyplot")
    if mpl is not None:
        mpl.close("all")


def _rel(path: Path) -> str:
    try:
        return path.relative_to(DOCS).as_posix()
    except ValueError:
        return str(path)


def run_page_in_subprocess(path: str | os.PathLike, env: dict[str, str], timeout: float = 300) -> None:
    """:func:`run_page` in a fresh interpreter with ``env`` added (JAX reads e.g. XLA_FLAGS at start)."""
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            f"import build_docs_assets as b; b.run_page({str(path)!r})")
    full = {**os.environ, **env, "MPLBACKEND": "Agg"}
    full.pop("JAX_ENABLE_X64", None)
    r = subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True,
                       timeout=timeout, cwd=str(ROOT))
    if r.returncode != 0:
        raise DocsError(f"{_rel(Path(path))} (subprocess with {env}) failed:\n{r.stdout[-4000:]}\n"
                        f"{r.stderr[-6000:]}")


# --------------------------------------------------------------------------------------------
# Pictures
# --------------------------------------------------------------------------------------------

def figures_from_pages(out_dir: Path) -> list[Path]:
    """Run the pages that draw pictures and keep what they draw."""
    written = []
    for page, files in PAGE_FIGURES.items():
        src = DOCS / page
        with tempfile.TemporaryDirectory(prefix="tapegrad-docs-fig-") as tmp:
            env = page_env(src.read_text(encoding="utf-8"))
            if env:
                raise RuntimeError(f"{page}: figure pages must run in-process")
            run_page(src, tmp)
            for made, name in files.items():
                made_path = Path(tmp) / made
                if not made_path.exists():
                    raise FileNotFoundError(f"{page} was expected to write {made}, and did not")
                shutil.copyfile(made_path, out_dir / name)
                written.append(out_dir / name)
    return written


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def draw_dilation(path: Path) -> None:
    """A kernel [1, 2, 3] with dilation 1 and 2 over a 1-D input: the taps it reads."""
    plt = _plt()
    from matplotlib.patches import FancyArrowPatch, Rectangle

    fig, axes = plt.subplots(2, 1, figsize=(7.5, 3.6))
    for ax, dil in zip(axes, (1, 2), strict=True):
        n = 9
        taps = [dil * k for k in range(3)]
        for i in range(n):
            hit = i in taps
            ax.add_patch(Rectangle((i, 0), 1, 1, facecolor="#9ecae1" if hit else "#f0f0f0", edgecolor="#555"))
            ax.text(i + 0.5, 0.5, f"x{i}", ha="center", va="center", fontsize=9)
        kernel = []
        for k in range(3):
            kernel.append(str(k + 1))
            if k < 2:
                kernel += ["0"] * (dil - 1)
        for j, v in enumerate(kernel):
            face = "#fdae6b" if v != "0" else "white"
            ax.add_patch(Rectangle((j, 2), 1, 1, facecolor=face, edgecolor="#555"))
            ax.text(j + 0.5, 2.5, v, ha="center", va="center", fontsize=10)
        for k, t in enumerate(taps):
            ax.add_patch(FancyArrowPatch((k * dil + 0.5, 2), (t + 0.5, 1), arrowstyle="-|>",
                                         mutation_scale=10, color="#d94801"))
        span = dil * 2 + 1
        o = (n - span) // 1 + 1
        ax.text(n + 0.4, 0.5, f"I = {n},  O = {o}", va="center", fontsize=9)
        ax.text(n + 0.4, 2.5, f"dilation={dil}: kernel [{', '.join(kernel)}]\n"
                f"span D(K-1)+1 = {span}", va="center", fontsize=9)
        ax.set_xlim(-0.2, n + 5.2)
        ax.set_ylim(-0.2, 3.2)
        ax.set_aspect("equal")
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def draw_groups(path: Path) -> None:
    """in_channels=4, out_channels=8: every connection for groups=1 and groups=2."""
    plt = _plt()

    fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
    colors = ["#3182bd", "#e6550d", "#31a354", "#756bb1"]
    for ax, groups in zip(axes, (1, 2), strict=True):
        cin, cout = 4, 8
        xin = [1.5 + 1.5 * i for i in range(cin)]
        xout = [0.75 * j + 0.4 for j in range(cout)]
        for j in range(cout):
            g = j // (cout // groups)
            for i in range(cin):
                if i // (cin // groups) == g:
                    ax.plot([xin[i], xout[j]], [1, 0], color=colors[g] if groups > 1 else "#888", lw=1)
        for i, x in enumerate(xin):
            g = i // (cin // groups)
            ax.scatter([x], [1], s=260, color=colors[g] if groups > 1 else "#9ecae1", zorder=3, edgecolor="k")
            ax.text(x, 1.13, f"in {i}", ha="center", fontsize=8)
        for j, x in enumerate(xout):
            g = j // (cout // groups)
            ax.scatter([x], [0], s=200, color=colors[g] if groups > 1 else "#fdae6b", zorder=3, edgecolor="k")
            ax.text(x, -0.2, f"out {j}", ha="center", fontsize=7)
        ax.set_title(f"groups={groups}: weight ({cout}, {cin // groups}, K)", fontsize=10)
        ax.set_xlim(-0.2, 6.2)
        ax.set_ylim(-0.35, 1.3)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def draw_conv2d(path: Path) -> None:
    """A 5x5 input, padding 1, 3x3 kernel, stride 2 -> 3x3 output; the first two windows."""
    plt = _plt()
    from matplotlib.patches import Rectangle

    I, P, K, S, D = 5, 1, 3, 2, 1
    O = (I + 2 * P - D * (K - 1) - 1) // S + 1
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    n = I + 2 * P
    for r in range(n):
        for c in range(n):
            pad = r < P or c < P or r >= I + P or c >= I + P
            ax.add_patch(Rectangle((c, n - 1 - r), 1, 1, facecolor="white" if pad else "#deebf7",
                                   edgecolor="#999", ls="--" if pad else "-"))
            if pad:
                ax.text(c + 0.5, n - 0.5 - r, "0", ha="center", va="center", color="#aaa", fontsize=8)
    for (oc, color) in ((0, "#e6550d"), (1, "#31a354")):
        ax.add_patch(Rectangle((oc * S, n - K), K, K, fill=False, edgecolor=color, lw=2.5))
    off = n + 2
    for r in range(O):
        for c in range(O):
            color = {(0, 0): "#fdd0a2", (0, 1): "#c7e9c0"}.get((r, c), "#f0f0f0")
            ax.add_patch(Rectangle((off + c, n - 1 - r - (n - O) / 2 + 0.5 * 0), 1, 1, facecolor=color,
                                   edgecolor="#555"))
    ax.text(n / 2, -0.6, f"input {I}x{I}, padding P={P} (dashed)", ha="center", fontsize=9)
    ax.text(off + O / 2, -0.6, f"output {O}x{O}", ha="center", fontsize=9)
    ax.text(off + O + 0.8, n / 2 + 1.2,
            f"K={K}, S={S}, D={D}\nO = floor((I + 2P - D(K-1) - 1) / S) + 1\n"
            f"  = floor(({I} + {2 * P} - {D * (K - 1)} - 1) / {S}) + 1 = {O}", fontsize=9, va="center")
    ax.set_xlim(-0.3, off + O + 9)
    ax.set_ylim(-1.2, n + 0.3)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def draw_pictures(out_dir: Path) -> list[Path]:
    written = []
    for name, fn in (("conv-dilation.svg", draw_dilation), ("conv-groups.svg", draw_groups),
                     ("conv2d-output-size.svg", draw_conv2d)):
        fn(out_dir / name)
        written.append(out_dir / name)
    return written


# --------------------------------------------------------------------------------------------
# Text made at build time
# --------------------------------------------------------------------------------------------

JAX_DOC = "https://docs.jax.dev/en/latest/_autosummary/jax.numpy.{}.html"
_SKIP_TNP = {"constructors", "tracer_methods", "linalg"}


def classify_tnp() -> dict[str, list[str]]:
    """Every public ``tapegrad.numpy`` name by kind: differentiable, non-differentiable,
    constructor (constants and shape queries), plus constants. Uses the package's own
    ``DIFFERENTIABLE``/``NON_DIFFERENTIABLE``/``CONSTRUCTORS`` lists when it has them,
    else classifies by where each name is defined (``rules.nondiff`` is the declared list)."""
    import tapegrad.numpy as tnp
    from tapegrad.core.primitive import Primitive

    names = sorted(n for n in dir(tnp) if not n.startswith("_") and n not in _SKIP_TNP
                   and n.isidentifier() and not isinstance(getattr(tnp, n), types.ModuleType))
    kinds: dict[str, list[str]] = {"differentiable": [], "non-differentiable": [], "constructor": [],
                                   "constant": []}
    lists = {k: getattr(tnp, attr, None) for k, attr in (("differentiable", "DIFFERENTIABLE"),
                                                          ("non-differentiable", "NON_DIFFERENTIABLE"),
                                                          ("constructor", "CONSTRUCTORS"))}
    declared = all(v is not None for v in lists.values())
    for n in names:
        if n in ("DIFFERENTIABLE", "NON_DIFFERENTIABLE", "CONSTRUCTORS"):
            continue
        obj = getattr(tnp, n)
        if declared:
            kind = next((k for k, v in lists.items() if n in v), "constant" if not callable(obj) else None)
            if kind is None:
                kind = "differentiable"
        elif not callable(obj):
            kind = "constant"
        elif isinstance(obj, Primitive):
            kind = "differentiable" if obj.differentiable else "non-differentiable"
        else:
            mod = getattr(obj, "__module__", "") or ""
            if mod.endswith("rules.nondiff"):
                kind = "non-differentiable"
            elif mod.endswith("numpy.constructors"):
                kind = "constructor"
            else:
                kind = "differentiable"
        kinds[kind].append(n)
    kinds["linalg"] = sorted(n for n in dir(tnp.linalg) if not n.startswith("_") and callable(
        getattr(tnp.linalg, n)) and not isinstance(getattr(tnp.linalg, n), type))
    return kinds


def _doc_line(obj) -> str:
    doc = getattr(obj, "__doc__", None) or ""
    if type(obj).__name__ == "Primitive" or doc.startswith(("Primitive", "A differentiable operation")):
        return ""
    line = doc.strip().split("\n\n")[0].replace("\n", " ").strip()
    return line.replace("|", "\\|")


def tnp_names_markdown() -> str:
    """The generated tables of tapegrad.numpy names."""
    import tapegrad.numpy as tnp

    kinds = classify_tnp()
    total = sum(len(v) for k, v in kinds.items() if k != "constant")
    out = [f"*Generated from the installed package at build time: {total} callable names "
           f"({len(kinds['differentiable'])} differentiable, {len(kinds['linalg'])} in `tnp.linalg`, "
           f"{len(kinds['non-differentiable'])} declared non-differentiable, "
           f"{len(kinds['constructor'])} constructors and queries).*", ""]
    heads = {
        "differentiable": "Differentiable (each has a VJP rule, or is a composition of primitives that do)",
        "linalg": "`tnp.linalg` (differentiable)",
        "non-differentiable": "Declared non-differentiable (results are plain arrays: no gradient flows)",
        "constructor": "Constructors and shape queries (make constants)",
    }
    for kind, head in heads.items():
        out += [f"### {head}", "", "| name | kind | notes |", "|---|---|---|"]
        for n in kinds[kind]:
            obj = getattr(tnp.linalg if kind == "linalg" else tnp, n)
            qual = f"linalg.{n}" if kind == "linalg" else n
            prim = "primitive" if type(obj).__name__ == "Primitive" else "function"
            note = _doc_line(obj) or f"as [`jax.numpy.{qual}`]({JAX_DOC.format(qual)})"
            out.append(f"| `tnp.{qual}` | {prim} | {note} |")
        out.append("")
    consts = ", ".join(f"`{c}`" for c in kinds["constant"])
    out += ["### Constants and dtype names", "", consts, ""]
    return "\n".join(out)


def benchmark_markdown() -> str:
    """benchmarks/RESULTS.md with its headings moved below the page's, or a note."""
    if not RESULTS_MD.exists():
        return ('!!! note "No benchmark results yet"\n    `benchmarks/RESULTS.md` does not exist in '
                "this checkout. Run `make bench` (ideally on the machine you care about) to write it; "
                "the next docs build includes its tables here.\n")
    text = RESULTS_MD.read_text(encoding="utf-8")
    lines = []
    for line in text.splitlines():
        m = re.match(r"^(#{1,4})\s", line)
        lines.append("#" * min(len(m[1]) + 2, 6) + line[len(m[1]):] if m else line)
    return ("*Included from `benchmarks/RESULTS.md` at build time.*\n\n" + "\n".join(lines) + "\n")


MARKERS = {"<!-- tnp-names -->": tnp_names_markdown, "<!-- benchmark-results -->": benchmark_markdown}


# --------------------------------------------------------------------------------------------
# mkdocs hooks
# --------------------------------------------------------------------------------------------

_done: dict[str, object] = {}


def generate(out_dir: Path = GENERATED, figures: bool = True) -> list[Path]:
    """Write every generated picture into ``out_dir``; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / ".gitignore").write_text("*\n")  # belt and braces: never committed
    written = draw_pictures(out_dir)
    if figures:
        written += figures_from_pages(out_dir)
    (out_dir / "manifest.json").write_text(json.dumps(sorted(p.name for p in written), indent=1))
    return written


def on_pre_build(config, **kwargs) -> None:
    # mkdocs-static-i18n builds each language by calling build() again: draw once per process.
    if "generated" in _done:
        return
    import logging

    log = logging.getLogger("mkdocs.hooks.tapegrad_docs")
    written = generate(Path(config["docs_dir"]) / "assets" / "generated")
    log.info("tapegrad docs: generated %d pictures in docs/assets/generated", len(written))
    _done["generated"] = True


def on_page_markdown(markdown: str, page, config, files, **kwargs) -> str:
    for marker, make in MARKERS.items():
        if marker in markdown:
            if marker not in _done:
                _done[marker] = make()
            markdown = markdown.replace(marker, str(_done[marker]))
    return markdown


# --------------------------------------------------------------------------------------------
# A griffe extension (mkdocs.yml loads it with "tools/build_docs_assets.py:DoctestExamples")
# --------------------------------------------------------------------------------------------

_EXAMPLE_TITLE = re.compile(r"^(\s*)Example:\s*$", re.M)
_RST_LITERAL = re.compile(r"::\s*$", re.M)
_RST_ROLE = re.compile(r":(?:py:)?(?:meth|func|class|mod|attr|data|exc|obj):`(~?)([^`]+)`")


def _role(m: re.Match) -> str:
    target = m[2].rsplit(".", 1)[-1] if m[1] else m[2]
    return f"`{target}`"

try:
    import griffe as _griffe
except ImportError:  # only the docs build needs it
    _griffe = None

if _griffe is not None:

    class DoctestExamples(_griffe.Extension):
        """The package's docstrings say ``Example:`` (Google style, singular) before their
        doctests; griffe knows only ``Examples:`` as the section whose ``>>>`` lines are
        code. Without this, ``[[1.0, 2.0]]`` in an example's output reads as a Markdown
        link. RST's ``::`` before an indented literal block becomes ``:``, and RST roles
        (``:meth:`init_params```) become code spans."""

        def on_object(self, *, obj, **kwargs) -> None:
            if obj.is_alias or obj.docstring is None:
                return
            value = _EXAMPLE_TITLE.sub(r"\1Examples:", obj.docstring.value)
            value = _RST_ROLE.sub(_role, value)
            obj.docstring.value = _RST_LITERAL.sub(":", value)


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser(description="Draw the documentation's generated pictures.")
    p.add_argument("--out", default=str(GENERATED))
    p.add_argument("--no-page-figures", action="store_true", help="skip the pictures drawn by running pages")
    a = p.parse_args()
    for path in generate(Path(a.out), figures=not a.no_page_figures):
        print("wrote", path)
