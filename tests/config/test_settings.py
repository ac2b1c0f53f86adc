"""Settings: defaults, env overrides, and errors that name the file, key or variable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.app.cli import main
from bot.config.settings import load_settings
from bot.core.errors import ConfigError
from tests.helpers.harness import ROOT


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_shipped_config_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(ROOT / "config"), "check-config"]) == 0
    out = capsys.readouterr().out
    assert "config OK" in out and "kazakhstan" in out and "csto" in out and "tokayev" in out


def test_environment_overrides_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_POLL_INTERVAL_SECONDS", "42")
    monkeypatch.setenv("NEWSBOT_FETCH__USER_AGENT", "agent/1")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:abc")
    s = load_settings(ROOT / "config")
    assert s.poll_interval_seconds == 42
    assert s.fetch.user_agent == "agent/1"
    assert s.token == "1:abc"
    assert "1:abc" not in repr(s)


def test_bad_value_in_file_names_file_line_and_key(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text("log_level: INFO\nfetch:\n  max_concurrency: 0\n")
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path)
    assert f"{tmp_path / 'settings.yaml'}:3: fetch.max_concurrency" in str(err.value)


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text("poll_intervall_seconds: 5\n")
    with pytest.raises(ConfigError, match=r"settings.yaml:1: poll_intervall_seconds"):
        load_settings(tmp_path)


def test_bad_env_value_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_POLL_INTERVAL_SECONDS", "soon")
    with pytest.raises(ConfigError, match="environment variable NEWSBOT_POLL_INTERVAL_SECONDS"):
        load_settings(tmp_path)


def test_token_in_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text("telegram:\n  token: '1:abc'\n")
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN"):
        load_settings(tmp_path)


def test_run_without_token_refuses_naming_the_variable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(ROOT / "config"), "run"]) == 2
    assert "TELEGRAM_BOT_TOKEN" in capsys.readouterr().err


def test_check_config_fails_on_a_bad_rules_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "feeds.yaml").write_text("feeds: []\n")
    (tmp_path / "rules.yaml").write_text("topics:\n  - id: Bad Id\n")
    assert main(["--config", str(tmp_path), "check-config"]) == 2
    err = capsys.readouterr().err
    assert "rules.yaml:2: topics[0].id" in err


def test_dotenv_file_supplies_token_and_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(
        "TELEGRAM_BOT_TOKEN=42:from-dotenv\nNEWSBOT_POLL_INTERVAL_SECONDS=77\n"
    )
    monkeypatch.setenv("NEWSBOT_LOG_LEVEL", "DEBUG")
    monkeypatch.delenv("NEWSBOT_POLL_INTERVAL_SECONDS", raising=False)
    try:
        s = load_settings(ROOT / "config")
        assert s.token == "42:from-dotenv" and s.poll_interval_seconds == 77
        assert s.log_level == "DEBUG"
    finally:
        for name in ("TELEGRAM_BOT_TOKEN", "NEWSBOT_POLL_INTERVAL_SECONDS"):
            os.environ.pop(name, None)  # set by load_dotenv; monkeypatch would not undo them


# ---------------------------------------------------------------- where the database goes


def make_config(folder: Path, settings: str = "") -> Path:
    folder.mkdir(parents=True)
    (folder / "settings.yaml").write_text(settings)
    (folder / "feeds.yaml").write_text("feeds: []\n")
    (folder / "rules.yaml").write_text((ROOT / "config" / "rules.yaml").read_text())
    return folder


def test_relative_paths_start_at_the_config_directory(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.chdir(elsewhere)  # the fixture's chdir is undone by monkeypatch at teardown
    config = make_config(tmp_path / "bot" / "config", "state_dir: ../data\n")
    s = load_settings(config)
    assert s.state_dir == tmp_path / "bot" / "data"
    assert s.sqlite_file == tmp_path / "bot" / "data" / "newsbot.sqlite3"
    assert s.notices == ()


def test_the_default_state_dir_is_inside_the_config_directory(tmp_path: Path) -> None:
    config = make_config(tmp_path / "mine")
    assert load_settings(config).state_dir == config.absolute() / "state"


def test_the_shipped_config_keeps_the_repositorys_state_folder() -> None:
    """docker-compose.yml mounts ./state; the shipped settings point there from anywhere."""
    assert load_settings(ROOT / "config").state_dir == ROOT / "state"


def test_a_relative_sqlite_url_and_env_paths_start_at_the_config_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(tmp_path / "c", "database_url: sqlite:///db/bot.sqlite3?timeout=5\n")
    monkeypatch.setenv("NEWSBOT_STATE_DIR", "var")
    s = load_settings(config)
    assert s.db_url == f"sqlite:///{config.absolute() / 'db' / 'bot.sqlite3'}?timeout=5"
    assert s.sqlite_file == config.absolute() / "db" / "bot.sqlite3"
    assert s.state_dir == config.absolute() / "var"  # backups go here


def test_two_config_directories_never_share_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: both used ./state of the working directory, silently."""
    first, second = make_config(tmp_path / "a"), make_config(tmp_path / "b")
    for config in (first, second):
        assert main(["--config", str(config), "once", "--console"]) == 0
    assert (first / "state" / "newsbot.sqlite3").is_file()
    assert (second / "state" / "newsbot.sqlite3").is_file()
    assert not (tmp_path / "state").exists(), "nothing in the working directory"


def test_an_existing_database_at_the_old_place_is_kept_with_a_notice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An install whose settings say ``state_dir: state`` had its database in ./state."""
    from bot.store import Store

    old = tmp_path / "state" / "newsbot.sqlite3"
    old.parent.mkdir()
    Store.open(f"sqlite:///{old}").close()
    config = make_config(tmp_path / "config", "state_dir: state\n")
    s = load_settings(config)
    assert s.sqlite_file == old, "the database in use stays in use"
    (notice,) = s.notices
    assert str(old) in notice and f"state_dir: {old.parent}" in notice
    assert main(["--config", str(config), "once", "--console"]) == 0
    err = capsys.readouterr().err
    assert "settings_notice" in err and str(old) in err
    assert not (config / "state").exists(), "no second, empty database was made"

    (config / "state").mkdir()  # once the database is moved, the new place wins
    old.rename(config / "state" / "newsbot.sqlite3")
    s = load_settings(config)
    assert s.sqlite_file == config / "state" / "newsbot.sqlite3" and s.notices == ()


def test_a_missing_config_directory_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(tmp_path / "nope"), "check-config"]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'nope'} not found" in err and "--config DIR" in err
    assert "Traceback" not in err


def test_web_console_settings_are_checked_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    defaults = load_settings(tmp_path).web
    assert (defaults.host, defaults.port, defaults.archive_days) == ("127.0.0.1", 8080, 7.0)
    assert defaults.base_url == "http://127.0.0.1:8080"
    (tmp_path / "settings.yaml").write_text("web:\n  port: 0\n  public_url: https://n.example/c/\n")
    web = load_settings(tmp_path).web
    assert web.port == 0 and web.base_url == "https://n.example/c"
    (tmp_path / "settings.yaml").write_text("web:\n  public_url: ftp://n.example\n")
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path)
    assert "settings.yaml:2: web.public_url: must be an http(s) URL" in str(err.value)
    (tmp_path / "settings.yaml").write_text("")
    monkeypatch.setenv("NEWSBOT_WEB__PORT", "70000")
    with pytest.raises(ConfigError, match="environment variable NEWSBOT_WEB__PORT"):
        load_settings(tmp_path)
