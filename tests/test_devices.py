"""Device choice: ``auto`` is the CPU on a machine without a GPU, ``cuda`` is asked for
explicitly, and where an analyzer runs stays out of its result keys."""

from __future__ import annotations

import pytest

from cintel.analyzers.speech.speakers import Speakers, SpeakersConfig
from cintel.analyzers.speech.transcript import Transcript, TranscriptConfig
from cintel.devices import compute_type_for, ctranslate2_device, onnx_providers, torch_device
from cintel.errors import ConfigError, UnknownNameError
from cintel.pipeline.result_keys import config_hash


def test_auto_is_the_cpu_without_a_gpu() -> None:
    import ctranslate2
    import onnxruntime
    import torch

    if ctranslate2.get_cuda_device_count() or torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert ctranslate2_device("auto") == torch_device("auto") == "cpu"
    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        assert onnx_providers("auto") == ["CPUExecutionProvider"]
        with pytest.raises(ConfigError, match="onnxruntime-gpu"):
            onnx_providers("cuda")
    assert ctranslate2_device("cuda") == "cuda"  # asked for: the library will say if not
    with pytest.raises(UnknownNameError):
        torch_device("tpu")


def test_compute_type_follows_the_device() -> None:
    assert compute_type_for("cpu") == "int8"
    assert compute_type_for("cuda") == "float16"
    assert compute_type_for("cuda", "int8_float16") == "int8_float16"


def test_where_an_analyzer_runs_is_not_part_of_its_result_key() -> None:
    base = config_hash(TranscriptConfig())
    assert config_hash(TranscriptConfig(device="cuda", cpu_threads=8)) == base
    assert config_hash(TranscriptConfig(beam_size=5)) != base
    assert config_hash(SpeakersConfig(device="cpu")) == config_hash(SpeakersConfig())


def test_a_cuda_config_asks_the_runner_for_a_gpu() -> None:
    assert Transcript.resources_for({"device": "cuda"}).gpu == 1.0
    assert Transcript.resources_for({"device": "auto"}).gpu == 0.0
    assert Speakers.resources_for({}).cpu == Speakers.resources.cpu
