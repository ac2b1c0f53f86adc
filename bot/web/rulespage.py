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
MAX_RULES_CHARS = 2_000_000


class RulesPage:
    """The editor of one console."""

    def __init__(self, console: Any) -> None:
        self.console = console
        self.path = console.settings.rules_path
        self.baseline = Baseline()

    def _current(self) -> str:
        return self.path.read_text(encoding="utf-8")

    def _page(self, request: Request, text: str, base: str, **context: Any) -> Response:
        topics = [(t.id, t.name) for t in self.console.rules.matcher.rules.topics]
        return self.console.render(
            request,
            "rules.html",
            status=422 if context.get("error") else 200,
            text=text,
            base=base,
            limit=f"{TRY_LIMIT:,}",
            topics=topics,
            **context,
        )

    @staticmethod
    async def _submitted(request: Request) -> tuple[str, str]:
        form = await request.form()
        text = str(form.get("rules", ""))[:MAX_RULES_CHARS].replace("\r\n", "\n")
        return text, str(form.get("base", ""))

    async def editor(self, request: Request) -> Response:
        """The file as it is now."""
        text = self._current()
        saved = request.query_params.get("saved") == "1"
        return self._page(request, text, text_hash(text), saved=saved)

    async def trial(self, request: Request) -> Response:
        """The edit checked, then tried against the rules in force over the archive."""
        text, base = await self._submitted(request)
        try:
            edited = await asyncio.to_thread(check_rules, text, self.path)
        except ConfigError as exc:
            return self._page(request, text, base, error=str(exc))
        current, archive = self.console.rules.matcher, self.console.store.archive
        result = await asyncio.to_thread(try_rules, current, edited, archive, self.baseline)
        log.info(
            "rules_tried",
            extra={
                "articles": result.articles,
                "newly": result.newly_count,
                "no_longer": result.no_longer_count,
            },
        )
        return self._page(request, text, base, trial=result)

    async def save(self, request: Request) -> Response:
        """Write the edit if it is valid and the file is still the one it was made on."""
        text, base = await self._submitted(request)
        if base != text_hash(self._current()):
            error = (
                f"{self.path.name} changed since you opened the editor, so nothing was saved. "
                "Copy your edit, reload the page, and apply it again."
            )
            return self._page(request, text, base, error=error)
        try:
            await asyncio.to_thread(save_rules, text, self.path)
        except ConfigError as exc:
            return self._page(request, text, base, error=str(exc))
        matcher = await self.console.rules.refresh(now=True)
        log.info("rules_saved_from_console", extra={"topics": len(matcher.rules.topics)})
        saved = self._current()
        return self._page(request, saved, text_hash(saved), saved=True)


def routes(console: Any) -> list[Route]:
    """The editor's pages, bound to ``console``."""
    page = RulesPage(console)
    return [
        Route("/rules", page.editor),
        Route("/rules/try", page.trial, methods=["POST"]),
        Route("/rules/save", page.save, methods=["POST"]),
    ]
