"""Shared harness: loopback feed site, fake Bot API, and a config dir pointing at them.

Nothing here reaches the internet: pytest-socket (see pyproject.toml) makes any
connection to a non-loopback address fail the test loudly.

Markers (registered in pyproject.toml): a test of a slow kind (``process``,
``postgres``, ``replicas``, ``container``) is marked ``slow`` too, and one that uses
the ``pg_url`` fixture ``postgres``, so ``pytest -m "not slow"`` is the fast subset.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeBotAPI
from tests.fakes.web import LoopbackSite
from tests.helpers.harness import Harness
from tests.helpers.pg import pg_url  # noqa: F401  (a fixture for every test module)

SLOW_KINDS = ("process", "postgres", "replicas", "container")


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "pg_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
        if any(item.get_closest_marker(kind) for kind in SLOW_KINDS):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fetcher honours http(s)_proxy; a developer's own must not reroute loopback fakes."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def site() -> Iterator[LoopbackSite]:
    with LoopbackSite() as s:
        yield s


@pytest.fixture
def telegram() -> Iterator[FakeBotAPI]:
    with FakeBotAPI() as api:
        yield api


@pytest.fixture
def harness(
    tmp_path: Path, site: LoopbackSite, telegram: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> Harness:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", DEFAULT_TOKEN)
    monkeypatch.chdir(tmp_path)
    return Harness(tmp_path, site, telegram)
