"""Evaluation end to end on the real components: references imported from RTTM and STM
for a two-voice conversation, the pipeline's own signals scored, two configs compared,
and a gate that fails on purpose (exit 1) and one that passes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cintel.annotate.formats.rttm import to_rttm
from cintel.annotation import AnnotationResult
from cintel.model import Segment
from tests.helpers.cli import cli
from tests.helpers.speech import SENTENCES, conversation

pytestmark = pytest.mark.slow

GATES = """
[[gate]]
metric = "der"
absolute = 0.02
min_items = 1

[[gate]]
metric = "speaker_count_accuracy"
at_least = 1.0
"""


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A conversation with its RTTM and STM references, imported as two sets."""
    folder = tmp_path_factory.mktemp("talk")
    audio, truth = conversation(folder, turns=4)
    turns = [Segment(start=a, end=b, label="turn", speaker=s) for a, b, s in truth]
    (folder / "conversation.rttm").write_text(
        to_rttm("conversation", AnnotationResult(segments=turns))
    )
    stm = [
        f"conversation 1 {s} {a:.3f} {b:.3f} {SENTENCES[k % len(SENTENCES)]}"
        for k, (a, b, s) in enumerate(truth)
    ]
    (folder / "conversation.stm").write_text("\n".join(stm) + "\n")
    code, text = cli(
        folder,
        "eval",
        "refs",
        "import",
        "turns",
        str(folder / "conversation.rttm"),
        "--media",
        str(audio),
        "--json",
    )
    assert code == 0, text
    assert json.loads(text)["task"] == "turns" and json.loads(text)["items"] == 1
    code, text = cli(
        folder,
        "eval",
        "refs",
        "import",
        "words",
        str(folder / "conversation.stm"),
        "--label",
        "language=en",
        "--json",
    )
    assert code == 0, text
    return folder, audio


def test_a_diarization_run_is_scored_stored_and_shown(talk: tuple[Path, Path]) -> None:
    folder, _ = talk
    code, text = cli(folder, "eval", "run", "turns", "speech.speakers", "--json")
    assert code == 0, text
    run = json.loads(text)
    assert run["analyzer"] == "speech.speakers" and run["task"] == "turns"
    der = run["figures"]["der"]
    assert der["value"] < 0.25, der  # two clear voices, turns at the pauses
    assert run["figures"]["speaker_count_accuracy"]["value"] == 1.0
    assert run["media_s"] > 5 and run["realtime_factor"] > 0 and run["cpu_s"] > 0
    assert run["cost_per_hour_usd"] == 0.0
    assert run["items"][0]["name"] == "conversation"
    code, shown = cli(folder, "eval", "show", run["id"][:10])
    assert code == 0 and "der" in shown and "x real time" in shown
    code, listed = cli(folder, "eval", "history", "speech.speakers", "--json")
    assert code == 0 and run["id"] in {r["id"] for r in json.loads(listed)}


def test_a_transcript_run_scores_wer_and_the_language(talk: tuple[Path, Path]) -> None:
    folder, _ = talk
    code, text = cli(folder, "eval", "run", "words", "speech.transcript", "--json")
    assert code == 0, text
    run = json.loads(text)
    assert run["figures"]["wer"]["value"] < 0.35, run["items"][0]
    assert run["figures"]["wer"]["denominator"] == sum(
        len(SENTENCES[k % len(SENTENCES)].split()) for k in range(4)
    )
    assert run["figures"]["language_accuracy"]["value"] == 1.0
    assert "cpwer" not in run["figures"]  # the transcript names no speakers
    code, text = cli(folder, "eval", "run", "words", "speech.speakers", "--json")
    assert code == 0, text
    attributed = json.loads(text)  # the speakers signal has each word's speaker
    assert attributed["task"] == "transcript"
    cpwer = attributed["figures"]["cpwer"]["value"]
    assert run["figures"]["wer"]["value"] <= cpwer < 0.4


def test_compare_two_configs_and_gate_the_worse_one(talk: tuple[Path, Path]) -> None:
    folder, _ = talk
    worse = folder / "one-speaker.toml"
    worse.write_text('[analyzers."speech.speakers"]\nnum_speakers = 1\n')
    code, text = cli(
        folder,
        "eval",
        "compare",
        "turns",
        "speech.speakers",
        "--baseline",
        "default",
        "--candidate",
        str(worse),
        "--json",
    )
    assert code == 0, text
    compared = json.loads(text)
    der = next(f for f in compared["figures"] if f["name"] == "der")
    assert der["candidate"] > der["baseline"] and der["difference"] > 0
    assert compared["losses"] == ["conversation"] and compared["wins"] == []
    gates = folder / "gates.toml"
    gates.write_text(GATES)
    code, text = cli(
        folder,
        "eval",
        "gate",
        str(gates),
        "turns",
        "speech.speakers",
        "--baseline",
        compared["baseline"],
        "--candidate",
        compared["candidate"],
        "--json",
    )
    assert code == 1, text
    verdict = json.loads(text)
    assert not verdict["passed"]
    reasons = {r["metric"]: r for r in verdict["rules"]}
    assert not reasons["der"]["passed"] and "worse than the baseline" in reasons["der"]["reason"]
    assert not reasons["speaker_count_accuracy"]["passed"]
    code, text = cli(
        folder,
        "eval",
        "gate",
        str(gates),
        "turns",
        "speech.speakers",
        "--baseline",
        compared["baseline"],
        "--candidate",
        "default",
    )
    assert code == 0, text
    assert "gate passed" in text


def test_bad_reference_files_name_the_file_and_the_fix(talk: tuple[Path, Path]) -> None:
    folder, _ = talk
    unknown = folder / "stranger.rttm"
    unknown.write_text("SPEAKER nobody 1 0.0 1.0 <NA> <NA> A <NA> <NA>\n")
    code, text = cli(folder, "eval", "refs", "import", "x", str(unknown))
    assert code == 2 and "stranger.rttm" in text and "nobody" in text and "--media" in text
    broken = folder / "broken.rttm"
    broken.write_text("SPEAKER conversation 1 zero 1.0 <NA> <NA> A <NA> <NA>\n")
    code, text = cli(folder, "eval", "refs", "import", "x", str(broken))
    assert code == 2 and "broken.rttm" in text and "line 1" in text
    gates = folder / "bad-gates.toml"
    gates.write_text('[[gate]]\nmetrc = "der"\n')
    code, text = cli(folder, "eval", "gate", str(gates), "turns", "speech.speakers")
    assert code == 2 and "bad-gates.toml" in text
    code, text = cli(folder, "eval", "run", "turns", "speech.transcript")
    assert code == 2 and "transcript references" in text and "turns" in text
