"""The text corpus of the sequence examples: the source code of a fixed list of standard-library modules.

It ships with every Python, so nothing is downloaded and nothing is fetched at run time; it is the
same text for the same Python version (~630 KB on CPython 3.11). The files are read through their
module loaders (``loader.get_source``), so nothing is imported or executed.

Characters: the 95 printable ASCII characters and the newline (96 symbols, ``VOCAB``); the few other
characters in the files (names in docstrings such as "Łukasz") become ``?``.

Train/validation split: the modules are concatenated in the order of ``MODULES`` and the last 10% of
the characters is the validation split, so the validation text comes from modules the model has not
seen (collections and contextlib), not from random windows inside the training text.

Also here, shared by ``char_lstm.py`` and ``transformer.py``: seeded batch sampling, the fixed
validation windows, the unigram baseline, a tqdm progress bar and the loss plot.

Example:
    >>> import text_corpus
    >>> corpus = text_corpus.load()
    >>> len(corpus.train) > 500_000, len(corpus.vocab)
    (True, 96)
    >>> corpus.decode(corpus.encode("def f(x):\\n"))
    'def f(x):\\n'
"""
from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import math
import os
from dataclasses import dataclass

import numpy as np

# Pure-Python modules present in every CPython since 3.8, mostly prose-rich (docstrings, comments).
MODULES = ("argparse", "textwrap", "difflib", "calendar", "statistics", "fractions", "dataclasses", "functools",
           "heapq", "shlex", "string", "pprint", "random", "csv", "json.decoder", "json.encoder", "collections",
           "contextlib")

VOCAB = "\n" + "".join(chr(c) for c in range(32, 127))
_UNKNOWN = VOCAB.index("?")
_TABLE = np.full(128, _UNKNOWN, dtype=np.int32)  # ASCII code -> id (tab, CR, DEL... -> '?')
for _i, _c in enumerate(VOCAB):
    _TABLE[ord(_c)] = _i


def _source(name: str) -> str:
    """The source text of one module, without importing it where the loader can read it."""
    spec = importlib.util.find_spec(name)
    text = None
    if spec is not None and spec.loader is not None and hasattr(spec.loader, "get_source"):
        text = spec.loader.get_source(name)
    if text is None:  # a frozen or unusual module: import it and ask inspect
        text = inspect.getsource(importlib.import_module(name))
    return text


@functools.lru_cache(maxsize=1)
def load_corpus() -> str:
    """The corpus: the sources of ``MODULES``, each headed by ``# module: <name>``, joined by blank lines."""
    parts = [f"# module: {name}\n{_source(name).expandtabs(4).replace(chr(13), '')}" for name in MODULES]
    return "\n\n".join(parts)


def encode(text: str) -> np.ndarray:
    """Character ids (int32) in ``VOCAB``; characters outside it map to ``?``."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    return _TABLE[np.minimum(codes, 127)] if codes.size else np.zeros(0, np.int32)


def decode(ids) -> str:
    """The text of character ids."""
    return "".join(VOCAB[int(i)] for i in np.asarray(ids).reshape(-1))


@dataclass(frozen=True)
class Corpus:
    """The encoded corpus and its split: ``train`` and ``val`` are int32 arrays of ids in ``vocab``."""

    text: str
    vocab: str
    train: np.ndarray
    val: np.ndarray

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    encode = staticmethod(encode)
    decode = staticmethod(decode)


@functools.lru_cache(maxsize=4)
def load(val_fraction: float = 0.1) -> Corpus:
    """The corpus, encoded, with its last ``val_fraction`` of characters as the validation split."""
    text = load_corpus()
    ids = encode(text)
    cut = int(round(len(ids) * (1.0 - val_fraction)))
    return Corpus(text, VOCAB, ids[:cut], ids[cut:])


def sample_batch(data: np.ndarray, batch: int, seq: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``batch`` random windows: inputs ``x`` and next-character targets ``y``, both ``(batch, seq)`` int32."""
    starts = rng.integers(0, len(data) - seq - 1, batch)
    idx = starts[:, None] + np.arange(seq + 1)
    w = data[idx]
    return w[:, :-1], w[:, 1:]


