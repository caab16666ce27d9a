"""The documentation's code runs, and its API reference covers the public contract.

* Every ```python block of every page under docs/ (English and Japanese) runs: a
  page's blocks in order, in one fresh namespace, in a temporary working directory,
  with JAX's defaults (float32). A ```text title="Output" block right after a block
  is what it must print. Blocks marked ``<!-- skip: reason -->`` are only shown; there
  are few, and this file counts them.
* The API reference pages name every public name of API.md (the NAMES below are a
  copy of ../shared/check_api.py's, so that CI may lay shared/ out as it likes).
* The build-time generators (the tnp list, the benchmark include) work.

The runner lives in tools/build_docs_assets.py, which the docs build also uses.
"""
from __future__ import annotations

import io
import re
import sys
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
sys.path.insert(0, str(ROOT / "tools"))

import build_docs_assets as docs_tools  # noqa: E402

PAGES = sorted(p for p in DOCS.rglob("*.md") if "generated" not in p.parts)


def _groups() -> list[tuple[Path, ...]]:
    """Each English page with its Japanese twin: run one after the other in one test, the
    twin reuses the JAX compilations of the first (same code, same shapes): half the time."""
    ja = DOCS / "ja"
    groups = []
    for p in PAGES:
        if ja in p.parents:
            if not (DOCS / p.relative_to(ja)).exists():
                groups.append((p,))
            continue
        twin = ja / p.relative_to(DOCS)
        groups.append((p, twin) if twin.exists() else (p,))
    return groups


GROUPS = _groups()
GROUP_IDS = [p[0].relative_to(DOCS).as_posix() + ("+ja" if len(p) > 1 else "") for p in GROUPS]

# The API.md names, as listed by ../shared/check_api.py.
NAMES = {
    "tapegrad": (
        "grad value_and_grad vjp jvp jacobian jacrev jacfwd hessian stop_gradient custom_vjp checkpoint "
        "check_grads make_tape draw_graph Tape Tracer save load debug_nans elementwise_grad vmap from_jax "
        "lax"
    ),
    "tapegrad.lax": (
        "scan cond switch fori_loop while_loop map"
    ),
    "tapegrad.numpy": (
        "asarray array zeros ones zeros_like ones_like full arange linspace eye add subtract multiply "
        "divide power sqrt exp log log1p sin cos tanh abs maximum minimum clip where sum mean prod max "
        "min var std logsumexp cumsum matmul dot einsum outer reshape transpose squeeze expand_dims "
        "broadcast_to concatenate stack split take take_along_axis sort argmax linalg fft angle diff kron "
        "cross meshgrid median nan_to_num select sinc rot90 flipud fliplr column_stack"
    ),
    "tapegrad.numpy.linalg": (
        "inv solve det slogdet norm cholesky svd eig eigh eigvals eigvalsh qr pinv lstsq matrix_power"
    ),
    "tapegrad.numpy.fft": (
        "fft ifft rfft irfft fft2 ifft2 rfft2 irfft2 fftn ifftn rfftn irfftn fftshift ifftshift fftfreq "
        "rfftfreq"
    ),
    "tapegrad.scipy.special": (
        "erf erfc erfinv gammaln digamma xlogy xlog1py logsumexp expit logit ndtr log_ndtr betaln"
    ),
    "tapegrad.scipy.stats": (
        "norm multivariate_normal t gamma beta poisson"
    ),
    "tapegrad.scipy.linalg": (
        "solve_triangular cho_factor cho_solve expm lu block_diag"
    ),
    "tapegrad.scipy.integrate": (
        "odeint"
    ),
    "tapegrad.nn": (
        "Module Linear Conv1d Conv2d MaxPool2d AvgPool2d Flatten ReLU Sigmoid Tanh GELU Softmax Dropout "
        "LayerNorm BatchNorm2d Embedding Sequential named_parameters load_state_dict CrossEntropyLoss "
        "MSELoss functional F RNN LSTM GRU relu gelu silu softplus softmax log_softmax one_hot"
    ),
    "tapegrad.nn.functional": (
        "linear relu sigmoid tanh gelu softmax log_softmax cross_entropy nll_loss mse_loss "
        "binary_cross_entropy_with_logits conv1d conv2d max_pool2d avg_pool2d dropout layer_norm "
        "batch_norm embedding one_hot"
    ),
    "tapegrad.optim": (
        "SGD Adam AdamW RMSprop Adagrad Adadelta Adamax NAdam RAdam clip_grad_norm lr_scheduler"
    ),
    "tapegrad.data": (
        "Dataset TensorDataset DataLoader random_split datasets transforms"
    ),
    "tapegrad.data.datasets": (
        "digits MNIST"
    ),
    "tapegrad.testing": (
        "arrays shapes broadcastable_shapes assert_vjp"
    ),
}

# Names of the contract that no code provides yet, each owned by the open issue that adds it. The
# reference must document every other name; a pending name that appears must leave this list (the
# test below fails until it does), so the list only shrinks.
PENDING = {
    # issue 13 (the numpy/jax.nn/scipy surface): one line per namespace, removed as its names arrive
}

