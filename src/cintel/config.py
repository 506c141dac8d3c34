"""Settings: defaults, then ``cintel.toml`` in the working folder, then ``CINTEL_*`` variables.

Command-line options override all three. Every limit that protects cintel from
hostile or accidental input (file size, duration, pixels, text length) lives here
so that it is explicit and documented in one table (see the README).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Limits(BaseSettings):
    """Bounds on input; anything over a bound is a ``bad_input`` failure."""

    model_config = SettingsConfigDict(env_prefix="CINTEL_LIMIT_", extra="ignore")

    max_file_bytes: int = Field(20 * 1024**3, description="largest file accepted, bytes")
    max_download_bytes: int = Field(4 * 1024**3, description="largest download, bytes")
    max_download_s: float = Field(
        900.0, gt=0, description="longest one download may take, redirects included, seconds"
    )
    max_duration_s: float = Field(48 * 3600.0, description="longest audio or video, seconds")
    max_image_pixels: int = Field(100_000_000, description="largest image, width x height")
    max_text_chars: int = Field(20_000_000, description="longest text document, characters")
    max_run_s: float | None = Field(
        None,
        gt=0,
        description="wall-clock limit of one run (a job's, in the service), seconds: past it "
        "no new analysis starts and what was not started fails as transient; downloads get "
        "what is left of it; none: no limit",
    )


class ModelPrice(BaseModel):
    """What an LLM charges, in US dollars per million tokens."""

    input_per_mtok: float = Field(0.0, ge=0)
    output_per_mtok: float = Field(0.0, ge=0)


class LLMSettings(BaseSettings):
    """The LLM that LLM-backed analyzers call; no ``url`` means none (they fall back)."""

    model_config = SettingsConfigDict(env_prefix="CINTEL_LLM_", extra="ignore")

    url: str | None = Field(
        None,
        description="OpenAI-compatible endpoint, e.g. openai+http://127.0.0.1:8080/v1 "
        "(vLLM, llama.cpp server, Ollama) or https://api.openai.com/v1; unset: no LLM",
    )
    model: str = Field("default", description="model name sent with each request")
    api_key_env: str = Field(
        "CINTEL_LLM_API_KEY", description="environment variable holding the API key, if any"
    )
    structured: str = Field(
        "json_schema",
        description="how JSON output is constrained: json_schema (OpenAI, vLLM, llama.cpp "
        "server), json_object (llama-cpp-python's server: json_object with a schema) or "
        "prompt (schema in the prompt only)",
    )
    timeout_s: float = Field(120.0, gt=0, description="timeout of one request, seconds")
    max_retries: int = Field(4, ge=0, description="retries on 429, 5xx, timeouts, refused")
    backoff_s: float = Field(1.0, ge=0, description="first retry delay; doubles, with jitter")
    concurrency: int = Field(4, ge=1, description="requests in flight per worker process")
    schema_retries: int = Field(
        2, ge=0, description="new attempts when an answer does not fit the output schema"
    )
    temperature: float = Field(0.0, ge=0, le=2)
    max_output_tokens: int = Field(512, ge=16, description="answer length cap per call")
    context_tokens: int = Field(
        4096, ge=512, description="the model's context window; inputs are chunked to fit"
    )
    prices: dict[str, ModelPrice] = Field(
        default_factory=dict, description="price per model name; unlisted models cost 0"
    )
    budget_usd: float | None = Field(
        None, ge=0, description="LLM spend allowed per run; then analyzers fall back"
    )

    @property
    def configured(self) -> bool:
        """Whether an LLM endpoint is set."""
        return bool(self.url)

    @property
    def identity(self) -> str:
        """What the result key records of the LLM: provider kind and model, or none."""
        if not self.url:
            return "llm:none"
        return f"llm:openai-compatible:{self.model}:{self.structured}"


class ComputePrices(BaseSettings):
    """What an hour of compute costs, so ``cintel stats`` and ``cintel plan --estimate``
    can put a price on CPU and GPU seconds next to the LLM tokens' (env
    ``CINTEL_COMPUTE_CPU_HOUR_USD``, ``CINTEL_COMPUTE_GPU_HOUR_USD``)."""

    model_config = SettingsConfigDict(env_prefix="CINTEL_COMPUTE_", extra="ignore")

    cpu_hour_usd: float = Field(
        0.0, ge=0, description="price of one CPU core for an hour (a cloud vCPU: about 0.02-0.05)"
    )
    gpu_hour_usd: float = Field(0.0, ge=0, description="price of one GPU for an hour")

    def of(self, cpu_s: float, gpu_s: float) -> float:
        """The price of ``cpu_s`` CPU seconds and ``gpu_s`` GPU seconds."""
        return cpu_s / 3600 * self.cpu_hour_usd + gpu_s / 3600 * self.gpu_hour_usd


class ServerSettings(BaseSettings):
    """``cintel serve``: where it listens and what it accepts."""

    model_config = SettingsConfigDict(env_prefix="CINTEL_SERVER_", extra="ignore")

    host: str = Field("127.0.0.1", description="address to listen on")
    port: int = Field(8000, ge=0, le=65535, description="port to listen on")
    max_upload_bytes: int = Field(2 * 1024**3, ge=1, description="largest upload, bytes")
    upload_kinds: list[str] = Field(
        default_factory=lambda: ["audio", "video", "image", "text"],
        description="content kinds an upload may be (detected from its bytes)",
    )
    path_roots: list[Path] = Field(
        default_factory=list,
        description="folders whose files may be submitted by server-side path; none: no paths",
    )
    rate_per_min: int = Field(
        1200, ge=1, description="requests a minute per API key, unless the key sets its own"
    )
    rate_limit_url: str | None = Field(
        None,
        description="Redis that every server spends rate limits from, e.g. "
        "redis://127.0.0.1:6379/0; none: each server process limits on its own",
    )
    workers: int = Field(
        1, ge=0, description="job workers inside the server process; 0: only `cintel worker`s"
    )
    analyze_max_chars: int = Field(
        100_000, ge=1, description="longest text POST /v1/analyze accepts, characters"
    )
    analyze_max_bytes: int = Field(
        20 * 1024**2, ge=1, description="largest image POST /v1/analyze accepts, bytes"
    )
    job_lease_s: float = Field(
        300.0, gt=0, description="how long a claimed job stays claimed without a heartbeat"
    )
    job_max_attempts: int = Field(3, ge=1, description="claims of a job before it is failed")
    job_max_s: float = Field(
        3600.0,
        gt=0,
        description="wall-clock limit of one job, its download included (the run's "
        "max_run_s); one slow origin holds a job thread at most this long",
    )


class EventSettings(BaseSettings):
    """Where completion events go: a NATS JetStream subject and tenants' webhooks."""

    model_config = SettingsConfigDict(env_prefix="CINTEL_EVENTS_", extra="ignore")

    nats_url: str | None = Field(
        None, description="NATS server for signals.ready events, e.g. nats://127.0.0.1:4222"
    )
    stream: str = Field("CINTEL", description="JetStream stream holding cintel's subjects")
    ready_subject: str = Field(
        "signals.ready", description="subject of signals.ready events (a job finished)"
    )
    failed_subject: str = Field(
        "job.failed", description="subject of job.failed events (a job could not be done)"
    )
    stream_max_age_s: float = Field(
        7 * 86400.0,
        ge=0,
        description="how long streams cintel creates keep messages, seconds; 0: forever",
    )
    webhook_timeout_s: float = Field(10.0, gt=0, description="timeout of one webhook POST")
    webhook_max_attempts: int = Field(8, ge=1, description="attempts before a delivery fails")
    webhook_backoff_s: float = Field(
        2.0, ge=0, description="delay before the second attempt; doubles each time"
    )


