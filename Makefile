# The README's two commands: `make run` (serve the seeds on http://127.0.0.1:8000) and
# `make test`. Both set up $(VENV) first, from the lock files, and are quiet when nothing changed.
# The Dockerfile runs these same targets (tests/test_packaging.py checks that it does).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
INDEX  ?= index
# Exact versions with hashes (requirements/*.lock, refreshed by `make lock`): run.lock for the
# service with the torch (model conversion), milvus and ocr extras, test.lock for the suite (the same
# versions plus the test tools).
RUN_LOCK  := requirements/run.lock
TEST_LOCK := requirements/test.lock
# torch is locked to its CPU build (2.13.0+cpu; PyPI's torch is the multi-GB CUDA one). It comes
# from a local wheel folder where the machine has one, else from PyTorch's CPU index.
WHEELS ?= /opt/wheels
TORCH_FROM := $(if $(wildcard $(WHEELS)/torch-*+cpu-*.whl),--find-links $(WHEELS),--extra-index-url https://download.pytorch.org/whl/cpu)
PIP := $(BIN)/pip install -q --disable-pip-version-check
# Debian packages: the browser test's Chromium and its driver; the serving front (nginx, with
# deploy/nginx.conf) that the image runs in front of `qa serve` and the reliability tests start
# the same way (RELIABILITY.md, "Slow clients"). The Dockerfile installs it with `make serve-deps`.
APT_TEST := chromium chromium-driver
APT_SERVE := nginx
PIP_TOOLS := pip-tools==7.7.0

.PHONY: deps setup setup-test index run run-check test reliability bench studies browser-deps serve-deps \
	reader-model lock clean

# The service: the locked dependencies (deps), then the project itself, resolving nothing.
deps: $(VENV)/.deps-run
setup: $(VENV)/.run
setup-test: $(VENV)/.test

# --no-deps: a lock holds every dependency already, and leaves out opencv-python on purpose
# (requirements/strip.py).
$(VENV)/.deps-%: requirements/%.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(PIP) $(TORCH_FROM) --require-hashes --no-deps -r $<
	@touch $@

$(VENV)/.run: $(VENV)/.deps-run pyproject.toml
	@$(PIP) --no-deps --no-build-isolation -e .
	@touch $@

# test.lock holds run.lock's versions and the test tools.
$(VENV)/.test: $(VENV)/.deps-test pyproject.toml
	@$(PIP) --no-deps --no-build-isolation -e .
	@touch $@ $(VENV)/.deps-run $(VENV)/.run

# The seed index (converting the embedding model on first use); kept once built.
index: $(INDEX)/CURRENT
$(INDEX)/CURRENT: | $(VENV)/.run
	@$(BIN)/qa --index $(INDEX) build seeds/

run: setup index
	@$(BIN)/qa --index $(INDEX) serve --host 127.0.0.1 --port 8000

# What `make run` serves, asked the README's question over HTTP once, then stopped (.ci/run_check.py).
run-check: setup index
	@$(BIN)/python .ci/run_check.py --index $(INDEX)

# Debian's chromium + chromedriver for the browser test; installed only when missing and we
# are root (CI, the dev machines, the clean room). Elsewhere the browser test skips with its
# reason.
browser-deps:
	@if [ ! -x /usr/bin/chromedriver ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_TEST) >/dev/null; \
	fi

# Debian's nginx, the serving front; installed only when missing and we are root (the image's
# build, CI, the dev machines). Elsewhere the tests that need it skip with their reason.
serve-deps:
	@if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ] && [ "$$(id -u)" = 0 ] && \
			command -v apt-get >/dev/null; then \
		apt-get update -qq >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_SERVE) >/dev/null; \
	fi

