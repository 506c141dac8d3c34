"""The one exception tree of cintel.

Every error cintel raises on purpose derives from :class:`CintelError`, and its
message says what failed, where, and what the user can do about it::

    CintelError
    ├── ConfigError              settings, pipeline files, unknown names
    │   ├── UnknownNameError     an analyzer, pipeline, runner or store nobody registered
    │   └── PipelineError        a cycle, a missing upstream, a bad TOML file
    ├── MissingDependencyError   an optional extra is not installed
    ├── StoreError               the store cannot be opened, migrated or written
    ├── AnalysisError            one (content, analyzer) failed; carries a category
    │   ├── BadInputError        the input is broken or unsupported ("bad_input")
    │   ├── TransientError       worth retrying: a timeout, a 503 ("transient")
    │   ├── NothingToAnalyzeError  nothing to read, e.g. no speech ("skipped", not a failure)
    │   └── InternalError        a bug in cintel or an analyzer ("internal")
    │       └── LLMOutputError   an LLM's answers never fit the output schema
    ├── ModelError               a model cannot be found, verified or loaded
    ├── BudgetExhaustedError     the run's LLM budget is spent (analyzers fall back)
    ├── NotFoundError            no such content, job, signal or webhook (for this tenant)
    └── RequestError             an API request cannot be served as asked
        ├── AuthenticationError  no API key, or one that is unknown or revoked (401)
        ├── PermissionDeniedError  the key lacks the scope the call needs (403)
        ├── RateLimitedError     the key made too many requests this minute (429)
        ├── PayloadTooLargeError an upload or text over the configured limit (413)
        ├── UnsupportedMediaError  an upload that is no kind of file cintel reads (415)
        ├── ConflictError        a save based on a stale version (409)
        └── InvalidAnswerError   an annotation that does not fit its project's schema (422)

Analysis errors are recorded per (content, analyzer) and never stop a batch;
the others stop the command that hit them with their message.
"""

from __future__ import annotations

from enum import StrEnum


class FailureCategory(StrEnum):
    """How a recorded failure should be handled by the user and the runner."""

    BAD_INPUT = "bad_input"
    TRANSIENT = "transient"
    INTERNAL = "internal"
    SKIPPED = "skipped"


class CintelError(Exception):
    """Base of every error cintel raises on purpose."""


class ConfigError(CintelError):
    """A setting, file or name the user gave cannot be used."""


class UnknownNameError(ConfigError):
    """A name was looked up in a registry that does not hold it."""

    def __init__(self, what: str, name: str, known: list[str] | tuple[str, ...]) -> None:
        self.what = what
        self.name = name
        self.known = sorted(known)
        listing = ", ".join(self.known) if self.known else "(none registered)"
        super().__init__(f"unknown {what} {name!r}; known {what}s: {listing}")


class PipelineError(ConfigError):
    """A pipeline definition is invalid (cycle, missing analyzer, bad TOML)."""


class MissingDependencyError(CintelError):
    """An optional dependency is needed for a feature and is not installed."""

    def __init__(self, feature: str, package: str, extra: str) -> None:
        self.extra = extra
        super().__init__(
            f"{feature} needs the {package!r} package, which is not installed. "
            f"Install it with: pip install 'cintel[{extra}]'"
        )


class StoreError(CintelError):
    """The store could not be opened, migrated, read or written."""


class ModelError(CintelError):
    """A model could not be located, verified or loaded."""


class AnalysisError(CintelError):
    """One analysis failed; the category decides retry and reporting."""

    category: FailureCategory = FailureCategory.INTERNAL

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class BadInputError(AnalysisError):
    """The input is broken or unsupported; the message says what to do."""

    category = FailureCategory.BAD_INPUT


class TransientError(AnalysisError):
    """A failure that may pass on retry (network, busy service)."""

    category = FailureCategory.TRANSIENT


class NothingToAnalyzeError(AnalysisError):
    """The content holds nothing this analyzer reads (a transcript of music has no words):
    not a failure; the analyzer and those that depend on it are skipped ("skipped")."""

    category = FailureCategory.SKIPPED


class InternalError(AnalysisError):
    """A bug: an analyzer raised something it did not mean to."""

    category = FailureCategory.INTERNAL


class BudgetExhaustedError(CintelError):
    """The run's LLM budget is spent; LLM-backed analyzers catch it and fall back."""


class LLMOutputError(InternalError):
    """An LLM's answers did not fit the requested schema after the allowed attempts."""


class NotFoundError(CintelError):
    """Nothing of that name exists, or it belongs to another tenant (never told apart)."""


class RequestError(CintelError):
    """An API request that cannot be served as asked; ``status`` is its HTTP status."""

    status = 400


class AuthenticationError(RequestError):
    """The request carries no API key, or one that is unknown or revoked."""

    status = 401


class PermissionDeniedError(RequestError):
    """The API key is valid but lacks the scope the call needs."""

    status = 403


class RateLimitedError(RequestError):
    """The API key spent its requests for this minute; ``retry_after_s`` says when to retry."""

    status = 429

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class PayloadTooLargeError(RequestError):
    """An upload, text or image over the configured limit."""

    status = 413


class UnsupportedMediaError(RequestError):
    """An upload that is not a kind of file cintel reads."""

    status = 415


class ConflictError(RequestError):
    """A save based on a version that someone (another tab, another session) replaced."""

    status = 409


class InvalidAnswerError(RequestError):
    """An annotation that does not fit its project's label schema or its task."""

    status = 422


def categorize(exc: BaseException) -> FailureCategory:
    """The failure category of any exception raised while analysing."""
    if isinstance(exc, AnalysisError):
        return exc.category
    if isinstance(exc, TimeoutError | ConnectionError):
        return FailureCategory.TRANSIENT
    return FailureCategory.INTERNAL
