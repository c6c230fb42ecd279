"""Remote subscribers across processes: a worker process publishes a scripted call to a
real redis-server; readers run in other processes and in the test process."""

from __future__ import annotations

import signal
import subprocess
import sys
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.abc
import pytest
from remote_call import call, control_only, is_media, oracle, timing_aside

from realtime_session import SubscriberLagged, codec, public
from realtime_session.remote import PublisherLost, RedisLog, RemoteSubscription, subscribe

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from redis_server import RedisServer

WORKER = str(Path(__file__).resolve().parent / "remote_call.py")

pytestmark = pytest.mark.timeout(60)


class Lines:
    """Line-by-line reading of a child's stdout."""

    def __init__(self, process: anyio.abc.Process) -> None:
        assert process.stdout is not None
        self._stream = process.stdout
        self._buffer = b""

    async def next(self) -> str:
        while b"\n" not in self._buffer:
            try:
                self._buffer += await self._stream.receive()
            except anyio.EndOfStream:
                if self._buffer:
                    line, self._buffer = self._buffer, b""
                    return line.decode()
                raise
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    async def all(self) -> list[str]:
        lines = []
        while True:
            try:
                lines.append(await self.next())
            except anyio.EndOfStream:
                return lines


@asynccontextmanager
async def worker(
    url: str, backend: str, *options: str
) -> AsyncIterator[tuple[anyio.abc.Process, Lines, str]]:
    """A publisher process; yields it, its output and its session id, and kills it after."""
    process = await anyio.open_process(
        [sys.executable, WORKER, url, "--backend", backend, *options],
        stderr=subprocess.DEVNULL,
    )
    try:
        lines = Lines(process)
        with anyio.fail_after(20):
            first = await lines.next()
        assert first.startswith("SESSION "), first
        yield process, lines, first.split()[1]
    finally:
        if process.returncode is None:
            process.kill()
        with anyio.CancelScope(shield=True):
            await process.wait()
        await process.aclose()


def backend_name(anyio_backend: tuple[str, object]) -> str:
    return anyio_backend[0]


async def drain(
    subscription: RemoteSubscription, *, media_delay_s: float = 0.0, delay_s: float = 0.0
) -> tuple[list[public.RealtimeEvent], BaseException | None]:
    events: list[public.RealtimeEvent] = []
    try:
        async with subscription:
            async for event in subscription:
                events.append(event)
                if media_delay_s and is_media(event):
                    await anyio.sleep(media_delay_s)
                if delay_s:
                    await anyio.sleep(delay_s)
    except (SubscriberLagged, PublisherLost) as error:
        return events, error
    return events, None


def assert_media_honest(
    events: list[public.RealtimeEvent], subscription: RemoteSubscription
) -> None:
    delivered = sum(is_media(e) for e in events)
    markers = [e for e in events if isinstance(e, public.MediaDropped)]
    assert sum(m.dropped for m in markers) == subscription.dropped_media
    published = subscription.position.media
    assert delivered + subscription.dropped_media + subscription.flushed_media == published
    chunk_ms = 20.0
    assert sum(m.dropped_ms for m in markers) == pytest.approx(
        subscription.dropped_media * chunk_ms
    )


async def test_a_reader_process_gets_every_event_of_a_live_call(
    redis_server: RedisServer, anyio_backend: tuple[str, object]
) -> None:
    backend = backend_name(anyio_backend)
    expected = control_only(await oracle(call(3, 20)))
    async with worker(redis_server.url, backend, "--pace", "0.01", "--hold", "0.3") as (
        _,
        output,
        session_id,
    ):
        reader = await anyio.open_process(
            [sys.executable, WORKER, redis_server.url, "--read", session_id, "--backend", backend],
            stderr=subprocess.DEVNULL,
        )
        async with reader:
            with anyio.fail_after(30):
                lines = await Lines(reader).all()
                await reader.wait()
        with anyio.fail_after(30):
            assert (await output.next()).startswith("DONE")
    received = [codec.from_json(line, type=public.RealtimeEvent) for line in lines]
    assert control_only(received) == expected
    assert isinstance(received[-1], public.SessionClosed)
    assert not any(isinstance(e, public.MediaDropped) for e in received)


async def test_a_slow_media_reader_sees_honest_drop_markers(
    redis_server: RedisServer, anyio_backend: tuple[str, object]
) -> None:
    expected = control_only(await oracle(call(3, 40, barge_in=False)))
    async with (
        RedisLog(redis_server.url) as log,
        worker(
            redis_server.url,
            backend_name(anyio_backend),
            "--chunks",
            "40",
            "--no-barge-in",
            "--pace",
            "0.005",
            "--hold",
            "0.3",
        ) as (_, _, session_id),
    ):
        subscription = subscribe(log, session_id, media_buffer=4)
        with anyio.fail_after(30):
            events, error = await drain(subscription, media_delay_s=0.02)
    assert error is None
    assert control_only(events) == expected
    assert subscription.dropped_media > 0
    assert_media_honest(events, subscription)


