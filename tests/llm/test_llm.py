"""The LLM layer against a real OpenAI-compatible server (llama.cpp with SmolLM2-135M on
loopback) and, for failure paths, against a scripted server speaking the same protocol."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from pydantic import BaseModel

from cintel.artifacts import Artifacts
from cintel.config import LLMSettings, ModelPrice
from cintel.errors import BudgetExhaustedError, ConfigError, LLMOutputError, TransientError
from cintel.llm.prompts import Prompt, load_prompt, parse_prompt
from cintel.llm.provider import ChatRequest, make_provider
from cintel.llm.session import Budget, LLMSession, estimate_tokens
from tests.helpers.llm_servers import LLAMA_ALIAS, ScriptedLLM, Step, completion
from tests.helpers.paths import DATA

ECHO = parse_prompt(
    'name = "test.echo"\nversion = "1"\nsystem = "Answer with JSON."\nuser = "{text}"\n',
    "test",
)


class Topic(BaseModel):
    topic: str
    words: list[str]


def llama_settings(url: str, **extra: object) -> LLMSettings:
    values: dict[str, object] = {
        "url": url,
        "model": LLAMA_ALIAS,
        "structured": "json_object",
        "context_tokens": 2048,
        "max_output_tokens": 200,
        **extra,
    }
    return LLMSettings.model_validate(values)


def session(settings: LLMSettings, **extra: object) -> LLMSession:
    return LLMSession(settings=settings, provider=make_provider(settings), **extra)  # type: ignore[arg-type]


def test_real_server_gives_schema_valid_json_with_usage(llama_url: str) -> None:
    provider = make_provider(llama_settings(llama_url))
    response = provider.complete(
        ChatRequest(
            messages=(("user", "Name the topic of: bees make honey in hives."),),
            schema=Topic.model_json_schema(),
            max_tokens=80,
        )
    )
    assert Topic.model_validate_json(response.text)
    assert response.tokens_in > 5 and response.tokens_out > 0


def test_session_validates_caches_and_prices(llama_url: str, tmp_path: Path) -> None:
    prices = {LLAMA_ALIAS: ModelPrice(input_per_mtok=1000.0, output_per_mtok=2000.0)}
    settings = llama_settings(llama_url, prices=prices)
    cache = Artifacts(str(tmp_path / "artifacts"))
    first = session(settings, cache=cache)
    answer = first.generate(ECHO, Topic, text="What is this about: volcanoes erupt lava.")
    assert isinstance(answer, Topic)
    call = first.calls[-1]
    assert call.status == "ok" and not call.cached and call.tokens_in > 0
    expected = (call.tokens_in * 1000.0 + call.tokens_out * 2000.0) / 1e6
    assert call.cost_usd == pytest.approx(expected)
    second = session(settings, cache=cache)
    assert second.generate(ECHO, Topic, text="What is this about: volcanoes erupt lava.") == answer
    assert [c.cached for c in second.calls] == [True] and second.cost_usd == 0


def test_map_reduce_reads_a_long_input_whole(llama_url: str) -> None:
    settings = llama_settings(llama_url, context_tokens=1536, max_output_tokens=400)
    llm = session(settings)
    subjects = json.loads((DATA / "text/subjects.json").read_text())
    text = " ".join(" ".join(v) for v in subjects.values())
    assert estimate_tokens(text) > llm.input_tokens  # too long for one request
    from cintel.analyzers.text.summary import PartNotes, SummaryAnswer, _render_notes

    answer = llm.map_reduce(
        text,
        load_prompt("summary.map"),
        PartNotes,
        _render_notes,
        load_prompt("summary.reduce"),
        SummaryAnswer,
        title="eight subjects",
    )
    assert isinstance(answer, SummaryAnswer) and answer.description
    prompts = [c.prompt for c in llm.calls if c.status == "ok"]
    assert prompts.count("summary.map") >= 2 and prompts[-1] == "summary.reduce"
    # every part of the input was sent: the map requests together hold all the text
    pieces = llm.chunks(text)
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")


def test_chunks_never_drop_text() -> None:
    settings = LLMSettings(url="openai+http://127.0.0.1:9/v1", context_tokens=600)
    llm = session(settings)
    text = ("word " * 50 + "A sentence ends here. ") * 40 + "x" * 5000
    pieces = llm.chunks(text, max_tokens=100)
    assert all(len(p) <= 100 * 3.2 for p in pieces)
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")


def scripted(server: ScriptedLLM, **extra: object) -> LLMSession:
    values: dict[str, object] = {
        "url": server.url,
        "model": "scripted",
        "backoff_s": 0.01,
        "timeout_s": 2.0,
        **extra,
    }
    return session(LLMSettings.model_validate(values))


GOOD = completion(json.dumps({"topic": "bees", "words": ["hive"]}))


def test_malformed_json_is_asked_again_then_accepted() -> None:
    with ScriptedLLM([Step(body=completion("Sure! Here is {not json")), Step(body=GOOD)]) as srv:
        llm = scripted(srv)
        assert llm.generate(ECHO, Topic, text="x").topic == "bees"
    assert [c.status for c in llm.calls] == ["invalid", "ok"]
    retry_messages = srv.requests[1]["messages"]
    assert retry_messages[-1]["role"] == "user" and "not valid" in retry_messages[-1]["content"]


def test_answers_that_never_fit_give_a_clear_error() -> None:
    wrong = completion(json.dumps({"topic": 3}))
    with ScriptedLLM(default=Step(body=wrong)) as srv:
        llm = scripted(srv, schema_retries=2)
        with pytest.raises(LLMOutputError, match="3 attempts"):
            llm.generate(ECHO, Topic, text="x")
    assert len(srv.requests) == 3


def test_429_and_5xx_are_retried_with_backoff() -> None:
    steps = [
        Step(status=429, body={"error": "slow down"}, headers={"retry-after": "0"}),
        Step(status=503, body={"error": "busy"}),
        Step(body=GOOD),
    ]
    with ScriptedLLM(steps) as srv:
        llm = scripted(srv)
        assert llm.generate(ECHO, Topic, text="x").topic == "bees"
    assert len(srv.requests) == 3


def test_persistent_5xx_is_a_transient_error_after_the_retries() -> None:
    with ScriptedLLM(default=Step(status=500, body={"error": "boom"})) as srv:
        llm = scripted(srv, max_retries=2)
        with pytest.raises(TransientError, match="HTTP 500"):
            llm.generate(ECHO, Topic, text="x")
    assert len(srv.requests) == 3


def test_timeouts_are_retried_then_reported() -> None:
    with ScriptedLLM(default=Step(body=GOOD, delay_s=1.5)) as srv:
        llm = scripted(srv, max_retries=1, timeout_s=0.3)
        with pytest.raises(TransientError, match="timed out"):
            llm.generate(ECHO, Topic, text="x")


def test_a_server_that_dies_is_a_transient_error() -> None:
    srv = ScriptedLLM([Step(close=True)])
    with srv:
        llm = scripted(srv, max_retries=1)
        with pytest.raises(TransientError, match=r"could not connect|RemoteProtocolError"):
            srv.steps.append(Step(close=True))
            llm.generate(ECHO, Topic, text="x")
    with pytest.raises(TransientError, match="could not connect"):
        llm.generate(ECHO, Topic, text="y")


def test_a_4xx_is_a_config_error_naming_the_fix() -> None:
    with ScriptedLLM(default=Step(status=401, body={"error": "bad key"})) as srv:
        llm = scripted(srv)
        with pytest.raises(ConfigError, match="API key"):
            llm.generate(ECHO, Topic, text="x")


def test_budget_stops_calls() -> None:
    prices = {"scripted": ModelPrice(input_per_mtok=1e6, output_per_mtok=0)}
    with ScriptedLLM(default=Step(body=GOOD)) as srv:
        llm = scripted(srv, prices=prices)
        llm.budget = Budget(limit_usd=15.0)  # each call: 10 tokens x $1 = $10
        llm.generate(ECHO, Topic, text="a")
        llm.generate(ECHO, Topic, text="b")
        with pytest.raises(BudgetExhaustedError):
            llm.generate(ECHO, Topic, text="c")
    assert len(srv.requests) == 2


def test_concurrency_is_limited_per_process() -> None:
    notes = completion(json.dumps({"summary": "s", "key_points": []}))
    with ScriptedLLM(default=Step(body=notes, delay_s=0.2)) as srv:
        llm = scripted(srv, concurrency=2, context_tokens=600, max_output_tokens=64)
        from cintel.analyzers.text.summary import PartNotes

        threads = [
            threading.Thread(target=llm._map, args=(["a", "b", "c"], ECHO, PartNotes))
            for _ in range(3)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(srv.requests) == 9 and srv.max_in_flight <= 2


def test_schema_is_sent_the_way_the_server_understands() -> None:
    with ScriptedLLM(default=Step(body=GOOD)) as srv:
        scripted(srv, structured="json_schema").generate(ECHO, Topic, text="x")
        scripted(srv, structured="json_object").generate(ECHO, Topic, text="y")
        scripted(srv, structured="prompt").generate(ECHO, Topic, text="z")
    formats = [r.get("response_format") for r in srv.requests]
    assert formats[0]["type"] == "json_schema" and formats[0]["json_schema"]["schema"]
    assert formats[1] == {"type": "json_object", "schema": Topic.model_json_schema()}
    assert formats[2] is None


def test_prompts_are_versioned_files_with_a_hash() -> None:
    prompt = load_prompt("summary.reduce")
    assert isinstance(prompt, Prompt) and len(prompt.digest) == 64
    assert "{text}" in prompt.user
    with pytest.raises(ConfigError, match="built-in prompts"):
        load_prompt("no.such.prompt")


def test_unknown_provider_scheme_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="openai\\+http"):
        make_provider(LLMSettings(url="grpc://host/v1"))


PIPELINE = """
name = "llm-text"
[analyzers."text.extract"]
[analyzers."text.summary"]
[analyzers."text.chapters"]
min_chapter_chars = 600
"""


def llm_run(tmp_path: Path, llama_url: str, budget: float | None, store: str) -> object:
    from cintel.config import Settings
    from cintel.pipeline import parse_pipeline
    from cintel.usecases.run import run_pipeline

    subjects = json.loads((DATA / "text/subjects.json").read_text())
    docs = tmp_path / "docs"
    docs.mkdir(exist_ok=True)
    for first, second in (("volcanoes", "baking"), ("space", "gardening")):
        text = " ".join(subjects[first]) + "\n\n" + " ".join(subjects[second])
        (docs / f"{first}.txt").write_text(text)
    llm = llama_settings(
        llama_url,
        prices={LLAMA_ALIAS: ModelPrice(input_per_mtok=0.5, output_per_mtok=1.5)},
        budget_usd=budget,
        max_output_tokens=512,
    )
    settings = Settings(
        data_dir=tmp_path / "data", store=store, workers=1, llm=llm, retry_backoff_s=0.1
    )
    return run_pipeline([str(docs)], parse_pipeline(PIPELINE), settings)


def test_pipeline_uses_the_llm_records_the_ledger_and_reruns_free(
    tmp_path: Path, llama_url: str
) -> None:
    from cintel.store import open_store

    store_url = f"sqlite:///{tmp_path}/store.db"
    report = llm_run(tmp_path, llama_url, None, store_url)
    assert report.ok, report.failures  # type: ignore[attr-defined]
    assert report.llm_calls >= 4 and report.llm_cost_usd > 0  # type: ignore[attr-defined]
    with open_store(store_url) as store:
        calls = store.llm_calls(run_id=report.run_id)  # type: ignore[attr-defined]
        by_analyzer = {t.key: t for t in store.llm_totals("analyzer")}
        summaries = [
            s for c in store.list_contents() for s in store.get_signals(c.id, "text.summary")
        ]
    assert {c.analyzer for c in calls} == {"text.summary", "text.chapters"}
    assert all(c.tokens_in > 0 and c.model == LLAMA_ALIAS for c in calls if c.status == "ok")
    expected = sum(c.tokens_in * 0.5 + c.tokens_out * 1.5 for c in calls) / 1e6
    assert sum(t.cost_usd for t in by_analyzer.values()) == pytest.approx(expected)
    assert all(s.value["method"] == "llm" for s in summaries) and len(summaries) == 2
    assert all(s.provenance.tokens_in > 0 and s.provenance.cost_usd > 0 for s in summaries)

    again = llm_run(tmp_path, llama_url, None, store_url)
    assert again.llm_calls == 0 and sum(c.computed for c in again.counts.values()) == 0  # type: ignore[attr-defined]


def test_budget_spent_falls_back_and_says_so(tmp_path: Path, llama_url: str) -> None:
    report = llm_run(tmp_path, llama_url, 1e-9, f"sqlite:///{tmp_path}/store.db")
    assert report.ok, report.failures  # type: ignore[attr-defined]
    fallbacks = report.llm_fallbacks  # type: ignore[attr-defined]
    assert fallbacks and all(a in ("text.summary", "text.chapters") for a, _ in fallbacks)
    assert report.llm_calls >= 1  # the first call spent the budget; later ones never happened  # type: ignore[attr-defined]
    summary = report.as_dict()  # type: ignore[attr-defined]
    assert summary["llm"]["fallbacks"][0]["reason"] == "llm budget spent"
