#!/usr/bin/env bash
# benchmarks/gpu.sh: issue 5 section 3, the GPU check as one prepared script (under 8 minutes on an H100/H200).
#
# Usage: bash benchmarks/gpu.sh [OUT_DIR] [--cpu-ok]
#   OUT_DIR   results folder, created if needed (default benchmarks/results/gpu-<date>); everything goes there
#   --cpu-ok  (or GPU_SH_DRYRUN=1) allow a run without a GPU: a dry run of the whole script on the CPU, with
#             the test step cut to GPU_SH_CPU_TESTS (default tests/test_core.py)
#
# Steps, each under its own timeout inside a total budget (GPU_SH_BUDGET, default 450 s), none stopping the rest:
#   1. machine: nvidia-smi; picks a Python whose JAX sees the GPU (GPU_SH_PYTHON, .venv/bin/python, python3,
#      python, in that order of preference) and records jax.devices(), jax/jaxlib/torch versions and
#      torch.cuda.is_available(). Test packages that are missing are pip-installed by name (pyproject's dev
#      specs) unless GPU_SH_NO_INSTALL=1; never `pip install .[dev]`, whose CPU torch pin would replace a
#      CUDA torch. tapegrad itself comes from this checkout through PYTHONPATH.
#   2. tests: pytest with JAX on the GPU (JAX_PLATFORMS=cuda,cpu; tests/conftest.py pins the CPU when it is
#      unset), xdist workers, at most 240 s, log and exit code kept
#   3. benchmarks: bench_core.py --quick, bench_training.py --quick --cnn-batch 256, memory.py --quick;
#      the PyTorch anchor runs on CUDA when torch sees it ("PyTorch eager CUDA")
#   4. summary.md: the card, test counts, failed tests, the targets and the benchmark tables (rewritten
#      after every step, so a run cut short still has one)
#
# Environment: GPU_SH_PYTHON, GPU_SH_WORKERS (xdist workers, default min(8, cores)), GPU_SH_TESTS (test paths,
# default tests), TAPEGRAD_EXAMPLES (hypothesis examples per property, default 10 here), GPU_SH_BUDGET,
# GPU_SH_NO_INSTALL=1, XLA_PYTHON_CLIENT_PREALLOCATE (default false: several processes share the GPU),
# GPU_SH_TEST_PRECISION (JAX_DEFAULT_MATMUL_PRECISION for the tests only, default highest; empty: JAX's default).
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2

CPU_OK=0
case ${GPU_SH_DRYRUN:-0} in 0 | "" | false | no) ;; *) CPU_OK=1 ;; esac
OUT=
for arg in "$@"; do
    case $arg in
        --cpu-ok | --dry-run) CPU_OK=1 ;;
        -h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "gpu.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
        *) OUT=$arg ;;
    esac
done
OUT=${OUT:-benchmarks/results/gpu-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT" || { echo "gpu.sh: cannot create $OUT" >&2; exit 2; }
OUT=$(cd "$OUT" && pwd)
exec > >(tee -a "$OUT/gpu.sh.log") 2>&1

BUDGET=${GPU_SH_BUDGET:-450}
# limit DEFAULT RESERVE: a step's timeout, DEFAULT or less so that RESERVE seconds stay for the later steps.
limit() {
    local l=$((BUDGET - SECONDS - $2))
    ((l > $1)) && l=$1
    ((l < 15)) && l=15
    echo "$l"
}

printf 'step\tstatus\texit\tseconds\tlimit\n' >"$OUT/steps.tsv"
note_step() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$OUT/steps.tsv"; }

# run_step NAME LIMIT CMD...: runs CMD under `timeout`, output to the console and $OUT/NAME.log; never fails.
run_step() {
    local name=$1 lim=$2 t0=$SECONDS rc status
    shift 2
    echo
    echo "=== $name (timeout ${lim}s; $((BUDGET - SECONDS))s of the ${BUDGET}s budget left): $*"
    timeout -k 10 "$lim" "$@" </dev/null 2>&1 | tee "$OUT/$name.log"
    rc=${PIPESTATUS[0]}
    case $rc in
        0) status=ok ;;
        124 | 137) status="TIMED OUT" ;;
        *) status=failed ;;
    esac
    note_step "$name" "$status" "$rc" "$((SECONDS - t0))" "$lim"
    echo "=== $name: $status (exit $rc) after $((SECONDS - t0))s"
    write_summary
}

