"""The sequence-model examples (issue 14 §4, issue 15 §5): the stdlib-source corpus, and smoke runs of
examples/char_lstm.py and examples/transformer.py with tiny models and a few steps.

The smoke runs call each example's ``main`` in this process (sharing JAX's caches) with a small model,
short windows and few steps; the validation loss must fall, the plot must be written and a sample of
the requested length come back. The full runs (validation loss far below the unigram baseline) are
recorded in docs/guide/rnn.md and docs/guide/transformer.md.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
sys.path.insert(0, str(EXAMPLES))

import text_corpus  # noqa: E402


def test_corpus_ships_with_python_and_splits():
    corpus = text_corpus.load()
    text = text_corpus.load_corpus()
    assert len(text.encode()) >= 200_000
    assert text.startswith("# module: argparse\n")
    assert all(f"# module: {m}\n" in text for m in text_corpus.MODULES)
    assert text == text_corpus.load_corpus.__wrapped__()  # read again from the files: the same text
    assert corpus.vocab == text_corpus.VOCAB and len(corpus.vocab) == 96
    assert len(corpus.train) + len(corpus.val) == len(text)
    assert abs(len(corpus.val) / len(text) - 0.1) < 1e-3
    assert corpus.train.dtype == np.int32 and corpus.train.max() < 96 and corpus.train.min() >= 0
    np.testing.assert_array_equal(np.concatenate([corpus.train, corpus.val]), text_corpus.encode(text))
    assert text_corpus.decode(text_corpus.encode("def f(x):\n    return x")) == "def f(x):\n    return x"
    assert text_corpus.decode(text_corpus.encode("Łukasz\t")) == "?ukasz?"
    assert text_corpus.encode("").shape == (0,)

    # Batches: seeded, next-character targets; validation windows fixed.
    x, y = text_corpus.sample_batch(corpus.train, 4, 16, np.random.default_rng(3))
    x2, _ = text_corpus.sample_batch(corpus.train, 4, 16, np.random.default_rng(3))
    np.testing.assert_array_equal(x, x2)
    assert x.shape == y.shape == (4, 16)
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    vx, vy = text_corpus.eval_windows(corpus.val, 32, 5)
    assert vx.shape == (5, 32) and vx[0, 0] == corpus.val[0] and vy[-1, -1] == corpus.val[-1]

    # The unigram baseline: the entropy of the character frequencies, in nats.
    ids = np.array([0, 0, 1, 2])
    assert text_corpus.unigram_entropy(ids, 3) == pytest.approx(-(0.5 * np.log(0.5) + 2 * 0.25 * np.log(0.25)))
    h = text_corpus.unigram_entropy(corpus.train, 96)
    assert 2.5 < h < 4.0
    assert text_corpus.unigram_cross_entropy(corpus.train, corpus.val, 96) > 2.5


TINY = ["--steps", "30", "--seq", "32", "--batch", "16", "--val-windows", "16", "--eval-every", "15",
        "--sample-len", "12", "--lr", "1e-2", "--no-progress"]


def _check_run(out: dict, plot: Path, steps: int = 30) -> None:
    vals = [h["val"] for h in out["history"] if "val" in h]
    trains = [h["train"] for h in out["history"] if "train" in h]
    assert len(trains) == steps and len(vals) == 3
    assert all(np.isfinite(trains)) and all(np.isfinite(vals))
    assert vals[-1] < vals[0] - 0.8, vals  # from ~log(96) = 4.56 towards the unigram's 3.1
    assert np.mean(trains[-10:]) < np.mean(trains[:5]) - 0.8, trains
    assert plot.exists() and plot.stat().st_size > 1000
    assert out["sample"].startswith("def ") and len(out["sample"]) == 4 + 12
    assert out["baseline"] == pytest.approx(text_corpus.unigram_entropy(text_corpus.load().train, 96))


def test_char_lstm_example_learns(tmp_path, capsys):
    import char_lstm

    plot = tmp_path / "lstm.png"
    out = char_lstm.main([*TINY, "--hidden", "32", "--embed", "16", "--plot", str(plot)])
    _check_run(out, plot)
    printed = capsys.readouterr().out
    assert "unigram baseline" in printed and "validation loss" in printed and "sample:" in printed


def test_transformer_example_learns(tmp_path, capsys):
    import transformer

    plot = tmp_path / "transformer.png"
    out = transformer.main([*TINY, "--d-model", "32", "--layers", "1", "--nhead", "2",
                            "--plot", str(plot)])
    _check_run(out, plot)
    assert "validation loss" in capsys.readouterr().out