# Under CI (the environment sets CI; .ci/run does) the suite may not lean on what an earlier run
# left: it gets a fresh, empty QA_CACHE_DIR, so the model conversion, the ONNX export and every
# index are made inside the run, and it refuses to start while $(INDEX)/ holds a generation.
test: setup-test browser-deps serve-deps
ifdef CI
	@test ! -e $(INDEX)/CURRENT || \
		{ echo "CI: $(INDEX)/CURRENT exists; run from a fresh clone (or make clean)" >&2; exit 1; }
	@cache=$$(mktemp -d) && trap 'rm -rf "$$cache"' EXIT && \
		QA_CACHE_DIR="$$cache" $(BIN)/pytest -q
else
	@$(BIN)/pytest -q
endif

# The slow fault, load and fuzzing tests (RELIABILITY.md); -s shows their figures.
reliability: setup-test serve-deps
	@$(BIN)/pytest -q -s -m slow

# Every figure in BENCHMARKS.md (minutes; the machine should be otherwise idle). txtai, for the
# side-by-side comparison, is not locked: it comes from the bench extra; its smoke test, which
# `make test` skips for want of txtai, must run here. BENCH_ARGS=--quick for reduced sizes.
bench: setup-test index
	@$(BIN)/python -c 'import txtai' 2>/dev/null || \
		$(BIN)/pip install -q --disable-pip-version-check -e '.[test,bench]'
	@QA_TEST_REQUIRE_TXTAI=1 $(BIN)/pytest -q tests/benchmarks/test_smoke.py -k txtai
	@$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

# The tuning studies that set the shipped constants (studies/README.md; tens of minutes, cached
# candidates in $QA_CACHE_DIR/studies). BENCH_ARGS=--quick for reduced sizes.
studies: setup-test index
	@$(BIN)/python benchmarks/run_all.py --studies $(BENCH_ARGS)

# The reader model (qa/reader/model, training/README.md): its data extracted at pinned commits
# from bare clones of github.com/ymcui/cmrc2018 and github.com/DRCKnowledgeTeam/DRCD (cloned
# into $(READER_DATA)/git unless CMRC_GIT / DRCD_GIT name them), then trained (~1.3 h here).
READER_DATA ?= data/reader
CMRC_GIT ?= $(READER_DATA)/git/cmrc2018.git
DRCD_GIT ?= $(READER_DATA)/git/DRCD.git
reader-model: setup-test
	@test -d $(CMRC_GIT) || git clone -q --bare https://github.com/ymcui/cmrc2018 $(CMRC_GIT)
	@test -d $(DRCD_GIT) || git clone -q --bare https://github.com/DRCKnowledgeTeam/DRCD $(DRCD_GIT)
	@training/fetch_data.sh $(CMRC_GIT) $(DRCD_GIT) $(READER_DATA)
	@$(BIN)/python -m qa.reader.train --data $(READER_DATA) 2>&1 | tee $(READER_DATA)/train.log

# Refresh the lock files from pyproject.toml's ranges (needs PyPI and the CPU torch wheel, from
# $(WHEELS) or PyTorch's index): the newest versions that satisfy them, with their hashes.
LOCK_ARGS := --generate-hashes --allow-unsafe --strip-extras --all-build-deps \
	--no-emit-index-url --no-emit-find-links --upgrade $(TORCH_FROM)
lock: | $(VENV)/.run
	@$(PIP) $(PIP_TOOLS)
	@$(BIN)/pip-compile -q $(LOCK_ARGS) -c requirements/pins.txt --extra torch --extra milvus \
		--extra ocr --extra test -o $(TEST_LOCK) pyproject.toml
	@$(BIN)/pip-compile -q $(LOCK_ARGS) -c $(TEST_LOCK) --extra torch --extra milvus \
		--extra ocr -o $(RUN_LOCK) pyproject.toml
	@$(BIN)/python requirements/strip.py $(TEST_LOCK) $(RUN_LOCK)
	@echo "$(RUN_LOCK), $(TEST_LOCK): refreshed; commit them with what changed"

clean:
	rm -rf $(VENV) $(INDEX)/gen-* $(INDEX)/CURRENT $(INDEX)/LOCK
