# Development tasks for DeadlineSpotIamSetup.
#
#   make venv      main virtualenv (.venv): the package in editable mode + the test and demo extras
#   make venv310   Python 3.10 virtualenv (.venv310) with only boto3 + pytest (+ pytest-timeout, pytest-xdist,
#                  hypothesis), the way Deadline 10.3+ embeds Python 3.10 with boto3
#   make venv37    Python 3.7 virtualenv (.venv37): the oldest supported boto3/botocore + pytest, pytest-timeout,
#                  pytest-xdist, hypothesis, the way Deadline 10.1.12 to 10.2 embed Python 3.7 (README.md, "Supported
#                  Deadline versions")
#   make lint      ruff, and mypy (strict for DeadlineSpotIamSetup/: pyproject.toml's [tool.mypy])
#   make test      ruff; then, side by side (tests/run_all.py), mypy, the main suite (tests/cli: command line, demo,
#                  wheel, test tools) in .venv, tests/unit, tests/wire and tests/plugin (what runs inside Deadline) in
#                  .venv310, and tests/plugin again in .venv37; then the wall time
#   make demo      run the demo against a local AWS stand-in, in its own virtualenv (.venv-demo) holding the
#                  package and the demo extra (moto) only, not the test toolchain; DEMO_ARGS=--keep leaves the
#                  stand-in running afterwards for another shell
#   make bench     run the benchmarks
#   make clean     remove virtualenvs and caches

PYTHON ?= python3
VENV := .venv
VENV310 := .venv310
VENV_STAMP := $(VENV)/.installed.stamp
VENV310_STAMP := $(VENV310)/.installed.stamp
VENV37 := .venv37
VENV37_STAMP := $(VENV37)/.installed.stamp
DEMO_VENV := .venv-demo
DEMO_STAMP := $(DEMO_VENV)/.installed.stamp
DEMO_ARGS ?=
# The oldest boto3 and botocore the engine supports (README.md, "Supported Deadline versions").
OLDEST_BOTO := boto3==1.20.0 botocore==1.23.0

# Python 3.10 interpreter: newest pyenv 3.10.x, else python3.10 on PATH.
# Override with `make PY310=/path/to/python3.10 ...` or the PY310 environment variable.
ifeq ($(strip $(PY310)),)
PY310 := $(shell ls -d "$$(pyenv root 2>/dev/null)"/versions/3.10*/bin/python3.10 2>/dev/null | sort -V | tail -1)
endif
ifeq ($(strip $(PY310)),)
PY310 := $(shell command -v python3.10 2>/dev/null)
endif
# Python 3.7 interpreter, found the same way (PY37 overrides).
ifeq ($(strip $(PY37)),)
PY37 := $(shell ls -d "$$(pyenv root 2>/dev/null)"/versions/3.7*/bin/python3.7 2>/dev/null | sort -V | tail -1)
endif
ifeq ($(strip $(PY37)),)
PY37 := $(shell command -v python3.7 2>/dev/null)
endif

.PHONY: venv venv310 venv37 lint test demo bench clean

venv: $(VENV_STAMP)

$(VENV_STAMP): pyproject.toml Makefile
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	@# The distribution was called DeadlineSpotIamSetup before: an old editable install of it would shadow this one.
	@$(VENV)/bin/python -m pip uninstall --quiet --yes DeadlineSpotIamSetup >/dev/null 2>&1 || true
	$(VENV)/bin/python -m pip install --quiet -e '.[test,demo]'
	@touch $@

venv310: $(VENV310_STAMP)

$(VENV310_STAMP): pyproject.toml Makefile
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
	$(VENV310)/bin/python -m pip install --quiet 'boto3>=1.26' pytest pytest-timeout pytest-xdist 'hypothesis>=6'
	@touch $@

venv37: $(VENV37_STAMP)

$(VENV37_STAMP): pyproject.toml Makefile
	@if [ -z "$(PY37)" ] || [ ! -x "$(PY37)" ]; then \
		echo "error: no Python 3.7 interpreter found (looked for pyenv versions 3.7.x and python3.7 on PATH)." >&2; \
		echo "       Install one (e.g. 'pyenv install 3.7') or run 'make PY37=/path/to/python3.7 venv37'." >&2; \
		exit 1; \
	fi
	@"$(PY37)" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 7))' || { \
		echo "error: $(PY37) is not a Python 3.7 interpreter." >&2; exit 1; }
	@if [ -x $(VENV37)/bin/python ] && \
		! $(VENV37)/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 7))'; then \
		echo "$(VENV37) is not a Python 3.7 environment; recreating it"; rm -rf $(VENV37); \
	fi
	@test -x $(VENV37)/bin/python || "$(PY37)" -m venv $(VENV37)
	$(VENV37)/bin/python -m pip install --quiet --upgrade pip
	@# pytest 7.x, pytest-timeout 2.3 and pytest-xdist 3.5 are the last releases that run on Python 3.7.
	$(VENV37)/bin/python -m pip install --quiet $(OLDEST_BOTO) 'pytest>=7,<8' 'pytest-timeout>=2.1,<2.4' \
		'pytest-xdist>=3,<3.6' 'hypothesis>=6'
	@touch $@

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# ruff first (seconds); then mypy and the suites side by side (tests/run_all.py), which prints each one's output whole,
# then the wall time of the whole target; mypy failing, or a suite that fails or collects no test (pytest's exit code
# 5), fails the target.
test: venv venv310 venv37
	@DSIS_TEST_STARTED=$$(date +%s); export DSIS_TEST_STARTED; \
	$(VENV)/bin/ruff check . && $(VENV)/bin/python tests/run_all.py

demo: $(DEMO_STAMP)
	$(DEMO_VENV)/bin/python -m DeadlineSpotIamSetup demo $(DEMO_ARGS)

# Installed as a wheel would be (not editable): a change to what the wheel holds installs it again.
$(DEMO_STAMP): pyproject.toml $(wildcard DeadlineSpotIamSetup/*.py DeadlineSpotIamSetup/*/*.py plugin.py plugin.param lib/*/*.py)
	@test -x $(DEMO_VENV)/bin/python || $(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(DEMO_VENV)/bin/python -m pip install --quiet '.[demo]'
	@touch $@

bench: venv
	$(VENV)/bin/python benchmarks/bench_check.py
	$(VENV)/bin/python benchmarks/bench_accounts.py
	$(VENV)/bin/python benchmarks/bench_test_server.py

clean:
	rm -rf $(VENV) $(VENV310) $(VENV37) $(DEMO_VENV) build dist *.egg-info .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -not -path './.git/*' -prune -exec rm -rf {} +
