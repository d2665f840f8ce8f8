# Development tasks for DeadlineSpotIamSetup.
#
#   make venv      main virtualenv (.venv): the package in editable mode + the test and demo extras
#   make venv310   Python 3.10 virtualenv (.venv310) with only boto3 + pytest (+ pytest-timeout, hypothesis), the way
#                  Deadline embeds Python 3.10 with boto3
#   make lint      ruff
#   make test      lint; the main suite (tests/cli: command line, demo, wheel, test tools) in .venv; then
#                  tests/unit, tests/wire and tests/plugin (what runs inside Deadline) in .venv310
#   make demo      run the demo against a local AWS stand-in (moto, the demo extra)
#   make bench     run the benchmarks
#   make clean     remove virtualenvs and caches

PYTHON ?= python3
VENV := .venv
VENV310 := .venv310
VENV_STAMP := $(VENV)/.installed.stamp
VENV310_STAMP := $(VENV310)/.installed.stamp

# Python 3.10 interpreter: newest pyenv 3.10.x, else python3.10 on PATH.
# Override with `make PY310=/path/to/python3.10 ...` or the PY310 environment variable.
ifeq ($(strip $(PY310)),)
PY310 := $(shell ls -d "$$(pyenv root 2>/dev/null)"/versions/3.10*/bin/python3.10 2>/dev/null | sort -V | tail -1)
endif
ifeq ($(strip $(PY310)),)
PY310 := $(shell command -v python3.10 2>/dev/null)
endif

.PHONY: venv venv310 lint test demo bench clean

venv: $(VENV_STAMP)

$(VENV_STAMP): pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	@# The distribution was called DeadlineSpotIamSetup before: an old editable install of it would shadow this one.
	@$(VENV)/bin/python -m pip uninstall --quiet --yes DeadlineSpotIamSetup >/dev/null 2>&1 || true
	$(VENV)/bin/python -m pip install --quiet -e '.[test,demo]'
	@touch $@

venv310: $(VENV310_STAMP)

$(VENV310_STAMP): pyproject.toml
	@if [ -z "$(PY310)" ] || [ ! -x "$(PY310)" ]; then \
		echo "error: no Python 3.10 interpreter found (looked for pyenv versions 3.10.x and python3.10 on PATH)." >&2; \
		echo "       Install one (e.g. 'pyenv install 3.10') or run 'make PY310=/path/to/python3.10 venv310'." >&2; \
		exit 1; \
	fi
	@"$(PY310)" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' || { \
		echo "error: $(PY310) is not a Python 3.10 interpreter." >&2; exit 1; }
	@if [ -x $(VENV310)/bin/python ] && \
		! $(VENV310)/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))'; then \
		echo "$(VENV310) is not a Python 3.10 environment; recreating it"; rm -rf $(VENV310); \
	fi
	@test -x $(VENV310)/bin/python || "$(PY310)" -m venv $(VENV310)
	$(VENV310)/bin/python -m pip install --quiet --upgrade pip
	$(VENV310)/bin/python -m pip install --quiet 'boto3>=1.26' pytest pytest-timeout hypothesis
	@touch $@

lint: venv
	$(VENV)/bin/ruff check .

# pytest exits 5 when it collected no test: that fails the target, saying so.
test: venv venv310
	@$(MAKE) --no-print-directory lint
	@echo "Main suite (pyproject testpaths) in $(VENV):"
	@$(VENV)/bin/python -m pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "error: the main suite collected no test (pyproject.toml testpaths)" >&2; fi; \
	exit $$status
	$(VENV)/bin/python tests/run_py310.py

demo: venv
	$(VENV)/bin/python -m DeadlineSpotIamSetup demo

bench: venv
	$(VENV)/bin/python benchmarks/bench_check.py
	$(VENV)/bin/python benchmarks/bench_accounts.py

clean:
	rm -rf $(VENV) $(VENV310) build dist *.egg-info .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -not -path './.git/*' -prune -exec rm -rf {} +
