from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import structlog
from redis_server import RedisCluster, RedisServer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow",
        action="store_true",
        default=False,
        help="also run the long soak and fuzz variants marked 'slow'",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip_slow = pytest.mark.skip(reason="long variant: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture(
    params=[
        pytest.param(("asyncio", {"debug": True}), id="asyncio"),
        pytest.param(("trio", {}), id="trio"),
    ]
)
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, object]]:
    # Pinned rather than inherited from anyio's default, which silently runs
    # asyncio only when trio is missing.
    backend: tuple[str, dict[str, object]] = request.param
    return backend


@pytest.fixture(autouse=True)
def _structlog_configured() -> Iterator[None]:
    # As in an application that set structlog up: the library logs through it,
    # and structlog.testing.capture_logs() sees loggers bound before it started.
    structlog.configure()
    yield
    structlog.reset_defaults()


@pytest.fixture
def redis_cluster(tmp_path: Path) -> Iterator[RedisCluster]:
    """A real Redis Cluster (three primaries) on 127.0.0.1, stopped by pid afterwards."""
    cluster = RedisCluster(tmp_path)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A real redis-server on 127.0.0.1 and a free port, stopped by pid afterwards."""
    with RedisServer(tmp_path) as server:
        yield server
