"""A real ``redis-server`` for the tests: 127.0.0.1, a free port, no persistence.

It is started by pid and stopped by pid. If the test process dies first, the
kernel stops it too (``PR_SET_PDEATHSIG``), so no server outlives a test run.
A missing ``redis-server`` is an error, never a reason to skip: ``.ci/run``
installs it. The benchmarks use this module too.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Final, Self, final

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

_READY_TIMEOUT_S: Final = 10.0
_STOP_TIMEOUT_S: Final = 5.0
_PR_SET_PDEATHSIG: Final = 1


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: ask the kernel to SIGTERM it when
    # the process that started it dies, however that happens.
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as connection:
            connection.sendall(b"PING\r\n")
            # A server that asks for a password answers too.
            return connection.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


@final
class RedisServer:
    """One ``redis-server`` process; :meth:`restart` keeps its port (and loses its data)."""

    def __init__(
        self, directory: Path, *, options: Sequence[str] = (), port: int | None = None
    ) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            raise RuntimeError(
                "redis-server is not installed: the remote tests and benchmarks need a real "
                "server (apt-get install redis-server; .ci/run installs it)"
            )
        self._executable = executable
        self._directory = directory
        self._options = tuple(options)
        self.port = free_port() if port is None else port
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self) -> None:
        assert self._process is None, "already running"
        self._process = subprocess.Popen(
            [
                self._executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self._directory),
                "--logfile",
                str(self._directory / "redis.log"),
                *self._options,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads yet; see _die_with_parent
        )
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while not _ping(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                log = self._directory / "redis.log"
                text = log.read_text() if log.exists() else ""
                self.stop()
                raise RuntimeError(f"redis-server did not answer PING on port {self.port}:\n{text}")
            time.sleep(0.01)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
        process.wait(_STOP_TIMEOUT_S)

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


_CLUSTER_BUS_OFFSET: Final = 10000  # Redis Cluster's bus listens on the port + 10000


def _free_cluster_port() -> int:
    """A free port whose cluster bus port is free too."""
    while True:
        port = free_port()
        if port + _CLUSTER_BUS_OFFSET > 65535:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + _CLUSTER_BUS_OFFSET))
            except OSError:
                continue
        return port


@final
class RedisCluster:
    """A real Redis Cluster of ``size`` primaries on 127.0.0.1, each its own redis-server.

    The slots are assigned by ``redis-cli --cluster create``; it is ready when every
    node reports ``cluster_state:ok``. Stopped by pid, like a single server.
    """

    def __init__(self, directory: Path, size: int = 3) -> None:
        self.nodes: list[RedisServer] = []
        for index in range(size):
            node_directory = directory / f"node{index}"
            node_directory.mkdir()
            self.nodes.append(
                RedisServer(
                    node_directory,
                    options=("--cluster-enabled", "yes", "--cluster-node-timeout", "5000"),
                    port=_free_cluster_port(),
                )
            )

    @property
    def url(self) -> str:
        """The URL of one node: a cluster client discovers the others from it."""
        return self.nodes[0].url

    def start(self) -> None:
        cli = shutil.which("redis-cli")
        if cli is None:
            raise RuntimeError(
                "redis-cli is not installed: the cluster tests need it (apt-get install "
                "redis-tools; .ci/run installs it)"
            )
        try:
            for node in self.nodes:
                node.start()
            subprocess.run(
                [
                    cli,
                    "--cluster",
                    "create",
                    *(f"127.0.0.1:{node.port}" for node in self.nodes),
                    "--cluster-replicas",
                    "0",
                    "--cluster-yes",
                ],
                check=True,
                capture_output=True,
                timeout=_READY_TIMEOUT_S,
            )
            deadline = time.monotonic() + _READY_TIMEOUT_S
            while not all(_cluster_ok(cli, node.port) for node in self.nodes):
                if time.monotonic() > deadline:
                    raise RuntimeError("the Redis Cluster did not reach cluster_state:ok")
                time.sleep(0.05)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def _cluster_ok(cli: str, port: int) -> bool:
    info = subprocess.run(
        [cli, "-p", str(port), "cluster", "info"],
        capture_output=True,
        text=True,
        timeout=_READY_TIMEOUT_S,
        check=False,
    )
    return "cluster_state:ok" in info.stdout
