"""The sending half shared by the adapters' command objects.

A command object encodes each verb as one or more JSON client messages and
hands them, as text frames, to a ``send`` callable: the WebSocket in
production, a list in tests. This module owns the parts that do not depend
on the provider: encoding (strict JSON, see :mod:`realtime_session._json`)
and the closed state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeAlias

import anyio

from .. import _base64, _json

SendText: TypeAlias = Callable[[str], Awaitable[None]]
"""Sends one text frame; raises ``anyio.BrokenResourceError`` when the connection is gone."""

Notify: TypeAlias = Callable[[], Awaitable[None]]

CloseTransport: TypeAlias = Callable[[], Awaitable[None]]


def encode_base64(data: bytes) -> str:
    """Standard base64, as both providers expect for media payloads."""
    return _base64.encode(data)


class JsonMessageSender:
    """Sends client messages as compact JSON text frames, and refuses once closed.

    Messages from one call are sent in order; concurrent calls interleave at
    message granularity (the transport never splits a frame).
    """

    __slots__ = ("_close", "_closed", "_send", "_send_input")

    def __init__(
        self,
        send: SendText,
        close: CloseTransport | None = None,
        *,
        send_input: SendText | None = None,
    ) -> None:
        self._send = send
        self._send_input = send_input if send_input is not None else send
        self._close = close
        self._closed = False

    async def send(self, message: Mapping[str, Any]) -> None:
        """Encode and send one message; ``anyio.ClosedResourceError`` after :meth:`aclose`.

        A message JSON cannot carry (an object that is not JSON, ``NaN``) raises
        ``TypeError`` before anything is sent.
        """
        await self._send(self._encode(message))

    async def send_input(self, message: Mapping[str, Any]) -> None:
        """Send a message of user input: held while the connection is being replaced."""
        await self._send_input(self._encode(message))

    def _encode(self, message: Mapping[str, Any]) -> str:
        if self._closed:
            raise anyio.ClosedResourceError
        return _json.dumps(message, what="the client message")

    async def aclose(self) -> None:
        """Refuse further messages and close the transport, if one was given. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._close is not None:
            await self._close()
