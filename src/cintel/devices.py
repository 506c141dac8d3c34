"""Which device a model runs on: ``"auto"`` takes an NVIDIA GPU when the process can
use one and the CPU otherwise, asked of the library that will run the model.

Each library is asked in its own terms: CTranslate2 (Whisper) counts the CUDA devices
it sees, PyTorch (the voice encoder) says whether CUDA is available, ONNX Runtime
(embeddings, OCR, NSFW, VAD) lists its execution providers; the CPU-only wheels these
come in by default answer "cpu". Nothing here imports a library until asked.
"""

from __future__ import annotations

from typing import Any, Literal

Device = Literal["cpu", "cuda"]

PLACEMENT: dict[str, Any] = {"placement": True}
"""``json_schema_extra`` of config fields that say where an analyzer runs, not what it
computes (``device``, ``cpu_threads``): they stay out of the config hash, so moving an
analyzer to a GPU does not recompute what the CPU already computed."""
DEVICES = ("auto", "cpu", "cuda")
"""What a ``device`` setting may say."""


def _check(requested: str) -> str:
    if requested not in DEVICES:
        from cintel.errors import UnknownNameError

        raise UnknownNameError("device", requested, DEVICES)
    return requested


def ctranslate2_device(requested: str = "auto") -> Device:
    """The device CTranslate2 (faster-whisper) should use."""
    if _check(requested) != "auto":
        return "cuda" if requested == "cuda" else "cpu"
    try:
        import ctranslate2
    except ImportError:
        return "cpu"
    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def torch_device(requested: str = "auto") -> Device:
    """The device PyTorch should use."""
    if _check(requested) != "auto":
        return "cuda" if requested == "cuda" else "cpu"
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def onnx_providers(requested: str = "auto") -> list[str]:
    """ONNX Runtime's execution providers, best first: CUDA's when asked for (or when
    ``auto`` and the installed runtime has it), always ending with the CPU's."""
    if _check(requested) == "cpu":
        return ["CPUExecutionProvider"]
    import onnxruntime

    available = onnxruntime.get_available_providers()
    if "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if requested == "cuda":
        from cintel.errors import ConfigError

        raise ConfigError(
            "device = 'cuda' but this ONNX Runtime has no CUDA provider; install "
            "onnxruntime-gpu, or use device = 'auto' (CPU when there is no GPU)"
        )
    return ["CPUExecutionProvider"]


def compute_type_for(device: Device, requested: str = "auto") -> str:
    """CTranslate2's compute type: int8 on the CPU, float16 on a GPU, unless set."""
    if requested != "auto":
        return requested
    return "float16" if device == "cuda" else "int8"
