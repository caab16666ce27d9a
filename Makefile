# Two commands for a fresh machine with Python 3.11+ and make:
#   make run   - set up .venv and train a model on the embedded digits dataset
#   make test  - set up .venv with the dev extras and run the whole suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip

.PHONY: run test lint bench docs graphviz clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# Stamp files make re-installs happen only when pyproject.toml changes.
$(VENV)/.run-installed: pyproject.toml | $(PY)
	$(PIP) install -q -e ".[train,viz]"
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(PY)
	$(PIP) install -q -e ".[dev]"
	touch $@

run: $(VENV)/.run-installed
	$(PY) examples/train.py

# The Graphviz `dot` binary renders drawings; install it where we may (root with apt).
graphviz:
	@command -v dot >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get install -y -q graphviz >/dev/null 2>&1 || \
	     (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q graphviz >/dev/null 2>&1)) \
	    || echo "note: could not install graphviz; rendering tests will report it"; \
	  else echo "note: Graphviz 'dot' not found; install it (apt-get install graphviz / brew install graphviz)"; fi; }

# The whole suite with lazy segments (the default), then a representative subset eager-exact: every
# primitive dispatched as it is recorded (TAPEGRAD_LAZY=0), the path tg.config.update("lazy", False) gives.
EAGER_EXACT = tests/test_core.py tests/test_transforms.py tests/test_elementwise.py tests/test_arithmetic.py \
	tests/test_user_errors.py tests/test_lazy.py

test: $(VENV)/.dev-installed graphviz
	$(PY) -m pytest -n 2 --dist worksteal tests
	TAPEGRAD_LAZY=0 $(PY) -m pytest -n 2 --dist worksteal $(EAGER_EXACT)

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check tapegrad tests examples benchmarks

$(VENV)/.docs-installed: pyproject.toml | $(PY)
	$(PIP) install -q -e ".[docs]"
	touch $@

# The site goes to site/; its pictures are drawn into docs/assets/generated/ during the build.
docs: $(VENV)/.docs-installed graphviz
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

bench: $(VENV)/.dev-installed
	$(PY) benchmarks/bench_core.py
	$(PY) benchmarks/bench_training.py
	$(PY) benchmarks/bench_warmup.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .cache