# The tutorial chapters exist in both languages.
TUTORIAL = ["index.md", "tutorial/tensors.md", "tutorial/autograd.md", "tutorial/data.md", "tutorial/nn.md",
            "tutorial/optim.md", "tutorial/extra.md", "tutorial/homework.md"]


# --------------------------------------------------------------------------------------------
# Every block runs
# --------------------------------------------------------------------------------------------

def _program(page: Path) -> list[tuple[list[tuple[int, str]], str]]:
    """A page's runnable blocks as Python tokens without comments, each with its expected output."""
    out = []
    for b in docs_tools.parse_blocks(page.read_text(encoding="utf-8")):
        if b.skip is None:
            toks = tokenize.generate_tokens(io.StringIO(b.code).readline)
            out.append(([(t.type, t.string) for t in toks if t.type not in (tokenize.COMMENT, tokenize.NL)],
                        b.expected))
    return out


@pytest.mark.parametrize("pages", GROUPS, ids=GROUP_IDS)
def test_page_code_runs(pages, tmp_path):
    # A Japanese twin whose code is the English page's token for token (only its comments are translated)
    # and whose outputs are the same runs the same program: running it again would check nothing new.
    pages = [p for k, p in enumerate(pages) if k == 0 or _program(p) != _program(pages[0])]
    runnable = [p for p in pages
                if any(b.skip is None for b in docs_tools.parse_blocks(p.read_text(encoding="utf-8")))]
    if not runnable:
        pytest.skip("no runnable python blocks")
    failure = None
    for k, page in enumerate(runnable):
        text = page.read_text(encoding="utf-8")
        env = docs_tools.page_env(text)
        workdir = tmp_path / str(k)
        workdir.mkdir()
        try:
            if env:
                docs_tools.run_page_in_subprocess(page, env)
            else:
                docs_tools.run_page(page, workdir)
        except docs_tools.DocsError as e:
            failure = str(e)
            break
    if failure is not None:
        if "ExecutableNotFound" in failure or "GraphvizNotFoundError" in failure:
            pytest.skip("the Graphviz `dot` program is not installed")
        pytest.fail(failure, pytrace=False)


def test_few_blocks_are_skipped():
    skipped = [(p.relative_to(DOCS).as_posix(), b.lineno, b.skip) for p in PAGES
               for b in docs_tools.parse_blocks(p.read_text(encoding="utf-8")) if b.skip is not None]
    total = sum(len(docs_tools.parse_blocks(p.read_text(encoding="utf-8"))) for p in PAGES)
    assert total > 100, total
    assert len(skipped) <= 8, skipped
    assert all(reason and reason != "marked" for *_, reason in skipped), "say why a block is skipped"


def test_output_blocks_are_attached():
    """A ```text title="Output" block must follow a python block, or it is never checked."""
    for p in PAGES:
        text = p.read_text(encoding="utf-8")
        fenced = docs_tools._fenced_blocks(text.splitlines())
        outputs = sum(1 for f in fenced if f.lang == "text" and f.title in docs_tools.OUTPUT_TITLES)
        attached = sum(b.expected is not None for b in docs_tools.parse_blocks(text))
        assert outputs == attached, f"{p}: {outputs} Output blocks, {attached} attached to a python block"


def test_the_runner_catches_wrong_output_and_errors(tmp_path):
    page = tmp_path / "page.md"
    page.write_text('```python\nx = 2\nprint(x * 3)\n```\n\n```text title="Output"\n7\n```\n')
    with pytest.raises(docs_tools.DocsError, match="differs"):
        docs_tools.run_page(page, tmp_path)
    page.write_text('```python\nx = 2\n```\n\n<!-- skip: not run -->\n```python\nraise SystemExit\n```\n\n'
                    '```python\nprint(x, [1.5, 2.0])\n```\n\n```text title="Output"\n2   [1.5, ...]\n```\n')
    docs_tools.run_page(page, tmp_path)  # skipped, shared namespace, ELLIPSIS and whitespace
    page.write_text("```python\n1 / 0\n```\n")
    with pytest.raises(docs_tools.DocsError, match=r"page.md:2: the block raised ZeroDivisionError"):
        docs_tools.run_page(page, tmp_path)


# --------------------------------------------------------------------------------------------
# The two languages
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("page", TUTORIAL)
def test_every_tutorial_page_has_a_japanese_version(page):
    en, ja = DOCS / page, DOCS / "ja" / page
    assert en.exists() and ja.exists(), page
    ja_text = ja.read_text(encoding="utf-8")
    assert re.search(r"[\u3040-\u30ff]", ja_text), f"{ja} has no Japanese text"
    # The same code, in the same order: the same number of runnable blocks.
    n_en = len(docs_tools.parse_blocks(en.read_text(encoding="utf-8")))
    n_ja = len(docs_tools.parse_blocks(ja_text))
    assert n_en == n_ja, f"{page}: {n_en} python blocks in English, {n_ja} in Japanese"


