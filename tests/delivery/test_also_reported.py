"""An alert with many "also reported by" outlets still fits in one Telegram message.

Found in issue 17: the list had no length limit, so 20 long outlet names made
Telegram refuse the alert, and it was marked failed. Since then the Telegram
sender cuts any over-long message as a last resort (bot/telegram/sender.py), which
is why the delivery test below passes either way; the list itself is now bounded
where it is built, with the safe-length helper, so the alert is never cut.
"""

from __future__ import annotations

import asyncio

from bot.core.htmltext import split_html, visible_length
from bot.core.message import MESSAGE_LIMIT
from bot.delivery.render import with_outlets
from bot.store import Store
from bot.store.schema import outbox
from tests.helpers.chat import enqueue
from tests.helpers.harness import Harness, rss

OUTLETS = tuple(
    (f"Outlet {n}: " + "Very Long Regional News Service Name & Co. " * 7, f"https://o{n}.test/a")
    for n in range(20)
)


def test_the_outlet_list_is_cut_to_the_room_left() -> None:
    body = "<b>Title</b>\n" + "word " * 700  # ~3,500 visible characters
    text = with_outlets(body, OUTLETS, "en")
    assert visible_length(text) <= MESSAGE_LIMIT
    assert split_html(text) == [text], "one message, valid HTML"
    assert "Also reported by: " in text and text.endswith("…</a></i>")
    full = "<b>Title</b>\n" + "word " * 810  # no room left worth a line
    assert with_outlets(full, OUTLETS, "en") == full
    short = with_outlets("<b>Title</b>", (("Reuters", "https://r.test/a"),), "en")
    assert short == (
        '<b>Title</b>\n\n<i>Also reported by: <a href="https://r.test/a">Reuters</a></i>'
    )


async def test_such_an_alert_is_delivered_not_refused(harness: Harness) -> None:
    harness.site.route("/f.xml", rss([]))
    harness.write(["/f.xml"])
    store = Store.open(harness.settings().db_url)
    store.feeds.sync([(harness.site.url("/f.xml"), "Feed", None, None)])
    [text] = enqueue(store, [81], 1)
    with store.engine.begin() as conn:
        conn.execute(outbox.update().values(also=[{"name": n, "url": u} for n, u in OUTLETS]))
    store.close()
    async with harness.running() as service:
        await harness.wait_sent(lambda a: any(m["chat_id"] == 81 for m in a.calls("sendMessage")))
        for _ in range(100):  # its outcome is recorded just after the answer (bounded poll)
            counts = service.store.outbox.counts()
            if "pending" not in counts:
                break
            await asyncio.sleep(0.05)
    sent = [m["text"] for m in harness.telegram.sent if m["chat_id"] == 81]
    assert len(sent) == 1 and text in sent[0] and "Also reported by" in sent[0]
    assert counts == {"sent": 1}, counts
