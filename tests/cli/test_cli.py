"""The command line: every command on a small corpus, JSON output and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from cintel.model import ContentKind
from cintel.pipeline import load_pipeline
from tests.helpers.cli import cli
from tests.helpers.media import picture, write_wav
from tests.helpers.runs import text_corpus


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    docs = tmp_path / "corpus"
    text_corpus(docs, 3)
    write_wav(docs / "tone.wav", 0.5)
    picture(7).save(docs / "art.png")
    return docs


def test_run_show_signals_stats_export(tmp_path: Path, corpus: Path) -> None:
    code, out = cli(tmp_path, "run", str(corpus), "--json")
    assert code == 0
    summary = json.loads(out)
    podcast = [s.name for s in load_pipeline("podcast").steps]
    text = [s.name for s in load_pipeline("text").steps_for(ContentKind.TEXT)]
    seen = [s.name for s in load_pipeline("image").steps_for(ContentKind.IMAGE)]
    heard = [name for name in podcast if not name.startswith("text.")]
    assert summary["ok"] and summary["contents"] == 5
    # the tone has no words: text.extract and the text analyzers after it are skipped
    assert summary["computed"] == 3 * len(text) + len(seen) + len(heard)
    assert [s["analyzer"] for s in summary["skipped"]] == ["text.extract"]
    assert summary["analyzers"]["text.summary"]["skipped"] == 1
    assert set(summary["analyzers"]) == {*seen, *text, *podcast}

    code, out = cli(tmp_path, "run", str(corpus), "--json")
    again = json.loads(out)
    assert again["computed"] == 0 and again["cached"] == summary["computed"]
    assert again["llm"]["calls"] == 0

    code, out = cli(tmp_path, "show", str(corpus / "tone.wav"), "--json")
    shown = json.loads(out)
    assert shown["content"]["kind"] == "audio"
    assert {s["analyzer"] for s in shown["signals"]} == set(heard)
    content_id = shown["content"]["id"]

    code, out = cli(tmp_path, "signals", content_id[:10], "--analyzer", "media.probe", "--json")
    [signal] = json.loads(out)
    assert signal["value"]["audio"]["sample_rate"] == 16000

    code, out = cli(tmp_path, "stats", "--json")
    stats = json.loads(out)
    assert stats["contents"] == 5 and stats["signals"] == summary["computed"]
    assert {a["analyzer"] for a in stats["analyzers"]} == set(summary["analyzers"])
    assert len(stats["runs"]) == 2
    assert stats["llm"] == {"by": "analyzer", "totals": []}  # no LLM configured: no calls

    code, out = cli(
        tmp_path, "export", "--format", "parquet", "--out", str(tmp_path / "pq"), "--json"
    )
    assert json.loads(out)["signals"] == summary["computed"]
    table = pq.read_table(tmp_path / "pq" / "signals.parquet")
    assert table.num_rows == summary["computed"] and "value" in table.column_names

    code, out = cli(tmp_path, "export", "--out", str(tmp_path / "jl"), "--analyzer", "text.pii")
    lines = (tmp_path / "jl" / "signals.jsonl").read_text().splitlines()
    assert len(lines) == 3 and all(json.loads(x)["analyzer"] == "text.pii" for x in lines)
    assert len((tmp_path / "jl" / "contents.jsonl").read_text().splitlines()) == 3


def test_plan_writes_nothing(tmp_path: Path, corpus: Path) -> None:
    code, out = cli(tmp_path, "plan", str(corpus), "--pipeline", "podcast", "--json")
    assert code == 0
    planned = json.loads(out)
    podcast = [s.name for s in load_pipeline("podcast").steps]
    # the text analyzers of the podcast pipeline also take the three text documents
    expected = {n: 4 if n.startswith("text.") else 1 for n in podcast}
    assert planned["analyzers"] == {
        n: {"total": k, "cached": 0, "todo": k} for n, k in expected.items()
    }
    assert len(planned["unmatched"]) == 1
    code, out = cli(tmp_path, "stats", "--json")
    assert json.loads(out)["contents"] == 0


def test_failures_give_exit_code_1_and_are_listed(tmp_path: Path, corpus: Path) -> None:
    (corpus / "empty.txt").write_bytes(b"")
    code, out = cli(tmp_path, "run", str(corpus))
    assert code == 1
    assert "empty.txt" in out
    code, out = cli(tmp_path, "failures", "--json")
    [failure] = json.loads(out)
    assert failure["category"] == "bad_input" and failure["analyzer"] == "ingest"


def test_listings(tmp_path: Path) -> None:
    code, out = cli(tmp_path, "analyzers", "--json")
    names = {a["name"] for a in json.loads(out)}
    assert {"media.probe", "text.stats", "image.hash"} <= names
    code, out = cli(tmp_path, "pipelines", "--json")
    assert {p["name"] for p in json.loads(out)} >= {"auto", "podcast", "text"}
    code, _ = cli(tmp_path, "models", "--verify")
    assert code == 0


def test_user_errors_exit_2_with_the_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cintel.cli", "run", str(tmp_path), "--pipeline", "nope"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2
    assert "unknown pipeline 'nope'; known pipelines: audio" in result.stderr


def test_show_escapes_control_characters_and_markup_in_metadata(tmp_path: Path) -> None:
    """A title with terminal escapes, a right-to-left override and Rich markup prints as
    visible escapes, so it cannot rewrite the screen or reverse the line."""
    from cintel.config import Settings
    from cintel.store import open_store
    from tests.helpers.builders import make_content, make_source

    hostile = make_content(7, title="Show \x1b[2J\x1b[31mred\u202eevil [bold]x[/bold]")
    with open_store(Settings(data_dir=tmp_path / "data").store_url) as store:
        store.add_content(hostile, make_source("/media/\x1b]0;pwned\x07.mp3"))
    code, out = cli(tmp_path, "show", hostile.id)
    assert code == 0
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert "\\x1b[2J" in out and "\\u202e" in out and "[bold]x[/bold]" in out


def test_cost_per_media_hour_and_an_estimate_from_measured_rates(
    tmp_path: Path, corpus: Path
) -> None:
    code, out = cli(tmp_path, "run", str(corpus / "tone.wav"), "--pipeline", "audio", "--json")
    assert code == 0, out
    code, out = cli(tmp_path, "stats", "--cpu-hour-usd", "3600", "--json")
    stats = json.loads(out)
    assert stats["media_s"] == pytest.approx(0.5, abs=0.01)  # the tone's duration
    assert stats["prices"]["cpu_hour_usd"] == 3600
    rows = {a["analyzer"]: a for a in stats["analyzers"]}
    decode = rows["audio.decode"]
    assert decode["media_s"] == pytest.approx(0.5, abs=0.01)
    assert decode["per_media_hour"]["cpu_s"] == pytest.approx(decode["cpu_s"] / (0.5 / 3600), 0.05)
    assert decode["total_cost_usd"] == pytest.approx(decode["cpu_s"])  # $1 per CPU second
    total_cpu = sum(a["cpu_s"] for a in stats["analyzers"])
    assert stats["per_media_hour"]["cpu_s"] == pytest.approx(total_cpu / (0.5 / 3600), 0.05)

    longer = tmp_path / "new"
    longer.mkdir()
    write_wav(longer / "long.wav", 2.0)
    code, out = cli(tmp_path, "plan", str(longer), "--pipeline", "audio", "--estimate", "--json")
    assert code == 0, out
    predicted = json.loads(out)["estimate"]
    assert predicted["media_s"] == pytest.approx(2.0, abs=0.01)
    by = {a["analyzer"]: a for a in predicted["analyzers"]}
    assert by["audio.decode"]["basis"] == "media_s"
    assert by["audio.decode"]["cpu_s"] == pytest.approx(decode["cpu_s"] * 4, 0.05)  # 4x longer
    assert predicted["unknown"] == []
    code, out = cli(tmp_path, "plan", str(longer), "--pipeline", "podcast", "--estimate")
    assert code == 0 and "not measured yet" in out and "speech.transcript" in out