# ---- summary.md (stdlib Python only; rewritten after every step) ----------------------------------------
SUMMARY_PY=$(
    cat <<'PY'
import os, re, sys, xml.etree.ElementTree as ET
out = sys.argv[1]
def read(name, default=""):
    try:
        with open(os.path.join(out, name), errors="replace") as f:
            return f.read()
    except OSError:
        return default
lines = ["# tapegrad GPU run (benchmarks/gpu.sh)", ""]
smi = read("nvidia-smi.csv").strip()
lines += ["## Machine", "", "```", smi or "(no nvidia-smi output)", "", read("machine.txt").strip(), "```", ""]
steps = [l.split("\t") for l in read("steps.tsv").strip().splitlines()[1:] if l]
lines += ["## Steps", "", "| step | status | exit | seconds | timeout |", "|---|---|---:|---:|---:|"]
lines += [f"| {' | '.join(s)} |" for s in steps] + [""]
# Tests: junit XML when pytest finished; otherwise what its log shows.
log = read("tests.log")
lines += ["## Tests", ""]
counts, failed = None, []
try:
    root = ET.parse(os.path.join(out, "tests-junit.xml")).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    n = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
    counts = (f"{n['tests'] - n['failures'] - n['errors'] - n['skipped']} passed, {n['failures']} failed, "
              f"{n['errors']} errors, {n['skipped']} skipped (of {n['tests']}; junit XML)")
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(f"{case.get('classname')}::{case.get('name')}")
except (OSError, ET.ParseError):
    pass
final = [l for l in log.splitlines() if re.search(r"\d+ (passed|failed|error)", l) and " in " in l]
if final:
    lines.append("pytest: " + final[-1].strip("= "))
if counts:
    lines.append("counts: " + counts)
elif log:
    got = {k: len(re.findall(rf"\b{k}\b", log)) for k in ("PASSED", "FAILED", "ERROR", "SKIPPED", "XFAIL")}
    lines.append("no final pytest summary (timed out or crashed); results seen in the log so far: "
                 + ", ".join(f"{v} {k.lower()}" for k, v in got.items()))
    failed = sorted(set(re.findall(r"(?:FAILED|ERROR) (tests/\S+)", log)))
else:
    lines.append("(the tests did not run)")
if failed:
    lines += ["", f"failed or erroring ({len(failed)}):", ""] + [f"- `{t}`" for t in failed[:60]]
m = re.search(r"=+ slowest \d+ durations =+\n(.*?)(?:\n\n|\n=)", log, re.S)
if m:
    lines += ["", "slowest:", "", "```", m.group(1).strip(), "```"]
lines.append("")
# Benchmarks: targets first, then the logs (the tables the scripts print).
bench = [("bench_core", "bench_core.py --quick"), ("bench_training", "bench_training.py --quick --cnn-batch 256"),
         ("memory", "memory.py --quick")]
targets = []
for name, _ in bench:
    title = None
    for l in read(f"{name}.log").splitlines():
        if l and not l[0].isspace():
            title = l.strip()
        elif l.strip().startswith(("target:", "issue 5 GPU reference", "WARNING")) or ": FAILED: " in l:
            if title:
                targets.append(f"{name}: {title}")
                title = None
            targets.append(l.rstrip())
lines += ["## Targets (issue 5: jitted tapegrad step <= 0.3x PyTorch eager CUDA and <= 1.05x jax.jit(jax.grad))", ""]
lines += ["```"] + (targets or ["(none printed yet)"]) + ["```", ""]
for name, what in bench:
    text = read(f"{name}.log")
    if not text:
        continue
    body = text.splitlines()
    if len(body) > 150:
        body = [f"... ({len(body) - 150} earlier lines in {name}.log)"] + body[-150:]
    lines += [f"## {what}", "", "```"] + body + ["```", ""]
with open(os.path.join(out, "summary.md.tmp"), "w") as f:
    f.write("\n".join(lines) + "\n")
os.replace(os.path.join(out, "summary.md.tmp"), os.path.join(out, "summary.md"))
PY
)
SUMMARY_PYTHON=$(command -v python3 || command -v python || true)
write_summary() {
    local py=${PY:-$SUMMARY_PYTHON}
    [ -n "$py" ] && timeout 30 "$py" -c "$SUMMARY_PY" "$OUT" </dev/null || echo "gpu.sh: could not write summary.md"
}

# ---- 1. machine ----------------------------------------------------------------------------------------
echo "gpu.sh: results in $OUT (budget ${BUDGET}s)"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
export XLA_PYTHON_CLIENT_PREALLOCATE=${XLA_PYTHON_CLIENT_PREALLOCATE:-false}
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null)
    echo "host: $(uname -srm), $(nproc) cores, ${mem:-? GiB}"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
} >"$OUT/machine.txt"
if command -v nvidia-smi >/dev/null 2>&1; then
    timeout 30 nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >"$OUT/nvidia-smi.csv" 2>&1
    timeout 30 nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1
else
    echo "nvidia-smi: not found" >"$OUT/nvidia-smi.csv"
