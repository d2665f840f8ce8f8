"""Tools the test suites and the benchmarks share; not part of the product (never installed, never shipped).

Imported as ``tests.support``: pytest puts the repository root on ``sys.path`` (``pythonpath`` in
pyproject.toml), ``tests/run_py310.py`` sets ``PYTHONPATH`` to it, ``benchmarks/harness.py`` inserts it.
"""
