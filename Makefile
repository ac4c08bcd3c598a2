# speke-keyprovider: one entry per habit. `make run` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.13 (the Lambda runtime). pyenv's 3.13 when present, else python3.13 / python3 on PATH.
PYTHON_BOOT ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) $(shell command -v python3.13 2>/dev/null) $(shell command -v python3))
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 3000
DEMO_PORT ?= 8080
FUZZ_SECONDS ?= 900
LOAD_SECONDS ?= 60
LOAD_CLIENTS ?= 16

.PHONY: help venv run demo browser-deps test test-unit test-browser lint bench fuzz load security check-infra lock-layer clean

help:
	@echo "make run     - start the key provider on http://127.0.0.1:$(PORT)/copyProtection (file key home, SigV4)"
	@echo "make demo    - the provider, a clip packaged with its keys, and player pages to open (http://127.0.0.1:$(DEMO_PORT))"
	@echo "make test    - install everything needed, run the whole test suite (the browser tier when its tools are there), print the coverage figure"
	@echo "make browser-deps - install the browser tier's tools: Debian chromium + ffmpeg, pinned npm players"
	@echo "make test-browser - the browser tier alone"
	@echo "make lint    - ruff + mypy"
	@echo "make bench   - in-process benchmark and cold-start figures"
	@echo "make fuzz    - coverage-guided fuzzing (atheris) of the parser and handler, FUZZ_SECONDS=$(FUZZ_SECONDS)"
	@echo "make load    - load test against a local server: LOAD_CLIENTS=$(LOAD_CLIENTS) for LOAD_SECONDS=$(LOAD_SECONDS)"
	@echo "make security - ruff, mypy, bandit, pip-audit, detect-secrets"
	@echo "make check-infra - sam validate --lint, cfn-lint, checkov, sam build, artifact tests"
	@echo "make lock-layer - re-resolve requirements/runtime.txt into requirements/layer.lock (hashes, arm64)"

$(STAMP): requirements/runtime.txt requirements/dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/runtime.txt -r requirements/dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(PY) -m speke_keyprovider_tools.local_server --port $(PORT)

# The browser tier runs when its tools are there (or CI requires it: SPEKE_BROWSER_REQUIRED=1); else one line says how.
test: $(STAMP)
	@if [ -n "$$SPEKE_BROWSER_REQUIRED" ] || $(PY) -m speke_keyprovider_tools.playback.toolchain >/dev/null; then \
		$(PY) -m pytest --cov --cov-report=; \
	else \
		$(PY) -m speke_keyprovider_tools.playback.toolchain | sed 's/^/skipped: /'; \
		$(PY) -m pytest --cov --cov-report= --ignore=tests/browser; \
	fi
	@echo "coverage: $$($(PY) -m coverage report --format=total)% of lines and branches (server package, handler, tools)"

test-browser: $(STAMP)
	$(PY) -m pytest tests/browser

browser-deps:
	bash scripts/browser_deps.sh

demo: $(STAMP)
	@$(PY) -m speke_keyprovider_tools.playback.toolchain >/dev/null || { $(PY) -m speke_keyprovider_tools.playback.toolchain; exit 1; }
	$(PY) -m speke_keyprovider_tools.playback.demo --port $(DEMO_PORT)

test-unit: $(STAMP)
	$(PY) -m pytest -m unit

bench: $(STAMP)
	$(PY) bench/run.py

lint:
	bash scripts/security_checks.sh ruff mypy

security:
	bash scripts/security_checks.sh

fuzz: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -r fuzz/requirements.txt
	$(PY) fuzz/fuzz_handler.py --seconds $(FUZZ_SECONDS)

load: $(STAMP)
	$(PY) scripts/load_test.py --duration $(LOAD_SECONDS) --clients $(LOAD_CLIENTS)

check-infra:
	bash scripts/check_infra.sh

lock-layer: $(STAMP)
	$(PY) scripts/lock_layer.py

clean:
	rm -rf $(VENV) .pytest_cache .local-state build .aws-sam
