"""Where the library's log lines go, depending on what the application configured."""

from __future__ import annotations

import logging

import pytest
import structlog
from helpers import replay

from realtime_session import events as ev
from realtime_session._log import LOGGER_NAME, ModuleLogger

pytestmark = pytest.mark.anyio


async def test_unconfigured_structlog_routes_to_stdlib_logging(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    structlog.reset_defaults()
    with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
        session, _ = await replay([ev.TurnStarted()])
    assert capsys.readouterr().out == ""  # never the application's stdout
    assert not structlog.is_configured()  # and the library configured nothing
    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER_NAME]
    assert any(
        m.startswith("event='session_closed'") and f"session_id='{session.session_id}'" in m
        for m in messages
    )


async def test_stdlib_default_level_keeps_info_quiet(caplog: pytest.LogCaptureFixture) -> None:
    structlog.reset_defaults()
    with caplog.at_level(logging.WARNING, logger=LOGGER_NAME):
        await replay([ev.TurnStarted()])
    assert [r for r in caplog.records if r.name == LOGGER_NAME] == []


async def test_configured_structlog_receives_the_events() -> None:
    with structlog.testing.capture_logs() as logs:
        session, _ = await replay([ev.TurnStarted()])
    assert {"event": "session_closed", "session_id": session.session_id}.items() <= logs[-1].items()


def test_module_logger_decides_at_each_call(caplog: pytest.LogCaptureFixture) -> None:
    log = ModuleLogger(provider="test")
    with structlog.testing.capture_logs() as logs:
        log.warning("configured_line", n=1)
    assert logs == [
        {"event": "configured_line", "n": 1, "provider": "test", "log_level": "warning"}
    ]
    structlog.reset_defaults()
    with caplog.at_level(logging.WARNING, logger=LOGGER_NAME):
        log.warning("stdlib_line", n=2)
    assert [r.getMessage() for r in caplog.records] == ["event='stdlib_line' n=2 provider='test'"]
