"""The one settings object: built and validated once at start-up, then passed explicitly.

Sources, strongest first: environment variables (``NEWSBOT_POLL_INTERVAL_SECONDS``,
``NEWSBOT_FETCH__USER_AGENT``, …), a ``.env`` file in the working directory (loaded
into the environment without overriding it), then ``config/settings.yaml``.
The bot token only ever comes from ``TELEGRAM_BOT_TOKEN``.

Relative paths (``state_dir``, a ``sqlite:///`` path in ``database_url``) are
relative to the config directory, wherever newsbot is started from, so two config
directories never share a database by accident. They used to be relative to the
working directory: an existing database found only there is still used, with a
warning saying how to make that explicit (``Settings.notices``).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, Literal

from dotenv import load_dotenv
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.config.yamlfile import describe, dotted, read_yaml
from bot.core.errors import ConfigError

ENV_PREFIX = "NEWSBOT_"
TOKEN_ENV = "TELEGRAM_BOT_TOKEN"
DB_FILE = "newsbot.sqlite3"  # the SQLite database under state_dir
SQLITE_PREFIX = "sqlite:///"
DEFAULT_USER_AGENT = "newsbot/0.1 (+https://github.com/newsbot/newsbot; self-hosted news monitor)"
DEFAULT_TRANSLATE_URL = "https://translate.google.com/translate?sl=auto&tl={lang}&u={url}"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FetchSettings(_Section):
    """HTTP limits: every request has a total deadline and a body-size cap."""

    user_agent: str = DEFAULT_USER_AGENT
    deadline_seconds: float = Field(30.0, gt=0, le=600)
    connect_timeout_seconds: float = Field(10.0, gt=0, le=120)
    max_feed_bytes: int = Field(10_000_000, ge=1024)
    max_page_bytes: int = Field(5_000_000, ge=1024)
    max_concurrency: int = Field(10, ge=1, le=500)
    max_redirects: int = Field(5, ge=0, le=20)
    per_host_concurrency: int = Field(2, ge=1, le=50)
    per_host_interval_seconds: float = Field(1.0, ge=0, le=60)
    # The SSRF guard refuses loopback, private, link-local and metadata addresses at
    # connect time, on every redirect hop. Only these settings let some through.
    allow_private_addresses: bool = False
    allow_loopback: bool = False
    # An HTTP(S) proxy for feeds and pages (e.g. http://proxy:3128); unset, the
    # http_proxy, https_proxy, all_proxy and no_proxy variables are read as curl
    # reads them (bot/ingest/proxies.py). The SSRF guard still resolves and vets each
    # target and asks the proxy for a tunnel to that address (CONNECT, to ports 80
    # and 443 alike), so names it cannot resolve are refused.
    proxy: str | None = None


class ExtractSettings(_Section):
    """The worker pool (feed parsing, extraction): bounded, deadlines per job, recycled."""

    workers: int = Field(2, ge=1, le=64)
    max_tasks_per_child: int = Field(200, ge=1)
    timeout_seconds: float = Field(30.0, gt=0)
    # A worker with nothing to do for this long exits (at rest the bot holds no
    # worker's memory); the next job starts one again.
    idle_seconds: float = Field(60.0, gt=0)


class PollingSettings(_Section):
    """Per-feed schedule bounds: adaptive intervals, hints, backoff, jitter, broken feeds."""

    adaptive: bool = True
    min_interval_seconds: float = Field(60.0, gt=0)
    max_interval_seconds: float = Field(6 * 3600.0, gt=0)
    jitter: float = Field(0.1, ge=0, le=0.5)
    error_backoff_max_seconds: float = Field(6 * 3600.0, gt=0)
    broken_after_hours: float = Field(24.0, gt=0)
    # Adaptive polling never waits longer than this between successful polls, server
    # hints included; None: twice the feed's base interval.
    latency_ceiling_seconds: float | None = Field(None, gt=0)
    # Feeds polled at once, each by its own poller (an asyncio task): a hanging feed
    # holds one until its deadline. Requests stay bounded by fetch.max_concurrency.
    pollers: int = Field(256, ge=1, le=2000)

    @model_validator(mode="after")
    def _ceiling_above_floor(self) -> PollingSettings:
        ceiling = self.latency_ceiling_seconds
        if ceiling is not None and ceiling < self.min_interval_seconds:
            raise ValueError(
                f"polling.latency_ceiling_seconds ({ceiling:g}) must be at least "
                f"polling.min_interval_seconds ({self.min_interval_seconds:g})"
            )
        return self


class ReplicaSettings(_Section):
    """Several replicas on one PostgreSQL: feed leases and leader election."""

    id: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    lease_seconds: float = Field(600.0, gt=0)  # longer than any one feed's poll can take
    leader_check_seconds: float = Field(5.0, gt=0)


class TelegramSettings(_Section):
    """Where the Bot API lives, and who may administer the bot."""

    base_url: str = "https://api.telegram.org/bot"
    admins: tuple[int, ...] = ()
    # Private deployments: when set, only these chats (and the admins) may use the bot.
    allowed_chats: tuple[int, ...] = ()
    # Broadcast targets: channel (or any chat) id -> topics it always receives.
    channels: dict[int, tuple[str, ...]] = {}
    token: SecretStr | None = None
    poll_timeout_seconds: int = Field(50, ge=0, le=50)  # Telegram's maximum: fewest round trips
    # An alert in another language than the chat's gets a "read in …" button to this
    # page: {lang} is the chat's language, {url} the article's (URL-encoded). None: no button.
    translate_url: str | None = DEFAULT_TRANSLATE_URL

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("translate_url")
    @classmethod
    def _translate_template(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("http://", "https://")) or "{url}" not in value:
            raise ValueError("must be an http(s) URL containing {url} (and usually {lang})")
        try:
            value.format(lang="de", url="x")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"only {{lang}} and {{url}} may appear in braces ({exc})") from None
        return value


class AlertSettings(_Section):
    """What gets alerted when a feed is first seen, and how long the outbox retries."""

    first_poll_max_age_hours: float = Field(0.0, ge=0)
    retry_max_seconds: float = Field(600.0, gt=0)
    deliver_interval_seconds: float = Field(1.0, gt=0)
    per_chat_interval_seconds: float = Field(1.0, ge=0, le=60)
    digest_check_seconds: float = Field(60.0, gt=0)
    # Near-duplicate articles within this window are one story: one alert per chat,
    # updated in place with "also reported by".
    story_window_hours: float = Field(72.0, gt=0)


class WebSettings(_Section):
    """The web console (bot/web): where it listens, the address admins' links use."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)  # 0: no console
    # The console's address as the admin's browser reaches it (a reverse proxy's, say);
    # /console builds its login links from it. None: http://host:port.
    public_url: str | None = None
    # How long recent articles (matched or not) are kept for the archive and "Try".
    archive_days: float = Field(7.0, gt=0, le=90)

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("http://", "https://")) or any(c in value for c in "?# "):
            raise ValueError("must be an http(s) URL without query or fragment")
        return value.rstrip("/")

    @property
    def base_url(self) -> str:
        """Where the console's pages are, without a trailing slash."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return self.public_url or f"http://{host}:{self.port}"


class Settings(BaseSettings):
    """Everything newsbot needs to know before it starts."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    config_dir: Path = Path("config")
    state_dir: Path = Path("state")  # relative to config_dir (see load_settings)
    database_url: str = ""
    feeds_file: str = "feeds.yaml"
    rules_file: str = "rules.yaml"
    poll_interval_seconds: float = Field(300.0, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = False
    # Seen items, articles and finished outbox rows older than this are pruned daily.
    retention_days: float = Field(90.0, ge=1)
    # Prometheus /metrics and /healthz: off unless a port is set (0 = any free port,
    # logged as metrics_server_started). The container listens on 0.0.0.0.
    metrics_port: int | None = Field(None, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    fetch: FetchSettings = FetchSettings()
    polling: PollingSettings = PollingSettings()
    replica: ReplicaSettings = ReplicaSettings()
    extract: ExtractSettings = ExtractSettings()
    telegram: TelegramSettings = TelegramSettings()
    alerts: AlertSettings = AlertSettings()
    web: WebSettings = WebSettings()
    # Things start-up should tell the operator (e.g. a database found at its old place).
    _notices: tuple[str, ...] = PrivateAttr(())

    @property
    def notices(self) -> tuple[str, ...]:
        """Warnings from building the settings, for the log once logging is set up."""
        return self._notices

    @field_validator("metrics_port", mode="before")
    @classmethod
    def _empty_is_off(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The environment (``.env`` already folded in) beats the YAML file (passed as init)."""
        return env_settings, init_settings

    @property
    def feeds_path(self) -> Path:
        """The feed list, relative to the config directory."""
        return self.config_dir / self.feeds_file

    @property
    def rules_path(self) -> Path:
        """The topic rules, relative to the config directory."""
        return self.config_dir / self.rules_file

    @property
    def db_url(self) -> str:
        """The database URL; SQLite under ``state_dir`` unless one is configured."""
        return self.database_url or f"{SQLITE_PREFIX}{self.state_dir / DB_FILE}"

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite database file behind ``db_url``; None for any other database."""
        scheme, sep, rest = self.db_url.partition(":///")
        if not sep or scheme.split("+")[0] != "sqlite":
            return None
        path = rest.partition("?")[0]
        return Path(path) if path and path != ":memory:" else None

    @property
    def token(self) -> str | None:
        """The bot token, or None when ``TELEGRAM_BOT_TOKEN`` is unset."""
        return self.telegram.token.get_secret_value() if self.telegram.token else None


def _env_name(loc: tuple[Any, ...]) -> str:
    return ENV_PREFIX + "__".join(str(p).upper() for p in loc)


def _explain(exc: ValidationError, path: Path, lines: dict, env: dict[str, str]) -> str:
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        name = _env_name(loc)
        message = err["msg"].removeprefix("Value error, ")
        if name in env:
            out.append(f"environment variable {name}: {message}")
        else:
            sub = ValidationError.from_exception_data(exc.title, [err])  # type: ignore[list-item]
            out.append(describe(path, lines, sub) if path.exists() else f"{dotted(loc)}: {message}")
    return "\n".join(out)


def load_settings(config_dir: Path | str | None = None) -> Settings:
    """Build the settings from ``config_dir/settings.yaml`` plus the environment.

    Raises ConfigError naming the file and key, or the environment variable.
    """
    # .env holds TELEGRAM_BOT_TOKEN as well as NEWSBOT_* overrides; real environment
    # variables win over it, as with docker compose's env_file.
    load_dotenv(Path.cwd() / ".env", override=False)
    config_dir = Path(config_dir or os.environ.get(ENV_PREFIX + "CONFIG_DIR") or "config")
    if not config_dir.is_dir():
        raise ConfigError(
            f"configuration directory {config_dir.absolute()} not found: run newsbot where "
            f"config/ is, or pass --config DIR (or set {ENV_PREFIX}CONFIG_DIR)"
        )
    path = config_dir / "settings.yaml"
    data: dict[str, Any] = {}
    lines: dict = {}
    if path.exists():
        raw, lines = read_yaml(path)
        if raw is not None and not isinstance(raw, dict):
            raise ConfigError(f"{path}: must be a mapping of setting names to values")
        data = dict(raw or {})
    telegram = dict(data.get("telegram") or {})
    if "token" in telegram:
        raise ConfigError(
            f"{path}: telegram.token: the bot token is never read from a file; "
            f"set the environment variable {TOKEN_ENV}"
        )
    if os.environ.get(TOKEN_ENV):
        data["telegram"] = {**telegram, "token": os.environ[TOKEN_ENV]}
    data["config_dir"] = config_dir.absolute()
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, path, lines, dict(os.environ))) from exc
    return _placed(settings, Path.cwd())


def _relative(new: Path, old: Path, what: str, keep: object) -> tuple[Path, str | None]:
    """``new`` (under the config dir), unless only ``old`` (under the working dir) has a DB."""
    if new == old or new.exists() or not old.exists():
        return new, None
    return old, (
        f"using the existing database {old}, found where a relative {what} pointed before "
        f"(the working directory); relative paths now start at the config directory, "
        f"which would mean {new}. To keep it, set {what}: {keep} in settings.yaml "
        f"(or move the database to {new})"
    )


def _join(base: Path, relative: Path) -> Path:
    """``base / relative`` with ``..`` applied as written (``config/../state`` is ``state``)."""
    return Path(os.path.normpath(base / relative))


def _placed(settings: Settings, cwd: Path) -> Settings:
    """``settings`` with relative paths resolved against the config directory."""
    base, notices = settings.config_dir, []
    state, url = settings.state_dir, settings.database_url
    if not state.is_absolute():
        old = cwd / state
        if url:
            state = _join(base, state)
        else:
            db, note = _relative(_join(base, state) / DB_FILE, old / DB_FILE, "state_dir", old)
            state = db.parent
            notices += [note] if note else []
    path, sep, query = url.removeprefix(SQLITE_PREFIX).partition("?")
    if url.startswith(SQLITE_PREFIX) and path and path != ":memory:" and path[0] != "/":
        keep = f"{SQLITE_PREFIX}{cwd / path}"
        db, note = _relative(_join(base, Path(path)), cwd / path, "database_url", keep)
        url = f"{SQLITE_PREFIX}{db}{sep}{query}"
        notices += [note] if note else []
    placed = settings.model_copy(update={"state_dir": state, "database_url": url})
    placed._notices = tuple(notices)
    return placed
