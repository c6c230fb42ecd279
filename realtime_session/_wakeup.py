"""The running event loop's own primitives, found once: a reusable wake-up and a checkpoint.

A subscription's readers wait for the session to queue something. A fresh
``anyio.Event`` per wait costs a backend look-up and two objects per event on
the one-event-at-a-time path; a :class:`Wakeup` is made once per subscription
and waits on the event loop's own primitive (a future per waiting task on
asyncio, a trio ``ParkingLot``), found once, at the first wait.

The caller keeps the queue and the usual discipline: it looks at the queue and
calls :meth:`Wakeup.wait` without yielding in between, and whoever fills the
queue calls :meth:`Wakeup.wake_all` after. So no wake-up is lost, and a woken
task looks at the queue again (another reader may have taken what woke it).
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, final

import anyio.lowlevel

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import trio


def _on_asyncio() -> bool:
    return isinstance(anyio.lowlevel.current_token().native_token, asyncio.AbstractEventLoop)


def native_checkpoint() -> Callable[[], Awaitable[None]]:
    """The checkpoint anyio's ``checkpoint()`` ends in on the running event loop.

    Called directly, it is the same schedule point and cancellation point,
    without anyio's look-up of the backend on every call.
    """
    if _on_asyncio():
        return functools.partial(asyncio.sleep, 0)
    import trio.lowlevel  # trio is an optional dependency: imported only when running on it

    return trio.lowlevel.checkpoint


@final
class Wakeup:
    """Tasks wait on it; :meth:`wake_all` wakes every task waiting at that moment.

    Cancellation is clean: a cancelled :meth:`wait` leaves nothing behind, and
    the wake-up it may have received is not lost to the others (they were woken
    too). Bound to the event loop it first waits on.
    """

    __slots__ = ("_futures", "_loop", "_trio", "notify", "waiting")

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        # On asyncio: one future per waiting task, as asyncio.Event keeps them,
        # since a task cancelled while it awaits a future cancels that future.
        self._futures: list[asyncio.Future[None]] = []
        self._trio: trio.lowlevel.ParkingLot | None = None
        #: Tasks in :meth:`wait` now: a publisher with nobody to wake does nothing.
        self.waiting = 0
        #: Called (synchronously, by whoever wakes) on every :meth:`wake_all`: for an
        #: owner that takes what was queued without a task waiting for it.
        self.notify: Callable[[], object] | None = None

    def wake_all(self) -> None:
        """Wake every task waiting now, then call :attr:`notify`. Synchronous; cheap when
        nobody waits."""
        if self.waiting:
            if self._trio is not None:
                self._trio.unpark_all()
            else:
                futures = self._futures
                for future in futures:
                    if not future.done():
                        future.set_result(None)
                futures.clear()
        notify = self.notify
        if notify is not None:
            notify()

    async def wait(self) -> None:
        """Wait for the next :meth:`wake_all`. A schedule point, and cancellable."""
        loop = self._loop
        if loop is None and self._trio is None:
            loop = self._bind()
        self.waiting += 1
        try:
            if loop is not None:
                future = loop.create_future()
                futures = self._futures
                futures.append(future)
                try:
                    await future
                finally:
                    if future in futures:  # not woken: cancelled
                        futures.remove(future)
            else:
                assert self._trio is not None
                await self._trio.park()
        finally:
            self.waiting -= 1

    def _bind(self) -> asyncio.AbstractEventLoop | None:
        """Find the running event loop (asyncio), or make a trio parking lot."""
        if _on_asyncio():
            self._loop = asyncio.get_running_loop()
        else:
            import trio.lowlevel  # trio is an optional dependency: imported only when running on it

            self._trio = trio.lowlevel.ParkingLot()
        return self._loop
