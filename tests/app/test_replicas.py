"""Several ``newsbot run`` replicas on one PostgreSQL database, as real processes.

Each replica is ``python -m bot --config DIR run`` with its own config directory
(tests.test_process.Bot), all pointing at one fresh database (tests.pg), with
distinct ``replica.id`` and ``fetch.user_agent``, short leases and leader checks.
Feeds and article pages come from one LoopbackSite, Telegram is one FakeBotAPI.
The site records who fetched what (by User-Agent) and when, so the tests can see
which replica did which work without any hook in bot/.

Article pages can be *held*: a request for one is answered only when the test
releases them. A replica waiting for a held page is stuck in its polling cycle and
claims nothing more, which is how the tests spread the work deterministically and
catch a replica mid-cycle. Every wait is on a condition, with a timeout.
"""

from __future__ import annotations

import hashlib
import random
import re
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from bot.config.settings import load_settings
from bot.store import Store
from bot.store.schema import feeds, outbox
from tests.fakes.telegram_api import FakeBotAPI
from tests.fakes.web import HTML, RSS, LoopbackSite, RequestInfo
from tests.helpers.harness import ROOT, Harness, rss
from tests.helpers.process import Bot, parses, wait_until

LEADER_CHECK = 0.5  # replica.leader_check_seconds
LEASE = 3.0  # replica.lease_seconds where a lease has to run out during the test
LONG_LEASE = 15.0  # where it must not: longer than any held page (as 600 s > 30 s in prod)
DEADLINE = 15.0  # fetch.deadline_seconds: a held page is not given up on
TAKEOVER_LIMIT = 10.0  # seconds from the leader's SIGKILL to the new leader's answers
CHATS = (7001, 7002)  # subscribed to kazakhstan before the replicas start
HOLD_LIMIT = 30.0  # a held request is answered after this anyway (never reached)
VOCABULARY = (
    "harvest river council budget market railway winter summer bridge school "
    "hospital factory engineer farmer teacher museum library festival orchestra "
    "tunnel harbour airport highway village mountain valley forest desert island "
    "weather report minister committee election parliament court judge lawyer "
    "company profit export import contract tender pipeline cable satellite rocket "
    "vaccine clinic doctor nurse student exam lecture theatre novel poem painter "
    "camera studio stadium coach striker goal season league trophy medal record"
)
WORDS = VOCABULARY.split()


def text(seed: str, words: int = 120) -> str:
    """A distinct pseudo-random paragraph (distinct texts are distinct stories)."""
    rng = random.Random(hashlib.sha256(seed.encode()).digest())
    return " ".join(rng.choice(WORDS) for _ in range(words))


@dataclass
class Item:
    feed: int
    n: int
    on_topic: bool
    path: str
    title: str


