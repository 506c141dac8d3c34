"""The fast safety classifier: profanity by word n-grams, five harms by embeddings.

Profanity is lexical, so it is scored by alt-profanity-check (a linear SVM over
word n-grams trained on 200k labelled comments, the registered model
``profanity-check``). The other categories need meaning, not words: "kill the
process" and "I will kill you" share a verb. Each is scored by a logistic
regression on MiniLM sentence embeddings, one per category against everything
else, trained when the classifier is built from the seed set shipped in
``cintel/text/data/safety_seed.jsonl`` (short sentences labelled with a
category or ``safe``; many safe ones share words with unsafe ones). Training is
deterministic and takes milliseconds once the seed sentences are embedded; the
seed's SHA-256 names the trained model, so results computed with another seed
are keyed apart.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from cintel.errors import ConfigError
from cintel.text.embedding import Encoder, shared_encoder

PROFANITY = "profanity"
LEARNED = ("hate_harassment", "sexual", "violence", "self_harm", "drugs")
CATEGORIES = (PROFANITY, *LEARNED)
SAFE = "safe"
SEED_FILE = "safety_seed.jsonl"
PROFANITY_MODEL = "profanity-check"
REGULARISATION = 4.0
"""Inverse regularisation strength: on the seed set, smaller underfits the look-alikes and
larger pushes probabilities to 0 and 1, which leaves the LLM's uncertain band empty."""


def seed_path() -> Path:
    """The shipped seed set."""
    return Path(str(files("cintel.text") / "data" / SEED_FILE))


@cache
def seed_digest(path: Path | None = None) -> str:
    """SHA-256 of the seed file's bytes: the identity of the trained classifier."""
    return hashlib.sha256((path or seed_path()).read_bytes()).hexdigest()


def load_seed(path: Path | None = None) -> list[tuple[str, str]]:
    """(text, label) pairs of a seed file; labels are a category or ``safe``."""
    path = path or seed_path()
    rows: list[tuple[str, str]] = []
    known = {*CATEGORIES, SAFE}
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text, label = str(row["text"]), str(row["label"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"safety seed {path} line {number} is not valid: {exc}") from exc
        if label not in known:
            raise ConfigError(
                f"safety seed {path} line {number}: unknown label {label!r}; "
                f"use one of {', '.join(sorted(known))}"
            )
        rows.append((text, label))
    for category in LEARNED:
        if sum(1 for _, label in rows if label == category) < 5:
            raise ConfigError(f"safety seed {path} has fewer than 5 examples of {category!r}")
    return rows


class ProfanityScorer:
    """Probability that a text is profane, from the registered alt-profanity-check model."""

    def __init__(self) -> None:
        import joblib

        from cintel.model_registry import model_registry

        folder = model_registry.get(PROFANITY_MODEL).locate()
        self.vectorizer: Any = joblib.load(folder / "vectorizer.joblib")
        self.model: Any = joblib.load(folder / "model.joblib")

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """One probability per text (what ``profanity_check.predict_prob`` returns)."""
        if not texts:
            return np.zeros(0, dtype=np.float64)
        return np.asarray(self.model.predict_proba(self.vectorizer.transform(list(texts)))[:, 1])


def seed_vectors(
    rows: Sequence[tuple[str, str]], encoder: Encoder, digest: str | None = None
) -> np.ndarray:
    """The seed's embeddings, kept in the model cache by seed and encoder when the seed is
    the shipped one (``digest`` given): embedding is most of the training time."""
    if digest is None:
        return encoder.encode([text for text, _ in rows])
    from cintel.model_registry import model_cache

    name = hashlib.sha256(f"{digest}|{encoder.model_name}".encode()).hexdigest()[:24]
    path = model_cache() / "derived" / f"safety-seed-{name}.npy"
    if path.is_file():
        try:
            cached = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            cached = None
        if cached is not None and cached.shape == (len(rows), encoder.dimensions):
            return np.asarray(cached, dtype=np.float32)
    vectors = encoder.encode([text for text, _ in rows])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npy")
        np.save(staging, vectors, allow_pickle=False)
        staging.replace(path)
    except OSError:
        pass  # a read-only cache only costs the embedding time again
    return vectors


@dataclass
class SafetyClassifier:
    """Scores per category for texts: column order is ``CATEGORIES``."""

    encoder: Encoder
    profanity: ProfanityScorer
    regression: Any
    digest: str

    @classmethod
    def train(
        cls,
        seed: Sequence[tuple[str, str]] | None = None,
        encoder: Encoder | None = None,
        digest: str | None = None,
    ) -> SafetyClassifier:
        """Fit a multinomial logistic regression (every label, ``safe`` included) on the
        embedded seed set; only the learned categories' probabilities are used."""
        from sklearn.linear_model import LogisticRegression

        if seed is None:
            rows, digest = load_seed(), digest or seed_digest()
        else:
            rows = list(seed)
        encoder = encoder or shared_encoder()
        vectors = seed_vectors(rows, encoder, digest)
        labels = np.array([label for _, label in rows])
        model = LogisticRegression(
            C=REGULARISATION, class_weight="balanced", max_iter=5000, random_state=0
        )
        model.fit(vectors, labels)
        return cls(
            encoder=encoder,
            profanity=ProfanityScorer(),
            regression=model,
            digest=digest or hashlib.sha256(json.dumps(rows).encode()).hexdigest(),
        )

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """An (n, len(CATEGORIES)) array of probabilities."""
        out = np.zeros((len(texts), len(CATEGORIES)), dtype=np.float64)
        if not texts:
            return out
        out[:, 0] = self.profanity.score(texts)
        probabilities = self.regression.predict_proba(self.encoder.encode(list(texts)))
        classes = list(self.regression.classes_)
        for column, category in enumerate(LEARNED, 1):
            out[:, column] = probabilities[:, classes.index(category)]
        return out


_trained: dict[str, SafetyClassifier] = {}


def shared_classifier() -> SafetyClassifier:
    """The classifier trained on the shipped seed, once per process."""
    digest = seed_digest()
    if digest not in _trained:
        _trained[digest] = SafetyClassifier.train(digest=digest)
    return _trained[digest]
