"""The benchmarks' support modules (``bench_load``, ``bench_backlogs``, ``bench_stack``) import
by name, as ``tests/e2e``'s ``e2e_support`` does through the pytest ``pythonpath`` setting."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH_DIR = str(Path(__file__).resolve().parent)
if BENCH_DIR not in sys.path:
    sys.path.insert(0, BENCH_DIR)
