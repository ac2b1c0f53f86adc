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
