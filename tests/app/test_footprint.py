"""Memory the long-running processes never need stays out of them.

Every extraction worker's resident memory counts against the whole bot's, and the
service runs for months: Alembic is loaded only to migrate, the rules file format
(pydantic, YAML) and the settings only where they are read.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from bot.store import Store
from bot.store.engine import HEAD, alembic_config
from tests.helpers.process import loaded


def test_head_is_alembics_head() -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD


@pytest.mark.process
def test_a_current_store_opens_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    Store.open(url).close()  # a new store: migrated by Alembic
    code = (
        f"import bot.app.cli, bot.app.service\nfrom bot.store import Store\n"
        f"Store.open({url!r}).close()"
    )
    assert loaded(code, "alembic") == []


@pytest.mark.process
def test_an_extraction_worker_imports_no_settings_or_rules_file_format() -> None:
    assert loaded("import bot.analysis.page", "pydantic", "yaml", "sqlalchemy", "telegram") == []


@pytest.mark.process
def test_the_healthcheck_loads_neither_the_pipeline_nor_sqlalchemy(tmp_path: Path) -> None:
    """The container runs it every minute with a 10 s timeout; it used to take ~3 s,
    importing python-telegram-bot, trafilatura and SQLAlchemy. bench/healthcheck_bench.py
    times it."""
    db = tmp_path / "state" / "newsbot.sqlite3"
    store = Store.open(f"sqlite:///{db}")
    store.heartbeat()
    store.close()
    (tmp_path / "settings.yaml").write_text(f"state_dir: {db.parent}\n")
    code = (
        "import contextlib, io\nfrom bot.app.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    assert main(['--config', {str(tmp_path)!r}, 'healthcheck']) == 0\n"
        "assert out.getvalue().startswith('healthy: polls on time'), out.getvalue()"
    )
    heavy = ("telegram", "trafilatura", "sqlalchemy", "alembic", "httpx", "lxml")
    assert loaded(code, *heavy) == []
