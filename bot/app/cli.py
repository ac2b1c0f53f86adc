"""The ``newsbot`` command line; ``newsbot --help`` lists every command.

Each command imports what it needs when it runs: ``newsbot healthcheck`` runs
every minute in the container and must not pay for python-telegram-bot,
trafilatura and the whole pipeline, which only ``run`` and ``once`` use.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from bot import __version__
from bot.core.errors import ConfigError, NewsbotError, StartupError

if TYPE_CHECKING:
    from bot.config.settings import Settings
    from bot.core.models import Article

__all__ = ["check_config", "main"]
log = logging.getLogger(__name__)

DESCRIPTION = """\
newsbot polls RSS/Atom feeds, extracts each new article's text, matches it
against topic rules and sends alerts to subscribed Telegram chats."""

EPILOG = """\
The configuration directory is ./config unless --config DIR (before or after the
command) or NEWSBOT_CONFIG_DIR names another. Relative paths in settings.yaml
start at that directory. The bot token is read from TELEGRAM_BOT_TOKEN only
(the environment, or a .env file in the working directory).

examples:
  newsbot run --console            try it without a token: alerts go to the terminal
  newsbot once --dry-run           one cycle; print what would be sent, change nothing
  newsbot test-rules article.html  which topics match this article, and why
  newsbot --config /srv/bot/config healthcheck

