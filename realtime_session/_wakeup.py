"""A reusable wake-up call for the tasks waiting on one queue.

A subscription's readers wait for the session to queue something. A fresh
``anyio.Event`` per wait costs a backend look-up and two objects per event on
the one-event-at-a-time path; this object is made once per subscription and
waits on the event loop's own primitive (an ``asyncio.Event`` cleared before
each wait, a trio ``ParkingLot``), found once, at the first wait.

The caller keeps the queue and the usual discipline: it looks at the queue and
calls :meth:`Wakeup.wait` without yielding in between, and whoever fills the
queue calls :meth:`Wakeup.wake_all` after. So no wake-up is lost, and a woken
task looks at the queue again (another reader may have taken what woke it).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, final

import anyio.lowlevel

if TYPE_CHECKING:
    import trio


@final
class Wakeup:
    """Tasks wait on it; :meth:`wake_all` wakes every task waiting at that moment.

    Cancellation is clean: a cancelled :meth:`wait` leaves nothing behind, and
    the wake-up it may have received is not lost to the others (they were woken
    too). Bound to the event loop it first waits on.
    """

    __slots__ = ("_asyncio", "_trio", "waiting")

    def __init__(self) -> None:
        self._asyncio: asyncio.Event | None = None
        self._trio: trio.lowlevel.ParkingLot | None = None
        #: Tasks in :meth:`wait` now: a publisher with nobody to wake does nothing.
        self.waiting = 0

    def wake_all(self) -> None:
        """Wake every task waiting now. Synchronous; cheap when nobody waits."""
        if self.waiting:
            if self._asyncio is not None:
                self._asyncio.set()
            elif self._trio is not None:
                self._trio.unpark_all()

    async def wait(self) -> None:
        """Wait for the next :meth:`wake_all`. A schedule point, and cancellable."""
        event, lot = self._asyncio, self._trio
        if event is None and lot is None:
            event, lot = self._bind()
        self.waiting += 1
        try:
            if event is not None:
                # Still set by a wake-up every earlier waiter has seen: cleared so
                # that this task waits for the next one.
                event.clear()
                await event.wait()
            elif lot is not None:
                await lot.park()
        finally:
            self.waiting -= 1

    def _bind(self) -> tuple[asyncio.Event | None, trio.lowlevel.ParkingLot | None]:
        """Make the primitive of the running event loop (asyncio or trio, as anyio runs on)."""
        if isinstance(anyio.lowlevel.current_token().native_token, asyncio.AbstractEventLoop):
            self._asyncio = asyncio.Event()
        else:
            import trio.lowlevel  # trio is an optional dependency: imported only when running on it

            self._trio = trio.lowlevel.ParkingLot()
        return self._asyncio, self._trio
