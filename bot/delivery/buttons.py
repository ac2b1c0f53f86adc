"""The buttons under an alert, drawn from its outbox row and the chat's state at send time.

For each of the chat's topics in the alert: mute it for a day (or unmute) and
unsubscribe (or follow again); then "not relevant", and a link to read the
article translated into the chat's language when it is written in another. Every
callback is signed for the chat (``bot.core.callbacks``) and names the outbox
row and the topic's place in it, which fits Telegram's 64 bytes whatever the ids.
Drawn at each send and edit, so an "also reported by" edit keeps them current.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from urllib.parse import quote

from bot.core.callbacks import Signer
from bot.core.htmltext import cut_text
from bot.core.i18n import texts
from bot.core.message import Button, Keyboard
from bot.store import Store
from bot.store.alertstate import AlertState
from bot.store.outbox import PendingAlert

MUTE_FOR = timedelta(days=1)
MUTE, UNMUTE, UNSUBSCRIBE, FOLLOW, NOT_RELEVANT = "am", "au", "ax", "af", "nr"
ACTIONS = (MUTE, UNMUTE, UNSUBSCRIBE, FOLLOW, NOT_RELEVANT)
TOPIC_ROWS = 3
LABEL_CHARS = 40


class AlertButtons:
    """Draws an alert's keyboard; the Telegram side answers its presses."""

    def __init__(
        self,
        store: Store,
        signer: Signer,
        topic_names: Callable[[], dict[str, str]],
        translate_url: str | None = None,
    ) -> None:
        self.store, self.signer, self.topic_names = store, signer, topic_names
        self.translate_url = translate_url

    def keyboard(self, alert: PendingAlert) -> Keyboard:
        """The buttons for this alert as things stand (none for a digest)."""
        if alert.article_id is None:
            return ()
        t = texts(alert.lang)
        state = self.store.alert_states.of(alert.chat_id, alert.article_id)
        rows = self._topic_rows(alert, state)
        reported = state.reported
        label = t.plain("✓ Reported as not relevant") if reported else t.plain("👎 Not relevant")
        rows.append((Button(label, data=self._sign(alert, NOT_RELEVANT)),))
        url = self._read_url(alert, state)
        if url:
            # Translators: a link to a machine translation into this catalogue's language;
            # name your own language ("Auf Deutsch lesen", "Читать по-русски").
            rows.append((Button(t.plain("🌐 Read in English"), url=url),))
        return tuple(rows)

    def _sign(self, alert: PendingAlert, action: str, *fields: object) -> str:
        return self.signer.sign(alert.chat_id, action, alert.id, *fields)

    def _topic_rows(self, alert: PendingAlert, state: AlertState) -> list[tuple[Button, ...]]:
        t = texts(alert.lang)
        names = self.topic_names()
        following = state.following
        known = [(i, topic) for i, topic in enumerate(alert.topics) if topic in names]
        one = len(known) == 1
        rows = []
        for i, topic in known[:TOPIC_ROWS]:
            name = cut_text(names[topic], LABEL_CHARS)
            if topic in state.muted:
                mute = Button(
                    t.plain("🔔 Unmute") if one else t.plain("🔔 {topic}", topic=name),
                    data=self._sign(alert, UNMUTE, i),
                )
            else:
                mute = Button(
                    t.plain("🔕 Mute for a day")
                    if one
                    else t.plain("🔕 {topic} · 1 day", topic=name),
                    data=self._sign(alert, MUTE, i),
                )
            if topic in following:
                sub = Button(
                    t.plain("✖ Unsubscribe") if one else t.plain("✖ {topic}", topic=name),
                    data=self._sign(alert, UNSUBSCRIBE, i),
                )
            else:
                sub = Button(
                    t.plain("➕ Follow again") if one else t.plain("➕ {topic}", topic=name),
                    data=self._sign(alert, FOLLOW, i),
                )
            rows.append((mute, sub))
        return rows

    def read_url(self, alert: PendingAlert) -> str | None:
        """A translation page for the article, when it is in another language than the chat's."""
        if alert.article_id is None:
            return None
        return self._read_url(alert, self.store.alert_states.of(alert.chat_id, alert.article_id))

    def _read_url(self, alert: PendingAlert, state: AlertState) -> str | None:
        if not self.translate_url or alert.article_id is None or not alert.lang:
            return None
        if state.url is None or not state.language:  # pruned, or its language unknown
            return None
        if state.language.split("-")[0].lower() == alert.lang:
            return None
        return self.translate_url.format(lang=alert.lang, url=quote(state.url, safe=""))
