"""The ``newsbot`` command line: run, once, check-config, healthcheck, state backup/restore."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.analysis.pool import WorkerPool
from bot.app.health import healthcheck
from bot.app.logs import setup_logging
from bot.app.service import Service
from bot.config.feeds import load_feeds
from bot.config.opml import export_opml, import_opml, read_source
from bot.config.settings import TOKEN_ENV, Settings, load_settings
from bot.core.errors import ConfigError, NewsbotError
from bot.core.models import Article
from bot.ingest.fetch import Fetcher
from bot.pipeline.explain import load_article, report
from bot.rules.file import load_rules
from bot.rules.matcher import Matcher
from bot.store import backup

__all__ = ["check_config", "healthcheck", "main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="newsbot", description=__doc__)
    p.add_argument("--config", metavar="DIR", help="configuration directory (default: config)")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="poll feeds and send alerts until stopped")
    run.add_argument(
        "--console",
        action="store_true",
        help=f"print alerts to stdout instead of Telegram (no {TOKEN_ENV} needed)",
    )
    once = sub.add_parser("once", help="run one polling cycle, deliver, and exit")
    once.add_argument(
        "--dry-run", action="store_true", help="print the alerts that would be sent; change nothing"
    )
    once.add_argument("--console", action="store_true", help="print alerts instead of sending")
    sub.add_parser("check-config", help="validate settings, feeds and rules, then exit")
    feeds = sub.add_parser("feeds", help="import or export the feed list as OPML")
    feeds_sub = feeds.add_subparsers(dest="feeds_command", required=True)
    feeds_sub.add_parser("import", help="merge an OPML file into feeds.yaml").add_argument("file")
    feeds_sub.add_parser("export", help="print feeds.yaml as OPML 2.0")
    test = sub.add_parser("test-rules", help="explain which topics match one article, and why")
    test.add_argument("source", help="an article URL, an HTML or text file, or - for stdin")
    sub.add_parser(
        "healthcheck", help="exit 0 if a cycle finished recently and the store is writable"
    )
    state = sub.add_parser("state", help="back up or restore the SQLite database")
    state_sub = state.add_subparsers(dest="state_command", required=True)
    save = state_sub.add_parser(
        "backup", help="write a consistent copy of the live database (safe while running)"
    )
    save.add_argument(
        "dest",
        nargs="?",
        help="a file, or a folder for a timestamped copy (default: <state_dir>/backups/)",
    )
    load = state_sub.add_parser(
        "restore", help="replace the database with a backup (stop the bot first)"
    )
    load.add_argument("src", help="the backup file to restore")
    return p


def check_config(settings: Settings) -> str:
    """Validate the feed list and the rules; return a one-line summary."""
    feeds = load_feeds(settings.feeds_path)
    rules = load_rules(settings.rules_path)
    return (
        f"config OK: {len(feeds.enabled())} feeds in {settings.feeds_path}, "
        f"{len(rules.topics)} topics in {settings.rules_path} ({', '.join(rules.ids)})"
    )


def state_command(settings: Settings, command: str, path: str | None) -> str:
    """``state backup [DEST]`` / ``state restore SRC``; returns what was done."""
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


async def _read_article(source: str, settings: Settings) -> Article:
    fetcher, workers = Fetcher(settings.fetch), WorkerPool(settings.extract)
    try:
        return await load_article(source, fetcher, workers)
    finally:
        workers.close()
        await fetcher.aclose()


async def _run(settings: Settings, console: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with Service(settings, console=console) as service:
        await service.serve(stop)


async def _once(settings: Settings, console: bool, dry_run: bool) -> int:
    async with Service(settings, console=console, dry_run=dry_run) as service:
        report = await service.once()
    print(
        f"cycle: {report.feeds} feeds, {report.not_modified} unchanged, "
        f"{len(report.failed)} failed, {report.new_items} new items, "
        f"{report.matched} matched, {report.alerts} alerts queued",
        file=sys.stderr,
    )
    return 0


def _feeds(args: argparse.Namespace, settings: Settings) -> int:
    if args.feeds_command == "import":
        added = import_opml(settings.feeds_path, read_source(args.file))
        print(f"imported {added} new feed(s) into {settings.feeds_path}")
    else:
        sys.stdout.buffer.write(export_opml(settings.feeds_path))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
        setup_logging(
            settings.log_level, as_json=settings.log_json, secrets=(settings.token or "",)
        )
        if args.command == "check-config":
            print(check_config(settings))
            return 0
        if args.command == "feeds":
            return _feeds(args, settings)
        if args.command == "test-rules":
            matcher = Matcher(load_rules(settings.rules_path))
            article = asyncio.run(_read_article(args.source, settings))
            report(article, matcher, sys.stdout)
            return 0
        if args.command == "healthcheck":
            ok, why = healthcheck(settings)
            print(("healthy: " if ok else "unhealthy: ") + why)
            return 0 if ok else 1
        if args.command == "state":
            path = args.dest if args.state_command == "backup" else args.src
            print(state_command(settings, args.state_command, path))
            return 0
        console = args.console or (args.command == "once" and args.dry_run and not settings.token)
        if not console and not settings.token:
            raise ConfigError(
                f"environment variable {TOKEN_ENV} is not set: get a token from @BotFather "
                f"and set it (or put it in .env), or try the bot with `newsbot {args.command} "
                "--console`, which prints alerts instead of sending them"
            )
        if args.command == "run":
            asyncio.run(_run(settings, console))
            return 0
        return asyncio.run(_once(settings, console, args.dry_run))
    except ConfigError as exc:
        print(f"newsbot: configuration error:\n{exc}", file=sys.stderr)
        return 2
    except NewsbotError as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
