"""The one door from the newsletter app to the sending app: test sends.

The preview page sends tests through the sending pipeline's own message code, yet newsletter
may not import worker (worker depends on newsletter; import-linter enforces it). So the sending
app registers its test sender here when it is ready, and newsletter calls whatever was
registered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from .models import Issue


@dataclass(frozen=True)
class TestSendResult:
    email: str
    ok: bool
    reply: str


class TestSender(Protocol):
    def __call__(
        self, *, issue: Issue, emails: Iterable[str], actor: Any = None
    ) -> list[TestSendResult]: ...


_sender: TestSender | None = None


def test_sender_register(sender: TestSender) -> None:
    global _sender
    _sender = sender


def test_sender() -> TestSender:
    if _sender is None:
        raise ImproperlyConfigured("No sending app has registered a test sender.")
    return _sender