class SearchSettings(BaseSettings):
    """The search indexes: the vector index file and how results are fused."""

    model_config = SettingsConfigDict(env_prefix="CINTEL_SEARCH_", extra="ignore")

    index_dir: Path | None = Field(
        None, description="folder of the vector index; default <data_dir>/search"
    )
    connectivity: int = Field(16, ge=4, le=64, description="HNSW links per node (M)")
    expansion_add: int = Field(128, ge=8, description="HNSW candidate list when adding")
    expansion_search: int = Field(64, ge=8, description="HNSW candidate list when searching")
    dtype: Literal["f32", "f16", "i8"] = Field(
        "i8",
        description="how vectors are kept in the index: i8 is 4x smaller and about 3x faster "
        "to build than f32, with the same recall on unit-length sentence vectors",
    )
    rrf_k: int = Field(60, ge=1, description="reciprocal rank fusion constant")
    min_similarity: float = Field(
        0.1,
        ge=-1,
        le=1,
        description="vector hits less similar to the query than this (cosine) are dropped: "
        "unrelated passages score about 0 with the default model",
    )
    candidates: int = Field(
        100, ge=10, description="hits taken from each of lexical and vector before fusing"
    )
    rank_window: int = Field(
        5_000,
        ge=100,
        description="most matching blocks ranked per lexical search: of words found in more "
        "blocks, the newest matches are ranked (keeps common words fast)",
    )


class Settings(BaseSettings):
    """Everything cintel can be configured with."""

    model_config = SettingsConfigDict(
        env_prefix="CINTEL_", env_nested_delimiter="__", extra="ignore", toml_file="cintel.toml"
    )

    data_dir: Path = Field(
        Path(".cintel"), description="where the default store and artifacts live"
    )
    store: str | None = Field(None, description="store URL; default sqlite:///<data_dir>/cintel.db")
    artifacts: str | None = Field(None, description="artifact folder or fsspec URL")
    runner: str = Field("local", description="local or ray")
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        description="worker processes; default: cores",
    )
    ray_address: str | None = Field(None, description="Ray cluster address; default starts one")
    lease_ttl_s: float = Field(600.0, gt=0, description="how long a claimed result stays claimed")
    transient_retries: int = Field(3, ge=0, description="retries of transient failures")
    retry_backoff_s: float = Field(0.5, ge=0, description="first retry delay; doubles each time")
    http_timeout_s: float = Field(30.0, gt=0, description="timeout of one HTTP request, seconds")
    url_allow: list[str] = Field(
        default_factory=list,
        description="hosts or CIDR ranges URL intake may reach although they are private",
    )
    limits: Limits = Field(default_factory=Limits)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    compute: ComputePrices = Field(default_factory=ComputePrices)
    server: ServerSettings = Field(default_factory=ServerSettings)
    events: EventSettings = Field(default_factory=EventSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def store_url(self) -> str:
        """The store URL in effect."""
        return self.store or f"sqlite:///{self.data_dir / 'cintel.db'}"

    @property
    def artifacts_url(self) -> str:
        """The artifact location in effect."""
        return self.artifacts or str((self.data_dir / "artifacts").resolve())

    @property
    def search_dir(self) -> Path:
        """Where the vector index lives."""
        return self.search.index_dir or self.data_dir / "search"

    @property
    def blobs_dir(self) -> Path:
        """Where downloaded originals are kept, by SHA-256."""
        return self.data_dir / "blobs"
