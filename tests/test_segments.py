"""Segment invariants, checked with generated data; valid segments survive the store intact."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cintel.model import Segment
from cintel.store import Store, open_store
from tests.helpers.builders import make_signal

SETTINGS = settings(max_examples=25, deadline=None)

times = st.floats(min_value=0, max_value=1e7, allow_nan=False, allow_infinity=False)
short_text = st.none() | st.text(max_size=20)
json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.text(max_size=10)
)
attrs = st.dictionaries(
    st.text(max_size=8),
    st.recursive(
        json_leaf,
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=8), children, max_size=3)
        ),
        max_leaves=5,
    ),
    max_size=3,
)


@st.composite
def segments(draw: st.DrawFn) -> Segment:
    start = draw(times)
    length = draw(st.floats(min_value=0, max_value=1e5, allow_nan=False, allow_infinity=False))
    return Segment(
        start=start,
        end=start + length,
        label=draw(short_text),
        score=draw(st.none() | st.floats(allow_nan=False, allow_infinity=False, width=32)),
        text=draw(short_text),
        speaker=draw(st.none() | st.text(max_size=10)),
        attrs=draw(attrs),
    )


@SETTINGS
@given(a=times, b=times)
def test_end_before_start_is_rejected(a: float, b: float) -> None:
    assume(a != b)
    start, end = max(a, b), min(a, b)
    with pytest.raises(ValidationError, match="before it starts"):
        Segment(start=start, end=end)


@SETTINGS
@given(start=times, length=times)
def test_valid_segment_has_non_negative_duration(start: float, length: float) -> None:
    seg = Segment(start=start, end=start + length)
    assert seg.end >= seg.start
    assert seg.duration >= 0
    assert math.isclose(seg.duration, length, rel_tol=1e-9, abs_tol=1e-6)


@pytest.mark.parametrize("bad", [{"start": -1.0, "end": 1.0}, {"start": 0.0, "end": -0.5}])
def test_negative_times_are_rejected(bad: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        Segment(**bad)


def test_segments_are_frozen() -> None:
    seg = Segment(start=0.0, end=1.0)
    with pytest.raises(ValidationError):
        seg.start = 2.0  # type: ignore[misc]


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path: Path = tmp_path_factory.mktemp("segments") / "store.db"
    with open_store(f"sqlite:///{path}") as store:
        yield store


@SETTINGS
@given(generated=st.lists(segments(), max_size=8))
def test_segments_round_trip_in_order(sqlite_store: Store, generated: list[Segment]) -> None:
    sig = make_signal("a" * 64).model_copy(update={"segments": generated})
    assert sqlite_store.put_signals([sig]) == 1

    stored = sqlite_store.signals_by_keys([sig.result_key])[sig.result_key]
    assert stored.segments == generated
