# The README's two commands: `make run` (serve the seeds on http://127.0.0.1:8000) and
# `make test`. Both set up .venv first and are quiet when nothing changed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
INDEX  ?= index
# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build; 2.13.0 is the CPU one.
TORCH  := torch==2.13.0

.PHONY: setup run test reliability bench browser-deps clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	@$(BIN)/pip install -q --disable-pip-version-check $(TORCH)
	@$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

$(INDEX)/CURRENT: | $(STAMP)
	@$(BIN)/qa --index $(INDEX) build seeds/

run: setup $(INDEX)/CURRENT
	@$(BIN)/qa --index $(INDEX) serve --host 127.0.0.1 --port 8000

# Debian's chromium + chromedriver for the browser test; installed only when missing and we
# are root (CI, the dev machines). Elsewhere the browser test skips with its reason.
browser-deps:
	@if [ ! -x /usr/bin/chromedriver ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

# Under CI (the environment sets CI; .ci/run does) the suite may not lean on what an earlier run
# left: it gets a fresh, empty QA_CACHE_DIR, so the model conversion, the ONNX export and every
# index are made inside the run, and it refuses to start while $(INDEX)/ holds a generation.
test: setup browser-deps
ifdef CI
	@test ! -e $(INDEX)/CURRENT || \
		{ echo "CI: $(INDEX)/CURRENT exists; run from a fresh clone (or make clean)" >&2; exit 1; }
	@cache=$$(mktemp -d) && trap 'rm -rf "$$cache"' EXIT && \
		QA_CACHE_DIR="$$cache" $(BIN)/pytest -q
else
	@$(BIN)/pytest -q
endif

# The slow fault, load and fuzzing tests (RELIABILITY.md); -s shows their figures.
reliability: setup
	@$(BIN)/pytest -q -s -m slow

# Every figure in BENCHMARKS.md (minutes; the machine should be otherwise idle). txtai, for the
# side-by-side comparison, comes from the bench extra; its smoke test, which `make test` skips
# for want of txtai, must run here. BENCH_ARGS=--quick for reduced sizes.
bench: setup $(INDEX)/CURRENT
	@$(BIN)/python -c 'import txtai' 2>/dev/null || \
		$(BIN)/pip install -q --disable-pip-version-check -e '.[test,bench]'
	@QA_TEST_REQUIRE_TXTAI=1 $(BIN)/pytest -q tests/benchmarks/test_smoke.py -k txtai
	@$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(INDEX)/gen-* $(INDEX)/CURRENT $(INDEX)/LOCK