def eval_windows(data: np.ndarray, seq: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` fixed windows spread evenly over ``data`` (the same every call): ``(x, y)`` of shape ``(n, seq)``."""
    starts = np.linspace(0, len(data) - seq - 1, n).astype(np.int64)
    w = data[starts[:, None] + np.arange(seq + 1)]
    return w[:, :-1], w[:, 1:]


def unigram_entropy(ids: np.ndarray, vocab_size: int) -> float:
    """Entropy of the character frequencies of ``ids``, in nats per character: the loss of a model that
    ignores the context and predicts each character with its frequency."""
    p = np.bincount(ids, minlength=vocab_size).astype(np.float64)
    p = p[p > 0] / p.sum()
    return float(-(p * np.log(p)).sum())


def unigram_cross_entropy(train: np.ndarray, val: np.ndarray, vocab_size: int) -> float:
    """The same unigram model (train frequencies, add-one smoothed) scored on ``val``, in nats per character."""
    counts = np.bincount(train, minlength=vocab_size).astype(np.float64) + 1.0
    logp = np.log(counts / counts.sum())
    return float(-logp[val].mean())


# --- training conveniences shared by the examples ---------------------------------------------------------

def progress(iterable, total: int, desc: str, enabled: bool):
    """A tqdm progress bar over ``iterable`` when tqdm is installed and ``enabled``, else ``iterable``."""
    if not enabled:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, total=total, desc=desc, leave=False, dynamic_ncols=True)


def save_loss_plot(path: str, history: list[dict], baseline: float, title: str) -> bool:
    """Train and validation loss against the step, with the unigram baseline as a line; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no plot)")
        return False
    fig, ax = plt.subplots(figsize=(6.5, 4))
    train = [h for h in history if "train" in h]
    val = [h for h in history if "val" in h]
    ax.plot([h["step"] for h in train], [h["train"] for h in train], lw=1, alpha=0.6, label="train (batch)")
    ax.plot([h["step"] for h in val], [h["val"] for h in val], marker="o", label="validation")
    ax.axhline(baseline, color="gray", ls="--", label=f"unigram baseline {baseline:.2f}")
    ax.set(xlabel="step", ylabel="cross-entropy (nats/char)", title=title)
    ax.set_ylim(0, max(baseline * 1.4, 1.0) if not train else max(min(train[0]["train"], 6.0), baseline) * 1.05)
    ax.legend()
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
    return True


def bits(nats: float) -> float:
    """Nats per character as bits per character."""
    return nats / math.log(2)


def add_run_arguments(parser, plot_name: str) -> None:
    """The command-line options both sequence examples share: validation, sampling, seed, plot, progress."""
    parser.add_argument("--clip", type=float, default=1.0, help="gradient norm clip")
    parser.add_argument("--eval-every", type=int, default=None, help="validation every N steps (default steps/8)")
    parser.add_argument("--val-windows", type=int, default=128, help="validation windows of --seq characters")
    parser.add_argument("--sample-len", type=int, default=400)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", default=os.path.join("runs", plot_name), help="loss plot PNG ('' for none)")
    parser.add_argument("--no-progress", action="store_true")


def report(history: list[dict], baseline: float, steps: int, seconds: float, cpu_seconds: float,
           compile_seconds: float | None, plot: str, title: str) -> float:
    """Print a run's time, its validation loss against the unigram baseline and by step, save the loss
    plot (``plot``: a path, or '' for none); returns the last validation loss."""
    val_loss = history[-1]["val"]
    print(f"{steps} steps in {seconds:.1f}s, {cpu_seconds:.1f}s of CPU time (first step, with compilation: "
          f"{compile_seconds or 0.0:.1f}s)")
    print(f"validation loss {val_loss:.3f} nats/char ({bits(val_loss):.2f} bits) against the unigram "
          f"baseline {baseline:.3f} ({val_loss / baseline:.0%} of it); last train batch {history[-2]['train']:.3f}")
    print("validation loss by step: " + ", ".join(f"{h['step']}: {h['val']:.3f}" for h in history if "val" in h))
    if plot and save_loss_plot(plot, history, baseline, title):
        print(f"loss plot: {plot}")
    return val_loss


def load_and_describe() -> tuple[Corpus, int, float]:
    """The corpus, its vocabulary size and the unigram baseline, printed as both examples start."""
    corpus = load()
    vocab = corpus.vocab_size
    baseline = unigram_entropy(corpus.train, vocab)
    print(f"corpus: {len(corpus.train):,} train / {len(corpus.val):,} validation characters of "
          f"{len(MODULES)} stdlib modules, vocabulary {vocab}")
    print(f"unigram baseline (entropy of the train split's character frequencies): {baseline:.3f} nats/char")
    return corpus, vocab, baseline