Exit codes: 0 done; 1 failed (unhealthy, or every feed failed); 2 cannot start
(configuration, state directory, database, port or token: the message says what
to do)."""


def _parser() -> argparse.ArgumentParser:
    # --config is accepted on every (sub)command: the last one given wins.
    config = argparse.ArgumentParser(add_help=False)
    config.add_argument(
        "--config",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="configuration directory (default: ./config, or NEWSBOT_CONFIG_DIR)",
    )

    def command(parent: argparse._SubParsersAction, name: str, text: str, **kw: object):
        return parent.add_parser(
            name,
            help=text,
            description=kw.pop("description", text),
            parents=[config],
            formatter_class=argparse.RawDescriptionHelpFormatter,
            **kw,
        )

    p = argparse.ArgumentParser(
        prog="newsbot",
        description=DESCRIPTION,
        epilog=EPILOG,
        parents=[config],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"newsbot {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")
    run = command(sub, "run", "poll feeds, send alerts and answer Telegram until stopped")
    run.add_argument(
        "--console",
        action="store_true",
        help="print alerts to the terminal instead of Telegram (no TELEGRAM_BOT_TOKEN needed)",
    )
    once = command(sub, "once", "run one polling cycle, deliver its alerts, and exit")
    once.add_argument(
        "--dry-run",
        action="store_true",
        help="print the alerts that would be sent; write nothing (no database, no feed rows)",
    )
    once.add_argument("--console", action="store_true", help="print alerts instead of sending")
    command(sub, "check-config", "validate settings.yaml, feeds.yaml and rules.yaml, then exit")
    test = command(sub, "test-rules", "explain which topics match one article, and why")
    test.add_argument("source", help="an article URL, an HTML or text file, or - for stdin")
    feeds = command(sub, "feeds", "import or export the feed list as OPML")
    feeds_sub = feeds.add_subparsers(dest="feeds_command", required=True, metavar="ACTION")
    command(feeds_sub, "import", "merge an OPML file into feeds.yaml").add_argument("file")
    command(feeds_sub, "export", "print feeds.yaml as OPML 2.0")
    command(
        sub,
        "healthcheck",
        "exit 0 if a cycle finished recently and the store is writable (creates nothing)",
    )
    state = command(sub, "state", "back up or restore the SQLite database")
    state_sub = state.add_subparsers(dest="state_command", required=True, metavar="ACTION")
    save = command(
        state_sub, "backup", "write a consistent copy of the live database (safe while running)"
    )
    save.add_argument(
        "dest",
        nargs="?",
        help="a file, or a folder for a timestamped copy (default: <state_dir>/backups/)",
    )
    load = command(state_sub, "restore", "replace the database with a backup (stop the bot first)")
    load.add_argument("src", help="the backup file to restore")
    return p


def check_config(settings: Settings) -> str:
    """Validate the feed list and the rules; return a one-line summary."""
    from bot.config.feeds import load_feeds
    from bot.rules.file import load_rules

    feeds = load_feeds(settings.feeds_path)
    rules = load_rules(settings.rules_path)
    return (
        f"config OK: {len(feeds.enabled())} feeds in {settings.feeds_path}, "
        f"{len(rules.topics)} topics in {settings.rules_path} ({', '.join(rules.ids)})"
    )


def _check_config(args: argparse.Namespace, settings: Settings) -> int:
    print(check_config(settings))
    return 0


def _healthcheck(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app.health import healthcheck

    ok, why = healthcheck(settings)
    print(("healthy: " if ok else "unhealthy: ") + why)
    return 0 if ok else 1


def state_command(settings: Settings, command: str, path: str | None) -> str:
    """``state backup [DEST]`` / ``state restore SRC``; returns what was done."""
    from pathlib import Path

    from bot.store import backup

    if command == "backup":
        dest = path or f"{settings.state_dir / 'backups'}/"
        written = backup.backup(settings.db_url, dest)
        return f"backup written: {written}"
    assert path is not None
    target = backup.sqlite_path(settings.db_url)
    had_one = target.exists()
    backup.restore(settings.db_url, path)
    kept = target.with_name(target.name + backup.SAFETY_SUFFIX)
    note = f"; the previous database is kept as {kept}" if had_one else ""
    return f"restored {Path(path)} into {target}{note}"


def _state(args: argparse.Namespace, settings: Settings) -> int:
    path = args.dest if args.state_command == "backup" else args.src
    print(state_command(settings, args.state_command, path))
    return 0


def _feeds(args: argparse.Namespace, settings: Settings) -> int:
    from bot.config.opml import export_opml, import_opml, read_source

    if args.feeds_command == "import":
        added = import_opml(settings.feeds_path, read_source(args.file))
        print(f"imported {added} new feed(s) into {settings.feeds_path}")
    else:
        sys.stdout.buffer.write(export_opml(settings.feeds_path))
    return 0


async def _read_article(source: str, settings: Settings) -> Article:
    from bot.analysis.pool import WorkerPool
    from bot.ingest.fetch import Fetcher
    from bot.pipeline.explain import load_article

    fetcher, workers = Fetcher(settings.fetch), WorkerPool(settings.extract)
    try:
        return await load_article(source, fetcher, workers)
    finally:
        workers.close()
        await fetcher.aclose()


def _test_rules(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from bot.pipeline.explain import report
    from bot.rules.file import load_rules
    from bot.rules.matcher import Matcher

    matcher = Matcher(load_rules(settings.rules_path))
    article = asyncio.run(_read_article(args.source, settings))
    report(article, matcher, sys.stdout)
    return 0


async def _run(settings: Settings, console: bool) -> None:
    import asyncio
    import signal

    from bot.app.service import Service
    from bot.app.startup import log_started, open_service

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    service = Service(settings, console=console)
    await open_service(service)
    gc.enable()  # paused by main() for start-up; the start-up heap is frozen now
    try:
        log_started(service)
        await service.serve(stop)
    finally:
        await service.close()


async def _once(settings: Settings, console: bool, dry_run: bool) -> int:
    from bot.app.service import Service
    from bot.app.startup import open_service

    service = Service(settings, console=console, dry_run=dry_run)
    await open_service(service)
    gc.enable()
    try:
        report = await service.once()
    finally:
        await service.close()
    print(
        f"cycle: {report.feeds} feeds, {report.not_modified} unchanged, "
        f"{len(report.failed)} failed, {report.new_items} new items, "
        f"{report.matched} matched, {report.alerts} alerts queued",
        file=sys.stderr,
    )
    if report.feeds and len(report.failed) == report.feeds:
        print(
            f"newsbot: every feed failed ({report.feeds} of {report.feeds}); the first: "
            f"{next(iter(report.failed.values()))}",
            file=sys.stderr,
        )
        return 1
    return 0


def _service(args: argparse.Namespace, settings: Settings) -> int:
    """``run`` and ``once``: the start-up checks, then the service."""
    import asyncio

    from bot.app.startup import preflight
    from bot.config.settings import TOKEN_ENV

    dry_run = args.command == "once" and args.dry_run
    console = args.console or (dry_run and not settings.token)
    if not console and not settings.token:
        raise ConfigError(
            f"environment variable {TOKEN_ENV} is not set: get a token from @BotFather "
            f"and set it (or put it in .env), or try the bot with `newsbot {args.command} "
            "--console`, which prints alerts instead of sending them"
        )
    preflight(settings, dry_run=dry_run)
    if args.command == "run":
        asyncio.run(_run(settings, console))
        return 0
    return asyncio.run(_once(settings, console, dry_run))


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "run": _service,
    "once": _service,
    "check-config": _check_config,
    "test-rules": _test_rules,
    "feeds": _feeds,
    "healthcheck": _healthcheck,
    "state": _state,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    # Start-up builds ~150,000 objects that live as long as the process: collecting
    # while importing them is wasted work (about an eighth of start-up). The service
    # turns collection back on once it has frozen them (Service.open).
    paused = args.command in ("run", "once") and gc.isenabled()
    if paused:
        gc.disable()
    try:
        from bot.app.logs import setup_logging
        from bot.config.settings import load_settings

        settings = load_settings(getattr(args, "config", None))
        setup_logging(
            settings.log_level, as_json=settings.log_json, secrets=(settings.token or "",)
        )
        for notice in settings.notices:
            log.warning("settings_notice", extra={"notice": notice})
        return COMMANDS[args.command](args, settings)
    except ConfigError as exc:
        print(f"newsbot: configuration error:\n{exc}", file=sys.stderr)
        return 2
    except StartupError as exc:
        print(f"newsbot: cannot start: {exc}", file=sys.stderr)
        return 2
    except NewsbotError as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return 1
    finally:
        if paused:
            gc.enable()


if __name__ == "__main__":
    sys.exit(main())
