"""``LLMSession``: structured, cached, budgeted, measured LLM calls for one analysis.

An analyzer asks for an answer that fits a pydantic model; the session sends
the model's JSON schema the way the provider constrains output, validates
the answer, asks again with the validation error a bounded number of times,
and otherwise raises ``LLMOutputError``. Answers are cached by provider, model,
prompt hash, messages and parameters. Every call is one ledger entry (tokens
from the response's usage, cost from the price table); the run's budget is
checked before each call and ``BudgetExhaustedError`` tells the analyzer to
fall back. Inputs longer than the context window are split into token-sized
chunks and summarised map-reduce style, level by level, never truncated.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from cintel.artifacts import Artifacts
from cintel.config import LLMSettings
from cintel.digests import canonical_json, sha256_text
from cintel.errors import BudgetExhaustedError, LLMOutputError
from cintel.llm.prompts import Prompt
from cintel.llm.provider import ChatRequest, ChatResponse, LLMProvider
from cintel.model import LLMCall

T = TypeVar("T", bound=BaseModel)

CHARS_PER_TOKEN = 3.2
"""A cautious estimate of characters per token for chunking (English BPE averages ~4)."""

CACHE_NAMESPACE = "llm-cache"
_JSON_OBJECT = re.compile(r"\{.*\}", re.S)


def estimate_tokens(text: str) -> int:
    """Tokens ``text`` takes, estimated on the high side (chunks must fit the window)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


class Budget:
    """Money a worker may still spend on LLM calls in this run (thread-safe)."""

    def __init__(self, limit_usd: float | None) -> None:
        self.limit_usd = limit_usd
        self.spent_usd = 0.0
        self._lock = threading.Lock()

    def check(self) -> None:
        """Raise ``BudgetExhaustedError`` once the limit is reached."""
        if self.limit_usd is not None and self.spent_usd >= self.limit_usd:
            raise BudgetExhaustedError(
                f"the LLM budget of ${self.limit_usd:.4f} for this run is spent"
            )

    def charge(self, usd: float) -> None:
        """Count money spent."""
        with self._lock:
            self.spent_usd += usd