fi
cat "$OUT/nvidia-smi.csv"

PROBE_PY=$(
    cat <<'PY'
import importlib.util, sys
print("python:", sys.executable, sys.version.split()[0])
platform = ""
try:
    import jax, jaxlib
    print("jax:", jax.__version__, "jaxlib:", getattr(jaxlib, "__version__", "?"))
    print("jax.devices():", jax.devices())
    platform = jax.devices()[0].platform
    print("jax default backend:", jax.default_backend())
except Exception as e:
    print("jax: FAILED:", repr(e)[:800])
try:
    import torch
    print("torch:", torch.__version__, "cuda build:", torch.version.cuda,
          "torch.cuda.is_available():", torch.cuda.is_available())
    if torch.cuda.is_available():
        print("torch device:", torch.cuda.get_device_name(0))
except Exception as e:
    print("torch: not usable:", repr(e)[:300])
try:
    import tapegrad
    print("tapegrad:", tapegrad.__file__)
except Exception as e:
    print("tapegrad: FAILED:", repr(e)[:300])
missing = [m for m in ("numpy", "pytest", "xdist", "hypothesis") if importlib.util.find_spec(m) is None]
print("missing test packages:", " ".join(missing) or "none")
print("GPU_SH_PLATFORM=" + platform)
print("GPU_SH_MISSING=" + " ".join(missing))
PY
)
CANDIDATES=()
[ -n "${GPU_SH_PYTHON:-}" ] && CANDIDATES+=("$GPU_SH_PYTHON")
[ -x .venv/bin/python ] && CANDIDATES+=("$ROOT/.venv/bin/python")
for c in python3 python; do
    command -v "$c" >/dev/null 2>&1 && CANDIDATES+=("$(command -v "$c")")
done
PY= PLATFORM= MISSING= FALLBACK= FALLBACK_MISSING=
for cand in ${CANDIDATES[@]+"${CANDIDATES[@]}"}; do
    echo "--- probing $cand (JAX_PLATFORMS unset)"
    # JAX_PLATFORMS unset: JAX picks the GPU by itself when its CUDA plugin works.
    probe=$(timeout 60 env -u JAX_PLATFORMS "$cand" -c "$PROBE_PY" </dev/null 2>"$OUT/probe.err")
    { echo "--- $cand"; cat "$OUT/probe.err"; } >>"$OUT/probe-stderr.log"
    echo "$probe" | grep -v '^GPU_SH_'
    plat=$(echo "$probe" | sed -n 's/^GPU_SH_PLATFORM=//p')
    miss=$(echo "$probe" | sed -n 's/^GPU_SH_MISSING=//p')
    if [ "$plat" = gpu ]; then
        PY=$cand PLATFORM=gpu MISSING=$miss
        { echo; echo "$probe" | grep -v '^GPU_SH_'; } >>"$OUT/machine.txt"
        break
    elif [ -n "$plat" ] && [ -z "$FALLBACK" ]; then
        FALLBACK=$cand FALLBACK_MISSING=$miss
        FALLBACK_PROBE=$probe
    fi
    echo "    (JAX in $cand does not see a GPU: platform '${plat:-none}'; stderr tail:)"
    tail -n 5 "$OUT/probe.err" | sed 's/^/    /'
done
rm -f "$OUT/probe.err"
if [ -z "$PY" ] && [ -n "$FALLBACK" ]; then
    PY=$FALLBACK PLATFORM=cpu MISSING=$FALLBACK_MISSING
    { echo; echo "$FALLBACK_PROBE" | grep -v '^GPU_SH_'; } >>"$OUT/machine.txt"
fi
note_step machine "${PLATFORM:-no jax}" 0 "$SECONDS" -
if [ -z "$PY" ]; then
    echo "gpu.sh: NO PYTHON WITH A WORKING JAX among: ${CANDIDATES[*]:-none}; see $OUT/probe-stderr.log"
    echo "no Python with a working JAX among: ${CANDIDATES[*]:-none}" >>"$OUT/machine.txt"
    write_summary
    exit 3
fi
if [ "$PLATFORM" != gpu ]; then
    if [ "$CPU_OK" != 1 ]; then
        echo "gpu.sh: JAX SEES NO GPU from any of: ${CANDIDATES[*]} (is jax[cuda12] installed?)."
        echo "        Nothing timed. Rerun with --cpu-ok (or GPU_SH_DRYRUN=1) for a CPU dry run."
        echo "JAX sees no GPU: stopped before tests and benchmarks" >>"$OUT/machine.txt"
        write_summary
        exit 3
    fi
    echo "gpu.sh: --cpu-ok: no GPU, a CPU dry run with $PY"
    export JAX_PLATFORMS=cpu
    echo "CPU DRY RUN (--cpu-ok): no GPU; figures below are CPU figures" >>"$OUT/machine.txt"