async def test_a_late_reader_from_the_beginning_gets_the_whole_call(
    redis_server: RedisServer, anyio_backend: tuple[str, object]
) -> None:
    script = call(3, 20, barge_in=False)
    local = await oracle(script)
    async with worker(redis_server.url, backend_name(anyio_backend), "--no-barge-in") as (
        _,
        output,
        session_id,
    ):
        with anyio.fail_after(30):
            assert (await output.next()).startswith("DONE")
    async with RedisLog(redis_server.url) as log:
        subscription = subscribe(log, session_id, start="beginning", media_buffer=1000)
        with anyio.fail_after(30):
            events, error = await drain(subscription)
    assert error is None
    assert timing_aside(events) == timing_aside(local)


async def test_a_reader_past_its_max_pending_fails_with_subscriber_lagged(
    redis_server: RedisServer, anyio_backend: tuple[str, object]
) -> None:
    async with (
        RedisLog(redis_server.url) as log,
        worker(
            redis_server.url, backend_name(anyio_backend), "--pace", "0.002", "--hold", "0.3"
        ) as (_, _, session_id),
    ):
        subscription = subscribe(log, session_id, max_pending=5, media=False)
        with anyio.fail_after(30):
            events, error = await drain(subscription, delay_s=0.05)
    assert isinstance(error, SubscriberLagged)
    assert error.max_pending == 5 and error.pending > 5
    assert not isinstance(events[-1:], public.SessionClosed)


async def test_readers_learn_of_a_killed_publisher_within_the_heartbeat_bound(
    redis_server: RedisServer, anyio_backend: tuple[str, object]
) -> None:
    heartbeat_s = 0.2  # the worker's heartbeat lapses 0.6 s after its last renewal
    async with (
        RedisLog(redis_server.url) as log,
        worker(
            redis_server.url,
            backend_name(anyio_backend),
            "--turns",
            "5",
            "--chunks",
            "200",
            "--pace",
            "0.02",
            "--heartbeat",
            str(heartbeat_s),
        ) as (publisher, _, session_id),
    ):
        subscription = subscribe(log, session_id, media=False)
        async with subscription:
            with anyio.fail_after(10):
                while subscription.position.control < 20:
                    await subscription.receive()
            publisher.send_signal(signal.SIGKILL)
            killed = anyio.current_time()
            with pytest.raises(PublisherLost, match="heartbeat"), anyio.fail_after(10):
                while True:
                    await subscription.receive()
            noticed = anyio.current_time() - killed
    assert noticed < 3 * heartbeat_s + heartbeat_s + 1.0


async def log_ahead_of(log: RedisLog, subscription: RemoteSubscription) -> bool:
    """Whether the reader delivered something and the log holds control events it has not
    read yet."""
    newest, _ = await log.last(subscription.session_id)
    stats = subscription.statistics()
    read = stats.position.control + stats.pending_control
    return stats.delivered > 0 and newest is not None and newest.control > read


async def test_a_redis_restart_mid_call_is_reported_as_a_gap_never_a_silent_loss(
    redis_server: RedisServer, anyio_backend: tuple[str, object]
) -> None:
    expected = control_only(await oracle(call(3, 60, barge_in=False)))
    async with worker(
        redis_server.url,
        backend_name(anyio_backend),
        "--chunks",
        "60",
        "--no-barge-in",
        "--pace",
        "0.01",
        "--heartbeat",
        "0.2",
        "--hold",
        "0.3",
    ) as (_, output, session_id):
        async with RedisLog(redis_server.url) as log, anyio.create_task_group() as task_group:
            subscription = subscribe(
                log, session_id, start="beginning", media=False, reconnect_timeout_s=10
            )
            result: list[tuple[list[public.RealtimeEvent], BaseException | None]] = []

            async def read() -> None:
                # Slower than the call: the log gets ahead of what it has read.
                result.append(await drain(subscription, delay_s=0.03))

            task_group.start_soon(read)
            with anyio.fail_after(20):
                # Another process's state: there is no event to wait on.
                while not await log_ahead_of(log, subscription):  # noqa: ASYNC110
                    await anyio.sleep(0.01)
            # Synchronous: the reader cannot read what the restart loses meanwhile.
            redis_server.restart()
        with anyio.fail_after(30):
            done = await output.next()
    # The call itself went on: the worker finished it and closed normally.
    assert done.startswith("DONE")
    events, error = result[0]
    assert isinstance(error, SubscriberLagged)
    assert "missing from the log" in str(error)
    # Everything delivered is exactly the call's beginning: nothing skipped silently.
    assert timing_aside(events) == expected[: len(events)]
    assert 0 < len(events) < len(expected)