_slots: dict[int, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def _slot(concurrency: int) -> threading.BoundedSemaphore:
    """The process-wide limit on requests in flight."""
    with _slots_lock:
        if concurrency not in _slots:
            _slots[concurrency] = threading.BoundedSemaphore(concurrency)
        return _slots[concurrency]


def parse_json_answer(text: str) -> object:
    """The JSON object in an answer, tolerating code fences and text around it."""
    stripped = text.strip()
    try:
        return json.loads(stripped)
    except ValueError:
        match = _JSON_OBJECT.search(stripped)
        if match is None:
            raise ValueError("the answer holds no JSON object") from None
        return json.loads(match.group())


@dataclass
class LLMSession:
    """LLM access for one analysis: calls, cache, ledger and budget."""

    settings: LLMSettings
    provider: LLMProvider
    budget: Budget = field(default_factory=lambda: Budget(None))
    cache: Artifacts | None = None
    calls: list[LLMCall] = field(default_factory=list)

    @property
    def tokens_in(self) -> int:
        """Prompt tokens over this session's calls."""
        return sum(c.tokens_in for c in self.calls)

    @property
    def tokens_out(self) -> int:
        """Completion tokens over this session's calls."""
        return sum(c.tokens_out for c in self.calls)

    @property
    def cost_usd(self) -> float:
        """Money spent by this session."""
        return round(sum(c.cost_usd for c in self.calls), 8)

    @property
    def input_tokens(self) -> int:
        """How many tokens of document text fit one request, leaving room for the answer."""
        return max(256, self.settings.context_tokens - self.settings.max_output_tokens - 256)

    def price(self, response: ChatResponse) -> float:
        """The cost of one response by the price table (unlisted models are free)."""
        price = self.settings.prices.get(self.provider.model) or self.settings.prices.get(
            response.model
        )
        if price is None:
            return 0.0
        return (
            response.tokens_in * price.input_per_mtok + response.tokens_out * price.output_per_mtok
        ) / 1e6

    def _cache_key(self, prompt: Prompt, request: ChatRequest) -> str:
        return sha256_text(
            canonical_json(
                {
                    "provider": self.provider.name,
                    "model": self.provider.model,
                    "prompt": prompt.digest,
                    "messages": request.messages,
                    "schema": request.schema,
                    "temperature": request.temperature,
                    "max_tokens": request.max_tokens,
                    "seed": request.seed,
                }
            )
        )

    def generate(self, prompt: Prompt, output: type[T], **variables: object) -> T:
        """An answer to ``prompt`` that validates as ``output``."""
        request = ChatRequest(
            messages=prompt.messages(**variables),
            schema=output.model_json_schema(),
            schema_name=output.__name__,
            temperature=self.settings.temperature,
            max_tokens=self.settings.max_output_tokens,
        )
        key = self._cache_key(prompt, request)
        if self.cache is not None and (hit := self.cache.get_named(CACHE_NAMESPACE, key)):
            try:
                value = output.model_validate_json(hit)
            except ValidationError:
                pass
            else:
                self._record(prompt, None, cached=True)
                return value
        problems: list[str] = []
        for attempt in range(self.settings.schema_retries + 1):
            self.budget.check()
            with _slot(self.settings.concurrency):
                response = self.provider.complete(request)
            try:
                value = output.model_validate(parse_json_answer(response.text))
            except (ValueError, ValidationError) as exc:
                problem = str(exc).splitlines()[0][:300]
                if response.finish_reason == "length":
                    problem = (
                        f"the answer was cut off at {request.max_tokens} tokens "
                        "(CINTEL_LLM_MAX_OUTPUT_TOKENS)"
                    )
                problems.append(f"attempt {attempt + 1}: {problem}")
                self._record(prompt, response, status="invalid")
                request = ChatRequest(
                    messages=(
                        *request.messages,
                        ("assistant", response.text[:2000]),
                        (
                            "user",
                            f"That answer is not valid ({problem}). Answer again with only "
                            "a JSON object that fits the schema.",
                        ),
                    ),
                    schema=request.schema,
                    schema_name=request.schema_name,
                    temperature=request.temperature,
                    max_tokens=request.max_tokens,
                )
                continue
            self._record(prompt, response)
            if self.cache is not None:
                self.cache.put_named(CACHE_NAMESPACE, key, value.model_dump_json().encode())
            return value
        raise LLMOutputError(
            f"the LLM ({self.provider.model}) gave no answer fitting {output.__name__} for prompt "
            f"{prompt.name!r} in {len(problems)} attempts ({'; '.join(problems)}); use a "
            "stronger model or a structured output mode the server supports (CINTEL_LLM_STRUCTURED)"
        )

    def _record(
        self,
        prompt: Prompt,
        response: ChatResponse | None,
        cached: bool = False,
        status: str = "ok",
    ) -> None:
        cost = self.price(response) if response is not None else 0.0
        if response is not None:
            self.budget.charge(cost)
        self.calls.append(
            LLMCall(
                prompt=prompt.name,
                prompt_hash=prompt.digest,
                provider=self.provider.name,
                model=response.model if response else self.provider.model,
                tokens_in=response.tokens_in if response else 0,
                tokens_out=response.tokens_out if response else 0,
                cost_usd=round(cost, 8),
                cached=cached,
                latency_s=round(response.latency_s, 4) if response else 0.0,
                status=status,
            )
        )

    def chunks(self, text: str, max_tokens: int | None = None) -> list[str]:
        """``text`` in pieces of at most ``max_tokens`` (estimated), cut at sentence or line
        ends where there is one."""
        limit = int((max_tokens or self.input_tokens) * CHARS_PER_TOKEN)
        pieces: list[str] = []
        rest = text.strip()
        while len(rest) > limit:
            window = rest[:limit]
            cut = max(
                window.rfind(". "), window.rfind("\n"), window.rfind("? "), window.rfind("! ")
            )
            if cut < limit // 2:
                cut = window.rfind(" ")
            if cut <= 0:
                cut = limit - 1
            pieces.append(rest[: cut + 1].strip())
            rest = rest[cut + 1 :].strip()
        if rest:
            pieces.append(rest)
        return pieces

    def map_reduce(
        self,
        text: str,
        map_prompt: Prompt,
        map_output: type[BaseModel],
        render: Callable[[BaseModel], str],
        reduce_prompt: Prompt,
        output: type[T],
        **variables: object,
    ) -> T:
        """Reduce ``text`` of any length to one ``output``: chunks are mapped to notes (in
        parallel, up to ``concurrency``), notes are joined and, while still too long for one
        request, mapped again; the final notes go to ``reduce_prompt``."""
        level = text
        while estimate_tokens(level) > self.input_tokens:
            pieces = self.chunks(level)
            notes = self._map(pieces, map_prompt, map_output, **variables)
            shorter = "\n\n".join(render(note) for note in notes)
            if len(shorter) >= len(level):
                raise LLMOutputError(
                    f"the LLM's notes ({len(shorter):,} characters) are no shorter than their "
                    f"input ({len(level):,}); prompt {map_prompt.name!r} does not condense"
                )
            level = shorter
        return self.generate(reduce_prompt, output, text=level, **variables)

    def _map(
        self,
        pieces: Sequence[str],
        prompt: Prompt,
        output: type[BaseModel],
        **variables: object,
    ) -> list[BaseModel]:
        def one(index: int) -> BaseModel:
            return self.generate(
                prompt, output, text=pieces[index], part=index + 1, parts=len(pieces), **variables
            )

        workers = min(self.settings.concurrency, len(pieces))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(one, range(len(pieces))))
