"""Text benchmarks: documents per second for each text analyzer and the whole ``text``
pipeline against the libraries called directly, and LLM economics on the ``podcast``
pipeline over the samples. Writes ``bench/results/text.json``.

- Per analyzer: the analyzer in-process over documents of ~1,000 words vs the library
  it is built on, called directly on the same documents the way the analyzer calls it
  (YAKE, spaCy, fastText, ONNX Runtime with the MiniLM tokenizer, phonenumbers, the
  profanity model). The ratio is the analyzer's throughput over the library's: the
  cost of cintel's own work around the library (segments, merging, time codes).
- Pipeline: the ``text`` pipeline end to end (ingest, plan, local runner, SQLite) in
  CPU seconds per document against the sum of the analyzers' in-process CPU seconds:
  the cost of the framework (runner, store, serialisation).
- LLM economics: the ``podcast`` pipeline over ``samples/speech`` with llama.cpp's
  server (SmolLM2-135M) as the LLM and an example price table; calls, tokens and cost
  per hour of audio, a rerun's LLM calls, the share of safety units sent to the LLM.

Model-heavy analyzers (those that embed text) run on ``--heavy-docs`` documents
(default 50), the others on ``--docs`` (default 1,000): MiniLM on this CPU embeds about
ten 256-token passages a second, so 1,000 documents of 1,000 words take ~10 minutes
for each embedding analyzer.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, ROOT, Metric, environment, print_table, timed

SUBJECTS = ROOT / "tests" / "data" / "text" / "subjects.json"
EXAMPLE_PRICES = {"input_per_mtok": 0.15, "output_per_mtok": 0.60}
HEAVY = {
    "text.embedding",
    "text.topics",
    "text.chapters",
    "text.summary",
    "text.safety",
    "text.ads",
}
LIGHT = {"text.extract", "text.language", "text.keywords", "text.entities", "text.pii"}


def corpus(folder: Path, n: int, words: int = 1000, seed: int = 1) -> list[Path]:
    """``n`` distinct English documents of about ``words`` words, in paragraphs by subject."""
    subjects: dict[str, list[str]] = json.loads(SUBJECTS.read_text())
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        paragraphs: list[str] = []
        count = 0
        while count < words:
            name = rng.choice(sorted(subjects))
            sentences = rng.sample(subjects[name], 6)
            paragraph = " ".join(sentences) + f" (Note {i}-{len(paragraphs)}.)"
            paragraphs.append(paragraph)
            count += len(paragraph.split())
        path = folder / f"doc{i:05d}.txt"
        path.write_text("\n\n".join(paragraphs), encoding="utf-8")
        paths.append(path)
    return paths


def _signal(name: str, result: Any, content_id: str) -> Any:
    from cintel.model import Provenance, Signal

    return Signal(
        result_key=f"{name}:{content_id}",
        content_id=content_id,
        analyzer=name,
        value=result.value.model_dump(mode="json"),
        segments=result.segments,
        provenance=Provenance(analyzer=name, version="bench", config_hash="bench"),
    )


def extract_all(paths: list[Path], artifacts: Any) -> list[Any]:
    """AnalysisInputs with the text.extract signal of each document."""
    from cintel.analyzers.base import AnalysisInput
    from cintel.analyzers.text.extract import TextExtract
    from cintel.testing import analysis_input

    extract = TextExtract()
    items = []
    for path in paths:
        item = analysis_input(path, artifacts)
        signal = _signal("text.extract", extract.analyze(item), item.content.id)
        items.append(
            AnalysisInput(item.content, item.path, {"text.extract": signal}, artifacts=artifacts)
        )
    return items


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]


@cache
def _spacy() -> Any:
    """spaCy's English pipeline, loaded once (the warm-up call loads it, not the timed one)."""
    import spacy

    from cintel.model_registry import model_registry

    path = model_registry.get("spacy-en-core-web-sm").locate()
    return spacy.load(path, exclude=["tagger", "parser", "attribute_ruler", "lemmatizer"])


