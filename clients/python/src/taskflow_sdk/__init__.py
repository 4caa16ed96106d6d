"""TaskFlow's Python SDK: `TaskFlow` (sync) and `AsyncTaskFlow` over httpx, typed models of the
gateway's API (`taskflow_sdk.models`, generated), typed errors, cursor iterators, retries and a
live stream that resumes after drops."""

from taskflow_sdk.aclient import AsyncTaskFlow
from taskflow_sdk.auth import FileTokenStore, MemoryTokenStore, Tokens, TokenStore
from taskflow_sdk.client import TaskFlow
from taskflow_sdk.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    NotLoggedInError,
    PermissionDeniedError,
    PreconditionFailedError,
    RateLimitedError,
    RequestTimeoutError,
    ResyncRequiredError,
    ServerError,
    ServiceUnavailableError,
    TaskFlowError,
    TransportError,
    ValidationError,
)
from taskflow_sdk.live import AccessChanged, LiveFrame, NotificationReceived, Resync, TaskChanged
from taskflow_sdk.retry import NO_RETRIES, RetryPolicy
from taskflow_sdk.types import Page, Task

__all__ = [
    "NO_RETRIES",
    "APIError",
    "AccessChanged",
    "AsyncTaskFlow",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "FileTokenStore",
    "LiveFrame",
    "MemoryTokenStore",
    "NotFoundError",
    "NotLoggedInError",
    "NotificationReceived",
    "Page",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "RateLimitedError",
    "RequestTimeoutError",
    "Resync",
    "ResyncRequiredError",
    "RetryPolicy",
    "ServerError",
    "ServiceUnavailableError",
    "Task",
    "TaskChanged",
    "TaskFlow",
    "TaskFlowError",
    "TokenStore",
    "Tokens",
    "TransportError",
    "ValidationError",
]
