# Two commands on a fresh machine: `make demo` and `make test`. Both build .venv first;
# `make demo` installs only the runtime dependencies, `make test` adds the test and dev tools.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
RUNTIME := $(VENV)/.runtime
DEV := $(VENV)/.installed
SYSTEM_TOOLS := /usr/bin/chromium /usr/bin/zsh /usr/bin/fish

.PHONY: demo test test-slow lint docs bench clean venv system

venv: $(DEV)

# The runtime dependencies through uv (from PyPI, installed into the venv first): a third of
# pip's CPU time, downloads in parallel. Where uv cannot reach an index (an offline machine with
# pip's own find-links), pip installs them instead. Neither byte-compiles every installed module
# (a third of pip's CPU time): Python compiles what the demo imports on first use.
$(RUNTIME): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) uv && $(VENV)/bin/uv pip install --quiet --native-tls --python $(PY) -e . \
		|| $(PIP) --no-compile -e .
	touch $(RUNTIME)

$(DEV): $(RUNTIME)
	$(PIP) -e '.[dev]'
	$(PY) -m compileall -q ckptgit
	touch $(DEV)

# Debian's chromium (the report's browser tests) and zsh/fish (completion scripts parsed):
# installed as root when missing, as on CI's clean machine; elsewhere say how.
system:
	@missing=""; for f in $(SYSTEM_TOOLS); do [ -x $$f ] || missing="$$missing $$(basename $$f)"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing$$missing (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
		echo "missing$$missing: run 'sudo apt-get install$$missing' for the browser and completion tests"; \
	fi

# PYTHONDONTWRITEBYTECODE (set in many container images) would make each of the demo's ~60
# processes compile every module it imports again, as the install compiles none: the demo
# writes bytecode into its own .venv.
demo: $(RUNTIME)
	PYTHONDONTWRITEBYTECODE= PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash docs/demo/demo.sh

docs: $(DEV)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet -d $(CURDIR)/build/site

test: $(DEV) system docs
	$(VENV)/bin/ruff check ckptgit tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest -q -p no:cacheprovider -m "not slow" tests

# Kill and other long tests (docs/reliability.md): about 20-30 minutes on 2 cores.
test-slow: $(DEV)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest -q -p no:cacheprovider -m slow --timeout 2400 tests

lint: $(DEV)
	$(VENV)/bin/ruff check ckptgit tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

bench: $(DEV)
	$(PIP) -e '.[dev,bench]'
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info
