"""Benchmarks of cintel's core: store writes, scheduling overhead and incremental reruns.

Run them all with ``python bench/run_all.py`` (``--quick`` for a smoke test), or one
module alone, e.g. ``python bench/scheduling.py``. Every benchmark measures a baseline
in the same run and reports ratios against it next to absolute numbers, because the
machines these run on are small and shared.
"""
