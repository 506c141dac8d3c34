"""Pipelines in TOML, the dependency order, result keys and planning."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from cintel.analyzers.base import AnalysisInput, Analyzer, registry
from cintel.errors import PipelineError, UnknownNameError
from cintel.model import Content, ContentKind
from cintel.pipeline import builtin_names, load_pipeline, parse_pipeline, plan, result_key
from cintel.pipeline.result_keys import config_hash
from tests.helpers.runs import registered_test_analyzers


class _Out(BaseModel):
    ok: bool = True


class _CycleA(Analyzer):
    name = "cycle.a"
    version = "1"
    kinds = frozenset({ContentKind.TEXT})
    needs = ("cycle.b",)
    Output = _Out

    def analyze(self, item: AnalysisInput) -> _Out:
        return _Out()


class _CycleB(_CycleA):
    name = "cycle.b"
    needs = ("cycle.a",)


def content(kind: ContentKind = ContentKind.TEXT, n: int = 0) -> Content:
    return Content(id=f"{n:064x}", kind=kind, mime="text/plain", size=1, location=f"/x/{n}")


def test_every_builtin_pipeline_loads() -> None:
    names = builtin_names()
    assert {"audio", "podcast", "audiobook", "music", "video", "image", "text", "auto"} <= set(
        names
    )
    for name in names:
        assert load_pipeline(name).name == name


def test_auto_dispatches_by_kind() -> None:
    auto = load_pipeline("auto")
    text = [s.name for s in auto.steps_for(ContentKind.TEXT)]
    assert text[0] == "text.extract" and {"text.summary", "text.pii"} <= set(text)
    assert not any(name.startswith(("audio.", "speech.")) for name in text)
    image_steps = [s.name for s in auto.steps_for(ContentKind.IMAGE)]
    assert image_steps[0] == "image.probe" and {"image.hash", "image.ocr"} <= set(image_steps)
    audio = [s.name for s in auto.steps_for(ContentKind.AUDIO)]
    assert audio == [s.name for s in load_pipeline("podcast").steps]
    assert {"media.probe", "audio.loudness", "speech.transcript"} <= set(audio)


def test_unknown_pipeline_lists_known() -> None:
    with pytest.raises(UnknownNameError, match="known pipelines: audio, audiobook, auto"):
        load_pipeline("nope")


def test_unknown_analyzer_lists_known() -> None:
    with pytest.raises(PipelineError, match=r"unknown analyzer 'text\.nope'.*text\.stats"):
        parse_pipeline('[analyzers."text.nope"]\n')


def test_cycle_is_named() -> None:
    registry.register(_CycleA)
    registry.register(_CycleB)
    try:
        with pytest.raises(PipelineError, match=r"cycle: cycle\.(a|b) -> cycle\.(a|b) -> cycle"):
            parse_pipeline('[analyzers."cycle.a"]\n')
    finally:
        registry.unregister("cycle.a")
        registry.unregister("cycle.b")


def test_bad_toml_and_bad_config_are_clear(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="invalid TOML"):
        parse_pipeline("[analyzers\n")
    with pytest.raises(Exception, match=r"invalid config for analyzer 'image\.hash'"):
        parse_pipeline('[analyzers."image.hash"]\nhash_size = 1000\n')
    with pytest.raises(PipelineError, match="does not exist"):
        load_pipeline(str(tmp_path / "missing.toml"))


def test_user_pipeline_file_and_needs_added(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('name = "mine"\n[analyzers."test.density"]\n', encoding="utf-8")
    with registered_test_analyzers():
        pipe = load_pipeline(str(path))
    assert [s.name for s in pipe.steps] == ["text.stats", "test.density"]


def test_result_key_changes_with_each_part() -> None:
    base = dict(
        content_id="a" * 64, analyzer="x.y", version="1", config_digest="c", upstream={"u": "k"}
    )
    key = result_key(**base)
    assert key == result_key(**base)
    for change in (
        {"content_id": "b" * 64},
        {"version": "2"},
        {"config_digest": "d"},
        {"upstream": {"u": "other"}},
    ):
        assert result_key(**{**base, **change}) != key
    assert result_key(**base, model_checksums=["m"]) != key


def test_config_hash_ignores_key_order() -> None:
    class Cfg(BaseModel):
        a: int = 1
        b: str = "x"

    assert config_hash(Cfg(a=1, b="x")) == config_hash(Cfg(b="x", a=1))
    assert config_hash(Cfg(a=2)) != config_hash(Cfg())


def test_plan_keys_chain_through_upstream() -> None:
    with registered_test_analyzers():
        pipe = parse_pipeline('[analyzers."test.density"]\n')
    the_plan = plan([content(n=1), content(ContentKind.IMAGE, n=2)], pipe)
    assert [t.analyzer for t in the_plan.tasks] == ["text.stats", "test.density"]
    stats, density = the_plan.tasks
    assert density.upstream_keys == {"text.stats": stats.key}
    assert [c.id for c in the_plan.unmatched] == [content(n=2).id]
    assert the_plan.counts() == {
        "text.stats": {"total": 1, "cached": 0, "todo": 1},
        "test.density": {"total": 1, "cached": 0, "todo": 1},
    }


def test_force_of_unknown_analyzer_is_an_error() -> None:
    with pytest.raises(UnknownNameError, match=r"text\.extract"):
        plan([content()], load_pipeline("text"), force=["image.hash"])