def baselines(texts: list[str], paths: list[Path] | None = None) -> dict[str, Callable[[], None]]:
    """For each analyzer, the library it is built on called directly on the same texts
    (``text.extract``: on the same files, read and decoded)."""
    from cintel.text.embedding import shared_encoder

    encoder = shared_encoder()

    def raw_encode(pieces: list[str]) -> None:
        for begin in range(0, len(pieces), 32):
            batch = encoder.tokenizer.encode_batch(pieces[begin : begin + 32])
            import numpy as np

            ids = np.array([e.ids for e in batch], dtype=np.int64)
            mask = np.array([e.attention_mask for e in batch], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in encoder.inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            encoder.session.run(None, feed)

    def extract() -> None:
        from charset_normalizer import from_bytes

        for path in paths or []:
            data = path.read_bytes()
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = str(from_bytes(data).best())
            [" ".join(p.split()) for p in text.split("\n\n")]

    def language() -> None:
        from cintel.text.language import shared_model

        model = shared_model()
        for text in texts:
            for sentence in _sentences(text):
                model.predict(sentence.replace("\n", " "), k=5)

    def keywords() -> None:
        import yake

        extractor = yake.KeywordExtractor(lan="en", n=3, top=20)
        for text in texts:
            extractor.extract_keywords(text)

    def entities() -> None:
        for _ in _spacy().pipe(texts):
            pass

    def pii() -> None:
        import phonenumbers

        email = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
        for text in texts:
            email.findall(text)
            list(phonenumbers.PhoneNumberMatcher(text, "US"))

    def chunks() -> None:
        raw_encode([t[i : i + 1000] for t in texts for i in range(0, len(t), 850)])

    def sentences_encoded() -> None:
        raw_encode([s for t in texts for s in _sentences(t)])

    def safety() -> None:
        from profanity_check import predict_prob

        pieces = [s for t in texts for s in _sentences(t)]
        predict_prob(pieces)
        raw_encode(pieces)

    return {
        "text.extract": extract,
        "text.language": language,
        "text.keywords": keywords,
        "text.entities": entities,
        "text.pii": pii,
        "text.embedding": chunks,
        "text.chapters": sentences_encoded,
        "text.summary": sentences_encoded,
        "text.safety": safety,
    }


NO_BASELINE = {
    "text.topics": "reuses text.embedding's chunk vectors; what is left is numpy arithmetic",
    "text.ads": "embeds only sentences near ad cues; no library call does the same work",
}


def bench_analyzers(work: Path, n_docs: int, n_heavy: int) -> tuple[list[Metric], dict[str, float]]:
    """Each analyzer in-process vs its library; returns metrics and CPU s per document."""
    import warnings

    from cintel.analyzers import registry
    from cintel.artifacts import Artifacts
    from cintel.model import ContentKind
    from cintel.pipeline import load_pipeline

    warnings.simplefilter("ignore")
    paths = corpus(work / "docs", max(n_docs, n_heavy))
    artifacts = Artifacts(str(work / "artifacts"))
    items = extract_all(paths, artifacts)
    texts = [item.upstream["text.extract"].value["text"] for item in items]
    metrics: list[Metric] = []
    cpu_per_doc: dict[str, float] = {}
    steps = [
        s for s in load_pipeline("text").steps_for(ContentKind.TEXT) if s.name in HEAVY | LIGHT
    ]
    for step in steps:
        name = step.name
        n = n_heavy if name in HEAVY else n_docs
        analyzer = registry.get(name)(step.config)
        analyzer.setup()
        subset = items[:n]
        # warm up: first calls load lazily (tokenizer caches, spaCy vocab)
        analyzer.analyze(subset[0])
        with timed() as t:
            for item in subset:
                result = analyzer.analyze(item)
                item.upstream[name] = _signal(name, result, item.content.id)
        rate = n / t["wall"]
        cpu_per_doc[name] = t["cpu"] / n
        extra: dict[str, Any] = {"docs": n, "words_per_doc": 1000, "target_ratio": 0.9}
        base_rate = None
        library = baselines(texts[:n], paths[:n]).get(name)
        if library is None:
            extra["no_baseline"] = NO_BASELINE[name]
        else:
            library()  # warm up
            with timed() as b:
                library()
            base_rate = n / b["wall"]
        metrics.append(
            Metric(
                bench="text",
                name=f"{name} docs/s",
                value=rate,
                unit="docs/s",
                baseline=base_rate,
                baseline_name="library called directly" if base_rate else "",
                ratio=rate / base_rate if base_rate else None,
                others=t.get("others_cores"),
                extra=extra,
            )
        )
        print(f"  {name}: {rate:.2f} docs/s (library {base_rate}) on {n} docs", flush=True)
    return metrics, cpu_per_doc


def bench_pipeline(work: Path, n_docs: int, cpu_per_doc: dict[str, float]) -> list[Metric]:
    """The text pipeline end to end: CPU per document vs the analyzers' own CPU."""
    from cintel.config import Settings
    from cintel.usecases.run import run_pipeline

    paths = corpus(work / "pipeline", n_docs, seed=2)
    settings = Settings(data_dir=work / "pipeline-data", workers=2)
    with timed() as t:
        report = run_pipeline([str(p) for p in paths], "text", settings)
    own = sum(cpu_per_doc.values())
    framework_cpu = t.get("own_cpu", t["cpu"]) / n_docs
    return [
        Metric(
            bench="text",
            name="text pipeline docs/s (2 workers)",
            value=n_docs / t["wall"],
            unit="docs/s",
            others=t.get("others_cores"),
            extra={"docs": n_docs, "failures": len(report.failures)},
        ),
        Metric(
            bench="text",
            name="text pipeline CPU per doc vs analyzers in-process",
            value=framework_cpu,
            unit="cpu s/doc",
            higher_is_better=False,
            baseline=own,
            baseline_name="sum of in-process analyzer CPU",
            ratio=own / framework_cpu if framework_cpu else None,
            target=own * 1.1,
            extra={"docs": n_docs},
        ),
    ]


def bench_llm(work: Path) -> list[Metric]:
    """LLM calls, tokens and cost per hour of audio on the podcast pipeline over samples."""
    from tests.helpers.llm_servers import LLAMA_ALIAS, llama_server

    from cintel.config import LLMSettings, ModelPrice, Settings
    from cintel.store import open_store
    from cintel.usecases.run import run_pipeline

    with llama_server(n_ctx=4096) as base:
        llm = LLMSettings(
            url="openai+" + base,
            model=LLAMA_ALIAS,
            structured="json_object",
            context_tokens=4096,
            prices={LLAMA_ALIAS: ModelPrice(**EXAMPLE_PRICES)},
        )
        settings = Settings(data_dir=work / "podcast", workers=2, llm=llm)
        inputs = [str(ROOT / "samples" / "speech")]
        with timed() as t:
            first = run_pipeline(inputs, "podcast", settings)
        again = run_pipeline(inputs, "podcast", settings)
    with open_store(settings.store_url) as store:
        contents = store.list_contents()
        hours = 0.0
        reviewed = units = 0
        for content in contents:
            probe = store.get_signals(content.id, "media.probe")
            hours += float(probe[0].value.get("duration_s") or 0) / 3600 if probe else 0.0
            for signal in store.get_signals(content.id, "text.safety"):
                reviewed += int(signal.value.get("llm_reviewed") or 0)
                units += int(signal.value.get("units") or 0)
        calls = [c for c in store.llm_calls(run_id=first.run_id) if not c.cached]
    tokens_in = sum(c.tokens_in for c in calls)
    tokens_out = sum(c.tokens_out for c in calls)
    cost = sum(c.cost_usd for c in calls)
    per_hour = 1 / hours if hours else 0.0
    extra = {"audio_hours": round(hours, 4), "prices_usd_per_mtok": EXAMPLE_PRICES}
    return [
        Metric(
            "text",
            "podcast LLM calls per audio hour",
            len(calls) * per_hour,
            "calls/h",
            extra=extra,
        ),
        Metric("text", "podcast LLM tokens in per audio hour", tokens_in * per_hour, "tokens/h"),
        Metric("text", "podcast LLM tokens out per audio hour", tokens_out * per_hour, "tokens/h"),
        Metric("text", "podcast LLM cost per audio hour", cost * per_hour, "USD/h", extra=extra),
        Metric(
            "text",
            "podcast rerun LLM calls",
            float(again.llm_calls),
            "calls",
            target=0,
            higher_is_better=False,
        ),
        Metric(
            "text",
            "safety units sent to the LLM",
            reviewed / units if units else 0.0,
            "share",
            extra={"units": units, "reviewed": reviewed},
        ),
        Metric(
            "text",
            "podcast pipeline wall (samples, with LLM)",
            t["wall"],
            "s",
            higher_is_better=False,
        ),
    ]


def run(
    n_docs: int, n_heavy: int, n_pipeline: int, llm: bool, workdir: Path | None
) -> list[Metric]:
    """Every text benchmark."""
    work = workdir or Path(tempfile.mkdtemp(prefix="cintel-text-bench-"))
    metrics, cpu_per_doc = bench_analyzers(work, n_docs, n_heavy)
    metrics += bench_pipeline(work, n_pipeline, cpu_per_doc)
    if llm:
        metrics += bench_llm(work)
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1000, help="documents for light analyzers")
    parser.add_argument("--heavy-docs", type=int, default=50, help="documents for embedding ones")
    parser.add_argument("--pipeline-docs", type=int, default=50, help="documents for the pipeline")
    parser.add_argument("--no-llm", action="store_true", help="skip the LLM economics")
    parser.add_argument("--quick", action="store_true", help="10x fewer documents: a smoke test")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    started = time.perf_counter()
    metrics = run(
        max(2, args.docs // scale),
        max(2, args.heavy_docs // scale),
        max(2, args.pipeline_docs // scale),
        not args.no_llm,
        args.workdir,
    )
    print_table(metrics, f"cintel text benchmarks{' (quick)' if args.quick else ''}")
    out = RESULTS / ("text-quick.json" if args.quick else "text.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "environment": environment(),
        "seconds": round(time.perf_counter() - started, 1),
        "metrics": [m.as_dict() for m in metrics],
    }
    out.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
