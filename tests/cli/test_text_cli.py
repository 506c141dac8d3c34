"""The text commands: chapters as podcast JSON, and redacted transcripts."""

from __future__ import annotations

import json
from pathlib import Path

from cintel.model import Segment, Source
from cintel.store import open_store
from tests.helpers.builders import make_content, make_signal
from tests.helpers.cli import cli
from tests.helpers.paths import DATA

SUBJECTS: dict[str, list[str]] = json.loads((DATA / "text" / "subjects.json").read_text())


def clock(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"00:{int(minutes):02d}:{secs:06.3f}"


def test_chapters_of_a_subtitle_file_as_podcast_json(tmp_path: Path) -> None:
    cues, now = [], 0.0
    for name in ("volcanoes", "baking", "space"):
        for sentence in SUBJECTS[name]:
            length = len(sentence.split()) / 2.5
            cues.append(f"{clock(now)} --> {clock(now + length)}\n{sentence}\n")
            now += length + 0.4
    vtt = tmp_path / "talk.vtt"
    vtt.write_text("WEBVTT\n\n" + "\n".join(cues))
    pipeline = tmp_path / "chapters.toml"
    pipeline.write_text('name = "c"\n[analyzers."text.chapters"]\nllm = "off"\n')
    code, _ = cli(tmp_path, "run", str(vtt), "--pipeline", str(pipeline))
    assert code == 0
    code, out = cli(tmp_path, "chapters", str(vtt))
    assert code == 0
    chapters = json.loads(out)
    assert chapters["version"] == "1.2.0" and len(chapters["chapters"]) == 3
    starts = [c["startTime"] for c in chapters["chapters"]]
    assert starts[0] == 1e-3 * round(starts[0] * 1000) and starts == sorted(starts)
    assert all(c["title"] and c["endTime"] > c["startTime"] for c in chapters["chapters"])

    plain = tmp_path / "plain.txt"
    plain.write_text("\n\n".join(" ".join(SUBJECTS[n]) for n in ("volcanoes", "baking")))
    cli(tmp_path, "run", str(plain), "--pipeline", str(pipeline))
    code, out = cli(tmp_path, "chapters", str(plain))
    assert code == 2 and "no times" in out
    code, out = cli(tmp_path, "chapters", str(plain), "--format", "json")
    assert code == 0 and json.loads(out)["timed"] is False


def test_transcript_redact_hides_pii_in_utterances_and_words(tmp_path: Path) -> None:
    audio = make_content(1, kind="audio")
    text = "Mail me at jane.doe@example.com or call +1 415 555 2671 today."
    words = text.split()
    segments = [Segment(start=0.0, end=6.0, label="utterance", text=text)]
    segments += [
        Segment(start=i * 0.5, end=i * 0.5 + 0.4, label="word", text=w, attrs={"utterance": 0})
        for i, w in enumerate(words)
    ]
    transcript = make_signal(audio.id, "speech.transcript", value={"language": "en"})
    transcript = transcript.model_copy(update={"segments": segments})
    with open_store(f"sqlite:///{tmp_path / 'data' / 'cintel.db'}") as store:
        store.add_content(audio, Source(uri=audio.location))
        store.put_signals([transcript])
    code, out = cli(tmp_path, "transcript", audio.id[:12], "--format", "json", "--redact")
    assert code == 0
    body = json.loads(out)
    [utterance] = body["utterances"]
    assert utterance["text"] == "Mail me at [EMAIL] or call [PHONE] today."
    assert "jane" not in out and "2671" not in out
    assert [w["word"] for w in utterance["words"]][:4] == ["Mail", "me", "at", "[REDACTED]"]
    code, out = cli(tmp_path, "transcript", audio.id[:12], "--format", "txt")
    assert "jane.doe@example.com" in out  # without --redact the transcript is as heard
