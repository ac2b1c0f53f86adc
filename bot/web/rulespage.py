"""The rules editor: rules.yaml in the browser, tried on past news before it is saved.

Validation is the file's own (``bot.web.trial.check_rules``), so an error reads
exactly as ``newsbot check-config`` would word it. Saving refuses when the file
changed since the editor was opened (another admin, a chat edit, a hand edit),
and makes the rules live at once in this process (other replicas: next cycle).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.core.errors import ConfigError
from bot.web.trial import TRY_LIMIT, Baseline, check_rules, save_rules, text_hash, try_rules

log = logging.getLogger(__name__)
MAX_RULES_BYTES = 2_000_000


def routes(console: Any) -> list[Route]:
    """The editor's pages, bound to ``console``."""
    path = console.settings.rules_path
    baseline = Baseline()

    def current_text() -> str:
        return path.read_text(encoding="utf-8")

    def page(request: Request, text: str, base: str, **context: Any) -> Response:
        status = 422 if context.get("error") else 200
        return console.render(
            request,
            "rules.html",
            status=status,
            text=text,
            base=base,
            limit=TRY_LIMIT,
            topics=[(t.id, t.name) for t in console.rules.matcher.rules.topics],
            **context,
        )

    async def editor(request: Request) -> Response:
        text = current_text()
        return page(request, text, text_hash(text), saved=request.query_params.get("saved") == "1")

    async def submitted(request: Request) -> tuple[str, str, str | None]:
        form = await request.form()
        text = str(form.get("rules", ""))[:MAX_RULES_BYTES].replace("\r\n", "\n")
        return text, str(form.get("base", "")), None

    async def trial(request: Request) -> Response:
        text, base, _ = await submitted(request)
        try:
            edited = await asyncio.to_thread(check_rules, text, path)
        except ConfigError as exc:
            return page(request, text, base, error=str(exc))
        current = console.rules.matcher
        result = await asyncio.to_thread(
            try_rules, current, edited, console.store.archive, baseline
        )
        log.info(
            "rules_tried",
            extra={
                "articles": result.articles,
                "newly": result.newly_count,
                "no_longer": result.no_longer_count,
            },
        )
        return page(request, text, base, trial=result)

    async def save(request: Request) -> Response:
        text, base, _ = await submitted(request)
        if base != text_hash(current_text()):
            return page(
                request,
                text,
                base,
                error=(
                    f"{path.name} changed since you opened the editor, so nothing was saved. "
                    "Copy your edit, reload the page, and apply it again."
                ),
            )
        try:
            await asyncio.to_thread(save_rules, text, path)
        except ConfigError as exc:
            return page(request, text, base, error=str(exc))
        await console.rules.refresh(now=True)
        log.info(
            "rules_saved_from_console", extra={"topics": len(console.rules.matcher.rules.topics)}
        )
        saved = current_text()
        return page(request, saved, text_hash(saved), saved=True)

    return [
        Route("/rules", editor),
        Route("/rules/try", trial, methods=["POST"]),
        Route("/rules/save", save, methods=["POST"]),
    ]
