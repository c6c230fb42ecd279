"""What a failure leaves in the logs and in public events: its type and traceback, never its text.

An exception's text routinely quotes what was being handled (tool arguments,
a transcript, an address), so log lines carry the exception itself as
``exc_info`` and its type by name, and public events carry the type alone.
"""

from __future__ import annotations

import ast
import pathlib
from typing import TYPE_CHECKING

import structlog
from helpers import RecordingCommands, provider_stream, wait_until

import realtime_session
from realtime_session import RealtimeSession
from realtime_session import events as ev
from realtime_session._log import ModuleLogger
from realtime_session.providers import _fields

if TYPE_CHECKING:
    from realtime_session import transcript as tr

SECRET = "4111-1111-1111-1111"
_LEVELS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "msg"})


def _renders_with_repr(node: ast.AST) -> bool:
    return any(
        (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id == "repr")
        or (isinstance(sub, ast.FormattedValue) and sub.conversion == ord("r"))
        for sub in ast.walk(node)
    )


def test_no_log_call_renders_a_value_with_repr() -> None:
    package = pathlib.Path(realtime_session.__file__).parent
    offenders = [
        f"{path.relative_to(package)}:{node.lineno}"
        for path in sorted(package.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in _LEVELS
        and any(_renders_with_repr(arg) for arg in [*node.args, *node.keywords])
    ]
    assert offenders == []


def test_a_translator_defect_reports_its_type_and_logs_its_traceback() -> None:
    error = KeyError(SECRET)
    with structlog.testing.capture_logs() as logs:
        event = _fields.failure(error, "response.done", ModuleLogger(provider="openai"))
    assert event == ev.ProviderError(code="translator_error", message="response.done: KeyError")
    [entry] = [entry for entry in logs if entry["event"] == "translator_failed"]
    assert entry["exc_info"] is True
    assert SECRET not in repr(entry)


class FailingRestore(RecordingCommands):
    async def restore_conversation(self, messages: tuple[tr.Message, ...]) -> None:
        raise RuntimeError(f"could not send {SECRET}")


async def test_a_failed_restore_is_logged_by_type_with_its_traceback() -> None:
    send, receive = provider_stream()
    reconnected = ev.Reconnected(
        provider="openai",
        reason="connection_lost",
        gap_ms=10,
        attempts=1,
        restore_conversation=True,
    )
    with structlog.testing.capture_logs() as logs:
        async with RealtimeSession(receive, commands=FailingRestore()):
            await send.send(reconnected)
            await wait_until(lambda: any(e["event"] == "conversation_restore_failed" for e in logs))
            send.close()
    [entry] = [entry for entry in logs if entry["event"] == "conversation_restore_failed"]
    assert entry["error_type"] == "RuntimeError"
    assert isinstance(entry["exc_info"], RuntimeError)
    assert SECRET not in repr({k: v for k, v in entry.items() if k != "exc_info"})
