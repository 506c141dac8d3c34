"""Release gates: a TOML file of rules, each saying how much worse than the baseline a
candidate may be on one figure (or which bar it must clear), checked by
``cintel eval gate``, which exits 1 when any rule fails.

```toml
[[gate]]
metric = "der"          # a figure of the runs
absolute = 0.01         # may be at most 0.01 worse than the baseline...
relative = 0.05         # ...or 5% of the baseline, whichever allows more
min_items = 3           # fewer scored items than this fails the gate

[[gate]]
metric = "speaker_count_accuracy"
at_least = 0.5          # a bar of its own, baseline or not
```

The direction comes from the figure (DER: lower is better; F1: higher) unless
``direction`` says otherwise. A rule with neither tolerance allows no worsening.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cintel.errors import BadInputError
from cintel.evaluation import EvalRun, GateOutcome, GateRule


class GateRuleFile(GateRule):
    """A rule as written in a gate file: a baseline rule, with optional fixed bars."""

    at_most: float | None = Field(None, description="the candidate may not be above this")
    at_least: float | None = Field(None, description="the candidate may not be below this")


class GateFile(BaseModel):
    """A gate file: its rules."""

    model_config = ConfigDict(extra="forbid")

    gate: list[GateRuleFile] = Field(min_length=1)


def read_gates(path: Path) -> list[GateRuleFile]:
    """The rules of a gate file; a malformed file is a ``BadInputError`` naming it."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return GateFile.model_validate(data).gate
    except OSError as exc:
        raise BadInputError(f"{path}: cannot read the gate file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadInputError(f"{path}: not TOML ({exc})") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadInputError(
            f"{path}: {where}: {first['msg']}; a gate file holds [[gate]] tables with "
            "metric, absolute, relative, at_most, at_least, min_items"
        ) from None


def _worse(a: float, b: float, lower: bool) -> bool:
    return a > b if lower else a < b


def check_rule(rule: GateRuleFile, baseline: EvalRun | None, candidate: EvalRun) -> GateOutcome:
    """One rule's verdict on ``candidate`` (against ``baseline`` where there is one)."""
    new = candidate.figures.get(rule.metric)
    old = baseline.figures.get(rule.metric) if baseline else None

    def outcome(passed: bool, reason: str, allowed: float | None = None) -> GateOutcome:
        return GateOutcome(
            metric=rule.metric,
            baseline=old.value if old else None,
            candidate=new.value if new else None,
            allowed=allowed,
            passed=passed,
            reason=reason,
        )

    if new is None or new.value is None:
        known = ", ".join(sorted(candidate.figures))
        return outcome(False, f"the candidate has no {rule.metric} (it has {known})")
    if new.items < rule.min_items:
        return outcome(False, f"{new.items} items scored, the rule needs {rule.min_items}")
    lower = rule.direction == "lower" if rule.direction else not new.higher_is_better
    value = new.value
    if rule.at_most is not None and value > rule.at_most:
        return outcome(False, f"{value:.4g} is above the bar of {rule.at_most:.4g}", rule.at_most)
    if rule.at_least is not None and value < rule.at_least:
        return outcome(False, f"{value:.4g} is below the bar of {rule.at_least:.4g}", rule.at_least)
    if baseline is None or old is None or old.value is None:
        if rule.at_most is None and rule.at_least is None:
            return outcome(False, f"the baseline has no {rule.metric} to compare with")
        return outcome(True, f"{value:.4g} clears the bar")
    slack = max(rule.absolute or 0.0, (rule.relative or 0.0) * abs(old.value))
    allowed = old.value + slack if lower else old.value - slack
    if _worse(value, allowed, lower):
        return outcome(
            False,
            f"{value:.4g} is worse than the baseline's {old.value:.4g} by more than {slack:.4g}",
            allowed,
        )
    return outcome(True, f"{value:.4g} against the baseline's {old.value:.4g}", allowed)


def check_gates(
    rules: list[GateRuleFile], baseline: EvalRun | None, candidate: EvalRun
) -> list[GateOutcome]:
    """Every rule's verdict; the runs must be of one reference-set version."""
    if baseline is not None and baseline.reference_version != candidate.reference_version:
        raise BadInputError(
            "the baseline and the candidate were scored on different references "
            f"({baseline.reference_version} and {candidate.reference_version}); "
            "evaluate both on one reference set"
        )
    return [check_rule(rule, baseline, candidate) for rule in rules]