def test_japanese_pages_use_the_seed_terminology():
    text = "".join((DOCS / "ja" / p).read_text(encoding="utf-8") for p in TUTORIAL)
    for term in ["テンソル", "自動微分", "計算グラフ", "勾配", "データセット", "データローダー",
                 "畳み込み", "最適化", "逆伝播", "学習率"]:
        assert term in text, term


# --------------------------------------------------------------------------------------------
# The API reference
# --------------------------------------------------------------------------------------------

def _documented_names() -> set[str]:
    """Qualified names the reference pages render: ``::: name`` directives, the ``members:``
    lists under them, and the rows of the generated tnp table."""
    found: set[str] = set()
    for page in sorted((DOCS / "reference").glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for marker, make in docs_tools.MARKERS.items():
            if marker in text:
                text = text.replace(marker, make())
        lines = text.splitlines()
        current = None
        for line in lines:
            m = re.match(r"^:::\s+([\w.]+)\s*$", line)
            if m:
                current = m[1]
                found.add(current)
                continue
            m = re.match(r"^\s+members:\s*\[(.*)\]\s*$", line)
            if m and current:
                found.update(f"{current}.{n.strip()}" for n in m[1].split(",") if n.strip())
            if line and not line.startswith(" "):
                current = None
        found.update(f"tapegrad.numpy.{n}" for n in re.findall(r"^\| `tnp\.([\w.]+)` \|", text, re.M))
    return found


def test_reference_names_every_public_name_of_the_contract():
    found = _documented_names()
    missing = [f"{mod}.{n}" for mod, names in NAMES.items() for n in names.split()
               if f"{mod}.{n}" not in found and f"{mod}.{n}" not in PENDING]
    assert not missing, f"not in docs/reference/: {missing}"


def _provided(name: str) -> bool:
    import importlib

    mod, _, attr = name.rpartition(".")
    try:
        importlib.import_module(name)
        return True
    except ImportError:
        pass
    try:
        return hasattr(importlib.import_module(mod), attr)
    except ImportError:
        return False


def test_pending_names_are_really_missing():
    """A name that now exists must leave PENDING (and be documented): the list only shrinks."""
    arrived = sorted(n for n in PENDING if _provided(n))
    assert not arrived, f"provided now, remove from PENDING and document: {arrived}"


def test_names_match_the_shared_check_when_it_is_there():
    """The copy above follows ../shared/check_api.py (read, not imported) where that file exists."""
    import ast

    shared = ROOT.parent / "shared" / "check_api.py"
    if not shared.exists():
        pytest.skip("no ../shared/check_api.py beside the project")
    tree = ast.parse(shared.read_text(encoding="utf-8"))
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.Assign)
                and any(getattr(t, "id", None) == "NAMES" for t in n.targets))
    theirs = ast.literal_eval(node.value)
    assert {k: v.split() for k, v in theirs.items()} == {k: v.split() for k, v in NAMES.items()}


def test_reference_directives_point_at_real_objects():
    import importlib

    for name in sorted(_documented_names()):
        mod, _, attr = name.rpartition(".")
        try:
            obj = importlib.import_module(name)
        except ImportError:
            owner = importlib.import_module(mod) if mod else None
            obj = getattr(owner, attr, None)
            if obj is None and mod.startswith("tapegrad.numpy"):
                tnp = importlib.import_module("tapegrad.numpy")
                obj = getattr(tnp, name.split("tapegrad.numpy.")[1], None)
        assert obj is not None, name


# --------------------------------------------------------------------------------------------
# Build-time generators
# --------------------------------------------------------------------------------------------

def test_tnp_names_are_all_classified():
    import tapegrad.numpy as tnp

    kinds = docs_tools.classify_tnp()
    listed = [n for k, names in kinds.items() if k not in ("linalg",) for n in names]
    assert len(listed) == len(set(listed)), "a name in two kinds"
    for name in ["sin", "sum", "matmul", "where", "reshape"]:
        assert name in kinds["differentiable"], name
    for name in ["argmax", "floor", "equal", "sign"]:
        assert name in kinds["non-differentiable"], name
    for name in ["zeros", "ones", "arange", "eye"]:
        assert name in kinds["constructor"], name
    public = {n for n in dir(tnp) if not n.startswith("_") and callable(getattr(tnp, n))
              and not isinstance(getattr(tnp, n), type(tnp))}
    assert public <= set(listed), sorted(public - set(listed))
    md = docs_tools.tnp_names_markdown()
    assert "| `tnp.sin` |" in md and "| `tnp.linalg.solve` |" in md


def test_benchmark_include_tolerates_a_missing_file(monkeypatch, tmp_path):
    monkeypatch.setattr(docs_tools, "RESULTS_MD", tmp_path / "RESULTS.md")
    assert "No benchmark results yet" in docs_tools.benchmark_markdown()
    (tmp_path / "RESULTS.md").write_text("# Results\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    md = docs_tools.benchmark_markdown()
    assert "### Results" in md and "| 1 | 2 |" in md


def test_conv_pictures_draw(tmp_path):
    pytest.importorskip("matplotlib")
    written = docs_tools.draw_pictures(tmp_path)
    assert all(p.exists() and p.stat().st_size > 1000 for p in written)