@dataclass
class Farm:
    """Feeds whose items are published on cue, and article pages that can be held."""

    site: LoopbackSite
    feeds: int
    items_per_feed: int = 3
    hold: bool = True
    published: set[int] = field(default_factory=set)
    log: list[tuple[float, str, str]] = field(default_factory=list)  # (time, agent, path)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    date: datetime = field(default_factory=lambda: datetime.now(UTC))  # of every item

    def __post_init__(self) -> None:
        self.items = {
            f: [self._item(f, n) for n in range(self.items_per_feed)] for f in range(self.feeds)
        }
        for f in range(self.feeds):
            self.site.route_fn(self.feed_path(f), self._feed(f))
            for item in self.items[f]:
                self.site.route_fn(item.path, self._page(item))

    @staticmethod
    def feed_path(f: int) -> str:
        return f"/feed/{f}.xml"

    @property
    def paths(self) -> list[str]:
        return [self.feed_path(f) for f in range(self.feeds)]

    def _item(self, f: int, n: int) -> Item:
        # Items 0 are on topic, items 1 not, items 2 on topic in every other feed.
        on_topic = n == 0 or (n == 2 and f % 2 == 0)
        subject = "Kazakhstan" if on_topic else "Lisbon"
        return Item(f, n, on_topic, f"/a/{f}/{n}", f"{subject} {text(f'{f}/{n}', 3)} {f}-{n}")

    def link(self, item: Item) -> str:
        return self.site.url(item.path)

    def expected(self, feeds: range | list[int] | None = None) -> set[str]:
        """Links of every on-topic item (of these feeds)."""
        wanted = range(self.feeds) if feeds is None else feeds
        return {self.link(i) for f in wanted for i in self.items[f] if i.on_topic}

    def publish(self, feeds: range | list[int]) -> None:
        with self.lock:
            self.published.update(feeds)

    def _record(self, info: RequestInfo) -> None:
        with self.lock:
            self.log.append((time.time(), info.headers.get("user-agent", ""), info.path))

    def _feed(self, f: int):
        def respond(info: RequestInfo) -> tuple[int, dict[str, str], str]:
            self._record(info)
            with self.lock:
                live = f in self.published
            entries = [
                {
                    "title": i.title,
                    "link": self.link(i),
                    "description": text(f"summary {i.path}", 25),
                    "date": self.date,
                }
                for i in (self.items[f] if live else [])
            ]
            body = rss(entries, title=f"Feed {f}")
            etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:16] + '"'
            if info.headers.get("if-none-match") == etag:
                return 304, {"ETag": etag}, ""
            return 200, {"Content-Type": RSS, "ETag": etag}, body

        return respond

    def _page(self, item: Item):
        paragraphs = "".join(f"<p>{text(f'{item.path}/{p}', 60)}</p>" for p in range(4))
        mention = "<p>The report concerns Kazakhstan.</p>" if item.on_topic else ""
        page = (
            f"<html><head><title>{item.title}</title></head><body>"
            f"<nav>Home News Sport</nav><article><h1>{item.title}</h1>"
            f"{paragraphs}{mention}</article><footer>Contact</footer></body></html>"
        )

        def respond(info: RequestInfo) -> tuple[int, dict[str, str], str]:
            self._record(info)
            if self.hold:
                self.release.wait(HOLD_LIMIT)
            return 200, {"Content-Type": HTML}, page

        return respond

    def requests(self, agent: str | None = None, prefix: str = "") -> list[tuple[float, str]]:
        """(time, path) of the requests from ``agent`` (any) whose path starts with prefix."""
        with self.lock:
            return [
                (t, p)
                for t, a, p in self.log
                if (agent is None or a == agent) and p.startswith(prefix)
            ]

    def page_agents(self) -> set[str]:
        with self.lock:
            return {a for _, a, p in self.log if p.startswith("/a/")}


class Replica:
    """One replica: its own config directory and log, the shared database."""

    def __init__(self, name: str, root: Path, site: LoopbackSite, api: FakeBotAPI) -> None:
        self.name = name
        self.agent = f"newsbot-test/{name}"
        root.mkdir()
        self.harness = Harness(root, site, api)
        self.bot = Bot(self.harness)

    def configure(self, farm: Farm, db: str, lease: float) -> None:
        self.harness.write(
            farm.paths,
            database_url=db,
            log_json=True,
            replica={"id": self.name, "lease_seconds": lease, "leader_check_seconds": LEADER_CHECK},
            # Many replicas hammer one small test server: give its accept queue time.
            fetch={
                "user_agent": self.agent,
                "deadline_seconds": DEADLINE,
                "connect_timeout_seconds": 5,
            },
            alerts={"first_poll_max_age_hours": 24},
        )

    def leads(self) -> bool:
        return self.bot.event("leadership_acquired") is not None

    def events(self, name: str) -> list[dict]:
        return [e for e in self.bot.events() if e.get("event") == name]

    def errors(self) -> list[dict]:
        """newsbot's own error lines (a lost race, a crashed job, a failed item)."""
        return [
            e
            for e in self.bot.events()
            if e.get("level") in ("error", "critical") and e.get("logger", "").startswith("bot.")
        ]


