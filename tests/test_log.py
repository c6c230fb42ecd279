"""Where the library's log lines go, depending on what the application configured."""

from __future__ import annotations

import io
import json
import logging

import anyio
import anyio.abc
import anyio.lowlevel
import pytest
import structlog
from helpers import replay

from realtime_session import RealtimeSession, SessionFailed
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


class FailingStream(anyio.abc.ObjectReceiveStream[ev.RealtimeSessionEvent]):
    """A provider stream that breaks on its first receive."""

    async def receive(self) -> ev.RealtimeSessionEvent:
        await anyio.lowlevel.checkpoint()
        raise ConnectionResetError("peer went away")

    async def aclose(self) -> None:
        pass


async def run_failing_session() -> RealtimeSession:
    async with RealtimeSession(FailingStream()) as session:
        with anyio.fail_after(5), pytest.raises(SessionFailed):
            await session.wait_closed()
    return session


async def test_stdlib_records_keep_the_traceback(caplog: pytest.LogCaptureFixture) -> None:
    structlog.reset_defaults()
    with caplog.at_level(logging.ERROR, logger=LOGGER_NAME):
        await run_failing_session()
    [record] = [r for r in caplog.records if "provider_stream_failed" in r.getMessage()]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ConnectionResetError)
    text = logging.Formatter().format(record)
    assert "Traceback (most recent call last)" in text
    assert "ConnectionResetError: peer went away" in text


async def test_a_processor_formatter_gets_the_event_dict_not_a_rendered_string() -> None:
    # An application that renders stdlib logging with structlog's ProcessorFormatter
    # (JSON here) gets the library's events as structured as its own.
    structlog.reset_defaults()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.dict_tracebacks,
                structlog.processors.JSONRenderer(),
            ]
        )
    )
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        session = await run_failing_session()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    [closed] = [line for line in lines if line["event"] == "session_closed"]
    assert closed["session_id"] == session.session_id
    assert closed["reason"] == "failed"
    [failed] = [line for line in lines if line["event"] == "provider_stream_failed"]
    assert failed["exception"][0]["exc_type"] == "ConnectionResetError"
