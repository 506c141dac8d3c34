"""LLM providers: one protocol, and the OpenAI-compatible HTTP client that implements it.

The client retries 429, 5xx, timeouts and refused connections with
exponential backoff and full jitter (honouring ``Retry-After``), asks for
schema-constrained JSON the way the server understands it, and reads token
usage from every response.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from cintel.config import LLMSettings
from cintel.errors import ConfigError, TransientError, UnknownNameError

SCHEMES = ("openai+http", "openai+https", "http", "https")
STRUCTURED_MODES = ("json_schema", "json_object", "prompt")


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion request."""

    messages: tuple[tuple[str, str], ...]
    schema: dict[str, Any] | None = None
    schema_name: str = "output"
    temperature: float = 0.0
    max_tokens: int = 512
    seed: int | None = 0


@dataclass(frozen=True)
class ChatResponse:
    """The answer text and what it cost in tokens."""

    text: str
    tokens_in: int
    tokens_out: int
    model: str
    finish_reason: str | None = None
    latency_s: float = 0.0
    attempts: int = 1


class LLMProvider(Protocol):
    """Anything that answers chat requests (the seam tests and other providers use)."""

    name: str
    model: str

    def complete(self, request: ChatRequest) -> ChatResponse:
        """Answer one request; raise ``TransientError`` when the service stays unavailable."""
        ...


@dataclass
class OpenAICompatible:
    """A client of the OpenAI chat completions API (``POST {base}/chat/completions``)."""

    base_url: str
    model: str
    api_key: str | None = None
    structured: str = "json_schema"
    timeout_s: float = 120.0
    max_retries: int = 4
    backoff_s: float = 1.0
    name: str = "openai-compatible"
    sleep: Any = field(default=time.sleep, repr=False)

    def __post_init__(self) -> None:
        if self.structured not in STRUCTURED_MODES:
            raise UnknownNameError("structured output mode", self.structured, STRUCTURED_MODES)
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        self._client = httpx.Client(
            base_url=self.base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(self.timeout_s, connect=min(10.0, self.timeout_s)),
        )

    def _body(self, request: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": r, "content": c} for r, c in request.messages],
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        if request.schema is not None:
            if self.structured == "json_schema":
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": request.schema_name,
                        "schema": request.schema,
                        "strict": True,
                    },
                }
            elif self.structured == "json_object":
                body["response_format"] = {"type": "json_object", "schema": request.schema}
        return body

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None and (after := response.headers.get("retry-after")):
            try:
                return min(60.0, float(after))
            except ValueError:
                pass
        return random.uniform(0, self.backoff_s * 2**attempt)

    def complete(self, request: ChatRequest) -> ChatResponse:
        body = self._body(request)
        problem = ""
        for attempt in range(self.max_retries + 1):
            response: httpx.Response | None = None
            started = time.perf_counter()
            try:
                response = self._client.post("/chat/completions", json=body)
            except httpx.TimeoutException:
                problem = f"timed out after {self.timeout_s:g} s"
            except httpx.TransportError as exc:
                problem = f"could not connect ({type(exc).__name__}: {exc})"
            else:
                if response.status_code == 429 or response.status_code >= 500:
                    problem = f"answered HTTP {response.status_code}: {response.text[:200]}"
                elif response.status_code >= 400:
                    raise ConfigError(
                        f"LLM endpoint {self.base_url} refused the request with HTTP "
                        f"{response.status_code}: {response.text[:300]}; check the model name, "
                        "API key and structured output mode (CINTEL_LLM_STRUCTURED)"
                    )
                else:
                    return self._parse(response, time.perf_counter() - started, attempt + 1)
            if attempt < self.max_retries:
                self.sleep(self._delay(attempt, response))
        raise TransientError(
            f"LLM endpoint {self.base_url} {problem}, {self.max_retries + 1} attempts; "
            "check that the server is up (CINTEL_LLM_URL)"
        )

    def _parse(self, response: httpx.Response, latency: float, attempts: int) -> ChatResponse:
        try:
            data = response.json()
            choice = data["choices"][0]
            text = choice["message"].get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise TransientError(
                f"LLM endpoint {self.base_url} sent a response that is not a chat completion "
                f"({type(exc).__name__}): {response.text[:200]}"
            ) from exc
        usage = data.get("usage") or {}
        return ChatResponse(
            text=text,
            tokens_in=int(usage.get("prompt_tokens") or 0),
            tokens_out=int(usage.get("completion_tokens") or 0),
            model=str(data.get("model") or self.model),
            finish_reason=choice.get("finish_reason"),
            latency_s=latency,
            attempts=attempts,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


def make_provider(settings: LLMSettings) -> LLMProvider:
    """The provider a settings URL names (``openai+http://host:port/v1``, ``https://…``)."""
    if not settings.url:
        raise ConfigError("no LLM is configured; set CINTEL_LLM_URL (and CINTEL_LLM_MODEL)")
    scheme, sep, rest = settings.url.partition("://")
    if not sep or scheme not in SCHEMES:
        raise UnknownNameError("LLM provider URL scheme", scheme, SCHEMES)
    base = f"{scheme.removeprefix('openai+')}://{rest}"
    return OpenAICompatible(
        base_url=base,
        model=settings.model,
        api_key=os.environ.get(settings.api_key_env) or None,
        structured=settings.structured,
        timeout_s=settings.timeout_s,
        max_retries=settings.max_retries,
        backoff_s=settings.backoff_s,
    )