class Cluster:
    def __init__(self, root: Path, site: LoopbackSite, api: FakeBotAPI, db: str) -> None:
        self.root, self.site, self.api, self.db = root, site, api, db
        self.replicas: list[Replica] = []
        self.farm: Farm | None = None
        self.store = Store.open(db)  # migrated once; the test reads through it
        for chat in CHATS:
            self.store.subs.subscribe(chat, "kazakhstan")

    def start(self, count: int, farm: Farm, lease: float) -> list[Replica]:
        """Start ``count`` replicas and wait until all are polling and one leads."""
        self.farm = farm
        new = [
            Replica(f"r{i}", self.root / f"r{i}", self.site, self.api)
            for i in range(len(self.replicas), len(self.replicas) + count)
        ]
        for replica in new:
            replica.configure(farm, self.db, lease)
            replica.bot.start()
        self.replicas += new
        for replica in new:
            wait_until(
                lambda r=replica: r.bot.event("newsbot_started"),  # it may get no feed to poll
                f"{replica.name} polling",
                60,
                bot=replica.bot,
            )
        wait_until(self.first_polled, "every feed's first poll", 30)
        wait_until(lambda: self.leaders(), "a leader", 30)
        wait_until(lambda: self.api.calls("getUpdates"), "the leader polling Telegram", 30)
        return new

    def leaders(self) -> list[Replica]:
        return [r for r in self.replicas if r.leads()]

    def first_polled(self) -> bool:
        assert self.farm is not None
        with self.store.engine.connect() as conn:
            done = conn.scalar(
                sa.select(sa.func.count())
                .select_from(feeds)
                .where(feeds.c.first_polled_at.is_not(None))
            )
        return done == self.farm.feeds

    def outbox_status(self) -> Counter[str]:
        with self.store.engine.connect() as conn:
            return Counter(
                dict(
                    conn.execute(
                        sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status)
                    ).all()
                )
            )

    def leases(self, owner: str) -> dict[str, datetime]:
        """config URL -> lease_until of the feeds ``owner`` holds."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                sa.select(feeds.c.config_url, feeds.c.lease_until).where(
                    feeds.c.lease_owner == owner
                )
            ).all()
        return dict(rows)

    def alerts(self) -> dict[int, Counter[str]]:
        """Per chat: how often each article link was alerted."""
        out: dict[int, Counter[str]] = {chat: Counter() for chat in CHATS}
        for message in self.api.sent:
            if message["chat_id"] in out:
                out[message["chat_id"]].update(re.findall(r'<a href="([^"]+)"', message["text"]))
        return out

    def delivered(self, expected: set[str]) -> bool:
        """Every expected alert reached every chat, and nothing is left to send."""
        got = self.alerts()
        if not all(set(got[chat]) >= expected for chat in CHATS):
            return False
        status = self.outbox_status()
        return status["pending"] == 0 and status["sent"] == len(expected) * len(CHATS)

    def stop_all(self) -> None:
        for replica in self.replicas:
            if replica.bot.proc is not None and replica.bot.proc.poll() is None:
                code, seconds = replica.bot.stop(signal.SIGTERM)
                assert code == 0, replica.bot.tail()
                assert seconds < 10, f"{replica.name} took {seconds:.1f} s to stop"

    def cleanup(self) -> None:
        if self.farm is not None:
            self.farm.release.set()
        for replica in self.replicas:
            replica.bot.cleanup()
        self.store.close()


@pytest.fixture
def cluster(
    tmp_path: Path,
    site: LoopbackSite,
    telegram: FakeBotAPI,
    pg_url: str,
) -> Iterator[Cluster]:
    c = Cluster(tmp_path, site, telegram, pg_url)
    try:
        yield c
    finally:
        c.cleanup()


def assert_each_alerted_once(cluster: Cluster, expected: set[str]) -> None:
    for chat, got in cluster.alerts().items():
        assert set(got) == expected, f"chat {chat}: lost {expected - set(got)}"
        repeated = {link: n for link, n in got.items() if n > 1}
        assert not repeated, f"chat {chat}: alerted more than once: {repeated}"


@pytest.mark.replicas
@pytest.mark.process
@pytest.mark.parametrize("count", [2, 3])
def test_replicas_share_a_farm_with_no_lost_and_no_duplicate_alert(
    cluster: Cluster, site: LoopbackSite, count: int
) -> None:
    farm = Farm(site, feeds=20)
    replicas = cluster.start(count, farm, LONG_LEASE)
    assert len(cluster.leaders()) == 1, "exactly one replica leads"

    # Publish the items in one wave per replica. A replica fetching a held page is
    # stuck in its cycle and claims nothing more, so each wave busies one more replica.
    waves = [list(range(w, farm.feeds, count)) for w in range(count)]
    for w, wave in enumerate(waves):
        farm.publish(wave)
        wait_until(
            lambda w=w: len(farm.page_agents()) > w, f"wave {w} taken by another replica", 20
        )
    farm.release.set()
    expected = farm.expected()
    assert len(expected) == 30
    wait_until(lambda: cluster.delivered(expected), "every alert to every chat", 40)
    leaders = cluster.leaders()
    polled = [r.name for r in replicas if r.events("telegram_polling_started")]
    cluster.stop_all()  # SIGTERM: all exit 0; nothing more can be sent after this

    assert_each_alerted_once(cluster, expected)
    for replica in replicas:
        assert not replica.errors(), replica.bot.tail()
    for replica in replicas:  # fetching and extraction both ran on every replica
        feeds_polled = farm.requests(replica.agent, "/feed/")
        pages = farm.requests(replica.agent, "/a/")
        matched = replica.events("article_matched")
        assert feeds_polled and pages and matched, f"{replica.name} did no work"
    matched = Counter(e["url"] for r in replicas for e in r.events("article_matched"))
    assert set(matched) == expected and set(matched.values()) == {1}, "each matched once"
    assert len(leaders) == 1, "one leader all along (until the replicas were stopped)"
    assert polled == [leaders[0].name], "only the leader polled Telegram"
    print(
        f"{count} replicas:",
        {r.name: len(r.events("article_matched")) for r in replicas},
        "articles matched,",
        {r.name: len(farm.requests(r.agent, "/feed/")) for r in replicas},
        "feed polls",
    )


@pytest.mark.replicas
@pytest.mark.process
def test_a_replica_killed_mid_cycle_loses_nothing(cluster: Cluster, site: LoopbackSite) -> None:
    farm = Farm(site, feeds=8)
    replicas = cluster.start(2, farm, LEASE)

    first = list(range(0, 8, 2))
    farm.publish(first)
    wait_until(lambda: farm.page_agents(), "a replica to fetch a (held) page", 20)
    victim_agent = sorted(farm.page_agents())[0]
    victim = next(r for r in replicas if r.agent == victim_agent)
    survivor = next(r for r in replicas if r is not victim)
    code, _ = victim.bot.stop(signal.SIGKILL)  # mid-cycle: waiting for its pages
    killed_at = time.time()
    assert code == -signal.SIGKILL
    held = cluster.leases(victim.name)
    assert held, "the victim held feeds when it died"
    assert all(until.timestamp() > killed_at for until in held.values()), "live leases"
    stuck = {int(re.search(r"/feed/(\d+)\.xml", url).group(1)) for url in held}

    farm.hold = False
    farm.release.set()
    farm.publish(range(farm.feeds))  # and more work arrives meanwhile
    expected = farm.expected()
    wait_until(lambda: cluster.delivered(expected), "every alert, after the leases expire", 40)
    cluster.stop_all()

    assert_each_alerted_once(cluster, expected)
    assert not survivor.errors(), survivor.bot.tail()
    # The survivor took each of the victim's feeds only once its lease had run out.
    for url, until in held.items():
        path = url.split(str(site.port), 1)[1]
        after_kill = [t for t, p in farm.requests(survivor.agent, path) if t > killed_at]
        assert after_kill, f"the survivor never polled {path}"
        assert min(after_kill) >= until.timestamp(), f"{path} taken before its lease expired"
    assert stuck <= set(range(farm.feeds))
    waited = min(until.timestamp() for until in held.values()) - killed_at
    print(
        f"killed {victim.name} (leader: {victim.leads()}) holding feeds {sorted(stuck)};",
        f"its leases ran out {waited:.1f} s later, then {survivor.name} polled them",
    )
    matched = {e["url"] for e in survivor.events("article_matched")}
    assert farm.expected(sorted(stuck)) <= matched, "the survivor did the victim's items"
    assert survivor.leads(), "the survivor leads (it did already, or took over)"


@pytest.mark.replicas
@pytest.mark.process
def test_killing_the_leader_moves_telegram_to_another_replica(
    cluster: Cluster, site: LoopbackSite, telegram: FakeBotAPI
) -> None:
    farm = Farm(site, feeds=4, hold=False)
    cluster.start(2, farm, LEASE)
    (leader,) = cluster.leaders()
    survivor = next(r for r in cluster.replicas if r is not leader)
    first = telegram.push_message(8001, "/start")
    wait_until(lambda: [m for m in telegram.sent if m["chat_id"] == 8001], "/start answered", 20)
    telegram.wait_consumed(first, 20)

    # Telegram is unreachable for a while: alerts pile up in the outbox.
    telegram.set_down(True)
    farm.publish(range(farm.feeds))
    expected = farm.expected()
    queued = len(expected) * len(CHATS)
    wait_until(lambda: cluster.outbox_status()["pending"] == queued, "alerts queued", 30)
    tried = len(telegram.calls("sendMessage"))
    wait_until(lambda: len(telegram.calls("sendMessage")) > tried, "the leader retrying", 20)

    code, _ = leader.bot.stop(signal.SIGKILL)
    killed = time.monotonic()
    assert code == -signal.SIGKILL
    telegram.set_down(False)
    telegram.push_message(8002, "/start")

    wait_until(
        lambda: [m for m in telegram.sent if m["chat_id"] == 8002], "the new leader's answer", 20
    )
    answered = time.monotonic() - killed
    wait_until(lambda: cluster.delivered(expected), "the queued alerts", 20)
    drained = time.monotonic() - killed
    assert survivor.leads(), "the survivor took over"
    assert answered < TAKEOVER_LIMIT, f"/start answered {answered:.1f} s after the kill"
    assert drained < TAKEOVER_LIMIT, f"queue drained {drained:.1f} s after the kill"
    cluster.stop_all()
    assert_each_alerted_once(cluster, expected)
    print(f"takeover: /start answered after {answered:.2f} s, queue drained after {drained:.2f} s")


# ---------------------------------------------------------------- the compose profile


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_scale_profile_runs_replicas_on_the_postgres_service(
    compose: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = compose["services"]
    replica, single, pg = services["newsbot-replica"], services["newsbot"], services["postgres"]
    assert replica["profiles"] == ["scale"], "only with --profile scale"
    assert "profiles" not in single, "plain `docker compose up` still runs the single bot"
    assert "scale" in pg["profiles"], "--profile scale alone brings the database up too"
    assert replica["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert replica["command"] == ["run"] and parses(replica["command"])
    # Scalable: no fixed name, no published port, and a replica count to start with.
    assert "container_name" not in replica and "ports" not in replica
    assert isinstance(replica["deploy"]["replicas"], int) and replica["deploy"]["replicas"] >= 2
    # One image, and the same run-time contract as the single bot.
    for key in ("image", "build", "user", "restart", "env_file", "stop_grace_period"):
        assert replica[key] == single[key], key
    assert replica["healthcheck"]["test"] == single["healthcheck"]["test"]
    assert replica["logging"] == single["logging"]
    config = next(v for v in single["volumes"] if v.startswith("./config:"))
    assert replica["volumes"] == [config], "shared config/, and no SQLite state/"

    env = replica["environment"]
    assert "NEWSBOT_REPLICA__ID" not in env, "each container's own hostname-pid is its id"
    raw = env["NEWSBOT_DATABASE_URL"]
    assert "${POSTGRES_PASSWORD" in raw, "the password comes from .env, never the file"
    url = sa.make_url(re.sub(r"\$\{POSTGRES_PASSWORD[^}]*\}", "secret", raw))
    assert url.drivername == "postgresql+psycopg", "psycopg 3 is the installed driver"
    assert (url.host, url.port) == ("postgres", 5432), "the compose service, by name"
    assert url.username == pg["environment"]["POSTGRES_USER"]
    assert url.database == pg["environment"]["POSTGRES_DB"]
    # newsbot reads it as its database (environment beats settings.yaml).
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSBOT_DATABASE_URL", url.render_as_string(hide_password=False))
    assert load_settings(tmp_path).db_url == url.render_as_string(hide_password=False)


def test_the_deployment_guide_shows_how_to_scale_out() -> None:
    guide = (ROOT / "docs" / "deployment.md").read_text()
    assert "--profile scale" in guide
    assert "--scale newsbot-replica=" in guide
    assert "--scale newsbot=0" in guide, "the single SQLite bot must not run beside them"