else
    # tests/conftest.py sets JAX_PLATFORMS=cpu when it is unset: name the GPU explicitly (CPU kept as well).
    export JAX_PLATFORMS=cuda,cpu
fi
export TAPEGRAD_EXAMPLES=${TAPEGRAD_EXAMPLES:-10}
echo "python: $PY; JAX_PLATFORMS=$JAX_PLATFORMS XLA_PYTHON_CLIENT_PREALLOCATE=$XLA_PYTHON_CLIENT_PREALLOCATE" \
    "TAPEGRAD_EXAMPLES=$TAPEGRAD_EXAMPLES" | tee -a "$OUT/machine.txt"
write_summary

# Missing test packages: by name, with pyproject's dev specs, as a last resort.
if [ -n "$MISSING" ]; then
    echo "gpu.sh: MISSING in $PY: $MISSING"
    specs=()
    for m in $MISSING; do
        case $m in
            pytest) specs+=("pytest>=7") ;;
            xdist) specs+=("pytest-xdist>=3") ;;
            hypothesis) specs+=("hypothesis>=6.80") ;;
            numpy) specs+=("numpy>=1.24") ;;
        esac
    done
    if [ "${GPU_SH_NO_INSTALL:-0}" = 1 ]; then
        echo "gpu.sh: GPU_SH_NO_INSTALL=1: not installing ${specs[*]}"
    else
        run_step install "$(limit 90 300)" "$PY" -m pip install --disable-pip-version-check --retries 1 \
            --timeout 15 "${specs[@]}"
    fi
fi

# ---- 2. tests on the GPU --------------------------------------------------------------------------------
# Timeouts: limit MAX RESERVE gives a step MAX seconds, or less so that RESERVE seconds stay for the steps after
# it (their shares when the budget is tight: bench_core 70, bench_training 55, memory 50, summary 10). Steps that
# finish early leave the later ones more time, up to their MAX.
if [ "$PLATFORM" = gpu ]; then
    TESTS=${GPU_SH_TESTS:-tests}
else
    TESTS=${GPU_SH_TESTS:-${GPU_SH_CPU_TESTS:-tests/test_core.py}}
fi
read -r -a TEST_ARGS <<<"$TESTS"
CORES=$(nproc 2>/dev/null || echo 2)
WORKERS=${GPU_SH_WORKERS:-$((CORES < 8 ? CORES : 8))}
XDIST=()
if "$PY" -c "import xdist" >/dev/null 2>&1 && [ "$WORKERS" -gt 1 ]; then
    XDIST=(-n "$WORKERS")
fi
# float32 matmuls and convolutions at full precision in the tests (XLA:GPU may use TF32 by default, about 3
# digits, and the tests compare float32 against PyTorch/NumPy at rtol 1e-5); the benchmarks keep JAX's default.
# GPU_SH_TEST_PRECISION= (empty) leaves the tests at the default too.
TEST_ENV=(env)
if [ -n "${GPU_SH_TEST_PRECISION-highest}" ]; then
    TEST_ENV+=("JAX_DEFAULT_MATMUL_PRECISION=${GPU_SH_TEST_PRECISION-highest}")
fi
if "$PY" -c "import pytest" >/dev/null 2>&1; then
    # --maxfail, not -x: one GPU failure should not hide the others; collection errors do not stop the run.
    echo "tests: ${TEST_ENV[*]:1} TAPEGRAD_EXAMPLES=$TAPEGRAD_EXAMPLES" >>"$OUT/machine.txt"
    run_step tests "$(limit 240 185)" "${TEST_ENV[@]}" "$PY" -m pytest "${TEST_ARGS[@]}" -p no:cacheprovider \
        -o addopts= -v -rfE --durations=15 --maxfail=30 --continue-on-collection-errors ${XDIST[@]+"${XDIST[@]}"} \
        --junitxml="$OUT/tests-junit.xml"
else
    echo "gpu.sh: pytest is not importable by $PY: tests skipped"
    note_step tests "skipped: no pytest" - 0 -
fi

# ---- 3. benchmarks ------------------------------------------------------------------------------------
run_step bench_core "$(limit 120 115)" "$PY" benchmarks/bench_core.py --quick --out "$OUT"
run_step bench_training "$(limit 90 60)" "$PY" benchmarks/bench_training.py --quick --cnn-batch 256 --out "$OUT"
run_step memory "$(limit 90 10)" "$PY" benchmarks/memory.py --quick --out "$OUT"

# ---- 4. summary ---------------------------------------------------------------------------------------
write_summary
echo
echo "gpu.sh: done in ${SECONDS}s; $OUT/summary.md:"
echo
cat "$OUT/summary.md"
