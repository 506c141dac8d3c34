"""Pipelines (TOML), their dependency order, result keys and planning."""

from cintel.pipeline.planner import Plan, Task, plan
from cintel.pipeline.result_keys import config_hash, result_key
from cintel.pipeline.spec import Pipeline, Step, builtin_names, load_pipeline, parse_pipeline

__all__ = [
    "Pipeline",
    "Plan",
    "Step",
    "Task",
    "builtin_names",
    "config_hash",
    "load_pipeline",
    "parse_pipeline",
    "plan",
    "result_key",
]
