"""Evaluation: score an analyzer's signals against a reference set, compare two runs,
and gate a release on the comparison."""
