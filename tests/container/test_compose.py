"""The image, built and run with a real Docker engine, as the README's docker quick start.

A copy of the project (its tracked and untracked files: what a fresh clone plus
your edits holds) is set up with the README's own commands, pointed at the
loopback fake Bot API and a loopback feed, built, and run with compose on the
host's network (so the container reaches 127.0.0.1). Checked, in order:

- it turns healthy (the real ``newsbot healthcheck``) and delivers an alert;
- it runs as a non-root uid, even though the README was followed by root here;
- ``compose stop`` exits 0 in under 10 s;
- after ``compose up`` again nothing is re-sent and the subscription is kept;
- with a read-only ``state/`` it says so in one line per attempt, exit code 2, and
  Docker's restarts back off instead of hammering.

Skipped, with the reason, where no engine runs. The timings are printed (they
are figures for the closing note, not assertions, except the 10 s stop limit
that the issue sets). See tests/container/engine.py for the base image.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from tests.container import engine
from tests.container.figures import note
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeBotAPI
from tests.fakes.web import HTML, LoopbackSite
from tests.helpers.harness import CORPUS, ROOT, rss

IMAGE = "newsbot:container-test"
CHAT = 4242
STOP_LIMIT = 10.0
TITLE = "OVKS beginnt Truppenabzug aus Kasachstan"

# A first build on a new machine takes minutes (the base image, then the dependencies).
pytestmark = [pytest.mark.container, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def docker() -> list[str]:
    """The compose command, or a skip saying what is missing."""
    problem = engine.engine_problem()
    if problem:
        pytest.skip(problem)
    compose = engine.compose_command()
    if compose is None:
        pytest.skip("neither `docker compose` nor docker-compose is installed")
    return compose


def dockerfile_base() -> str:
    match = re.search(r"^ARG BASE_IMAGE=(\S+)", (ROOT / "Dockerfile").read_text(), re.M)
    assert match, "the Dockerfile names its base image in ARG BASE_IMAGE"
    return match.group(1)


@pytest.fixture(scope="module")
def base(docker: list[str]) -> engine.BaseImage:
    try:
        found = engine.base_image(dockerfile_base())
    except LookupError as exc:
        pytest.skip(str(exc))
    note("base image", f"{found.tag} ({found.how}, {found.seconds:.0f} s)")
    return found


def project_files() -> list[str]:
    """What a clone holds, plus untracked files that git would not ignore."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode != 0:
        pytest.skip("not a git checkout: cannot tell which files a clone would have")
    return [f for f in listed.stdout.split("\0") if f and (ROOT / f).is_file()]


def copy_project(dest: Path) -> None:
    for name in project_files():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)


def readme_compose_steps() -> list[str]:
    """The README's docker quick start, up to (not including) the docker commands."""
    text = (ROOT / "README.md").read_text()
    start = text.index("## Quick start with docker compose")
    block = re.search(r"```sh\n(.*?)```", text[start:], re.S)
    assert block
    lines = block.group(1).splitlines()
    first_docker = next(i for i, line in enumerate(lines) if line.startswith("docker "))
    assert lines[first_docker].startswith("docker compose up -d --build"), lines
    return lines[:first_docker]


class Deployment:
    """One compose project in a folder of its own, against the loopback fakes."""

    def __init__(self, root: Path, compose: list[str], site: LoopbackSite, api: FakeBotAPI):
        self.root, self.site, self.api = root, site, api
        self.compose = [*compose, "-p", f"newsbottest{os.getpid()}"]

    def run(self, *args: str, timeout: float = 600, check: bool = True):
        return engine.run([*self.compose, *args], cwd=self.root, timeout=timeout, check=check)

    def container(self) -> str:
        ids = self.run("ps", "-q", "newsbot").stdout.split()
        assert ids, "no newsbot container"
        return ids[0]

    def inspect(self, template: str) -> str:
        return engine.run(["docker", "inspect", "--format", template, self.container()]).stdout

    def logs(self) -> str:
        done = engine.run(["docker", "logs", self.container()], check=False)
        return done.stdout + done.stderr

    def wait(self, what: str, check, timeout: float = 120.0) -> float:
        """Seconds until ``check()`` holds; fails with the container's log after ``timeout``."""
        start = time.monotonic()
        while not check():
            if time.monotonic() - start > timeout:
                pytest.fail(
                    f"timed out after {timeout} s waiting for {what}\n{self.logs()[-3000:]}"
                )
            time.sleep(0.25)
        return time.monotonic() - start

    def healthy(self) -> bool:
        return self.inspect("{{.State.Health.Status}}").strip() == "healthy"

    def alerts(self) -> list[str]:
        return [m["text"] for m in self.api.sent if m["chat_id"] == CHAT and TITLE in m["text"]]

    def say(self, text: str) -> str:
        """Send ``text`` from the test chat; return the bot's reply."""
        before = len([m for m in self.api.sent if m["chat_id"] == CHAT])
        self.api.push_message(CHAT, text)
        self.api.wait_for(lambda a: len([m for m in a.sent if m["chat_id"] == CHAT]) > before, 60)
        return [m for m in self.api.sent if m["chat_id"] == CHAT][-1]["text"]


# Five runs of the real command inside the container, timed there (no docker exec cost).
TIME_HEALTHCHECK = """
import statistics, subprocess, time
runs, out = [], ""
for _ in range(5):
    start = time.perf_counter()
    out = subprocess.run(["newsbot", "healthcheck"], capture_output=True, text=True).stdout
    runs.append(time.perf_counter() - start)
print(f"median {statistics.median(runs):.2f} s, max {max(runs):.2f} s of 5 ({out.strip()})")
"""


def seconds_between(start: str, end: str) -> float:
    """Seconds between two of Docker's RFC 3339 timestamps (nanoseconds cut to micro)."""

    def parse(stamp: str) -> datetime:
        stamp = re.sub(r"(\.\d{6})\d*", r"\1", stamp.replace("Z", "+00:00"))
        return datetime.fromisoformat(stamp)

    return (parse(end) - parse(start)).total_seconds()


def write_config(root: Path, site: LoopbackSite, api: FakeBotAPI) -> None:
    settings = yaml.safe_load((root / "config" / "settings.yaml").read_text())
    settings.update(poll_interval_seconds=1, log_level="INFO")
    settings["fetch"].update(allow_loopback=True, per_host_interval_seconds=0, deadline_seconds=5)
    settings["polling"].update(adaptive=False, jitter=0, min_interval_seconds=0.5)
    settings["telegram"].update(base_url=api.base_url, poll_timeout_seconds=1)
    settings["alerts"].update(deliver_interval_seconds=0.2, per_chat_interval_seconds=0)
    settings["extract"] = {"workers": 1}
    (root / "config" / "settings.yaml").write_text(yaml.safe_dump(settings))
    feeds = {"feeds": [{"url": site.url("/feed.xml"), "name": "Loopback wire"}]}
    (root / "config" / "feeds.yaml").write_text(yaml.safe_dump(feeds))


def write_override(root: Path) -> None:
    """Host networking (the engine runs without a bridge, the fakes are on loopback),
    a test tag, and a healthcheck that looks every 2 s instead of every 60 s."""
    override = {
        "services": {
            "newsbot": {
                "image": IMAGE,
                "network_mode": "host",
                "build": {"network": "host"},
                "healthcheck": {"interval": "2s", "start_period": "60s"},
                # Host networking: the console would take the host's port 8080.
                "environment": {"NEWSBOT_WEB__PORT": "0"},
            }
        }
    }
    (root / "docker-compose.override.yml").write_text(yaml.safe_dump(override))
    # Host networking takes no port bindings, and an override can only add ports:
    # drop the console's from this copy of the compose file.
    compose_file = root / "docker-compose.yml"
    compose = yaml.safe_load(compose_file.read_text())
    compose["services"]["newsbot"].pop("ports", None)
    compose_file.write_text(yaml.safe_dump(compose, sort_keys=False))


@pytest.fixture(scope="module")
def deployment(
    docker: list[str], base: engine.BaseImage, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("clone") / "newsbot"
    start = time.monotonic()
    copy_project(root)
    note("project copy", f"{len(project_files())} files in {time.monotonic() - start:.1f} s")
    with LoopbackSite() as site, FakeBotAPI() as api:
        write_config(root, site, api)
        steps = "\n".join(readme_compose_steps())
        done = subprocess.run(["sh", "-ec", steps], cwd=root, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        with open(root / ".env", "a") as env:
            env.write(f"TELEGRAM_BOT_TOKEN={DEFAULT_TOKEN}\nNEWSBOT_BASE_IMAGE={base.tag}\n")
        write_override(root)
        site.route("/feed.xml", rss([]))
        deployed = Deployment(root, docker, site, api)
        start = time.monotonic()
        deployed.run("build", timeout=1500)
        note("compose build (legacy builder)", f"{time.monotonic() - start:.1f} s")
        note("image size", f"{engine.image_size(IMAGE) / 1e6:.0f} MB ({IMAGE})")
        try:
            yield deployed
        finally:
            (root / "state").chmod(0o755)
            deployed.run("down", "-v", "-t", "5", check=False, timeout=120)


def test_healthy_alerts_once_runs_as_non_root_stops_fast_and_keeps_state(
    deployment: Deployment,
) -> None:
    d, site = deployment, deployment.site
    d.run("down", "-t", "5")  # whatever an earlier test left
    start = time.monotonic()
    d.run("up", "-d", "--no-build")
    d.wait("the container to turn healthy", d.healthy)
    note("up -d to healthy", f"{time.monotonic() - start:.1f} s")

    # Non-root, although the README's steps were followed by root on this machine.
    uid = engine.run(["docker", "exec", d.container(), "id", "-u"]).stdout.strip()
    assert uid != "0", "the container runs as root"
    db = d.root / "state" / "newsbot.sqlite3"
    assert db.is_file() and db.stat().st_uid == int(uid), "the bot owns its database"
    if os.getuid() == 0:
        assert uid == "10001", "as root, the README hands state/ to the image's user"
    lines = [line for line in d.logs().splitlines() if " INFO " in line]
    assert "newsbot_started" in lines[0] and 'database="sqlite:////app/state/' in lines[0]

    reply = d.say("/subscribe kazakhstan")
    assert "kazakhstan" in reply.lower(), reply
    page = (CORPUS / "pages" / "standard_de.html").read_bytes()
    site.route("/article/1", page, content_type=HTML)
    item = {"title": TITLE, "link": site.url("/article/1"), "date": datetime.now(UTC)}
    start = time.monotonic()
    site.route("/feed.xml", rss([item]))
    d.api.wait_for(lambda _: len(d.alerts()) >= 1, 60)
    note("new item to alert", f"{time.monotonic() - start:.1f} s")

    inside = engine.run(["docker", "exec", d.container(), "python", "-c", TIME_HEALTHCHECK])
    note("newsbot healthcheck inside the running container", inside.stdout.strip())
    assert "healthy: polls on time" in inside.stdout, inside.stdout
    probes = json.loads(d.inspect("{{json .State.Health.Log}}"))
    durations = sorted(seconds_between(p["Start"], p["End"]) for p in probes)
    note(
        "Docker's own health probes (docker exec included)",
        f"median {durations[len(durations) // 2]:.2f} s, max {durations[-1]:.2f} s "
        f"of {len(durations)}",
    )

    start = time.monotonic()
    stopped = d.run("stop", check=False, timeout=60)
    seconds = time.monotonic() - start
    note("compose stop", f"{seconds:.1f} s")
    assert stopped.returncode == 0, stopped.stderr
    assert seconds < STOP_LIMIT, f"compose stop took {seconds:.1f} s"
    assert d.inspect("{{.State.ExitCode}}").strip() == "0", d.logs()[-2000:]

    start = time.monotonic()
    d.run("up", "-d", "--no-build")
    d.wait("healthy again", d.healthy)
    note("second up -d to healthy", f"{time.monotonic() - start:.1f} s")
    polls = site.hits("/feed.xml")
    site.wait_for(lambda s: s.hits("/feed.xml") >= polls + 2, 60)  # two more full cycles
    assert len(d.alerts()) == 1, "an alert was sent again after the restart"
    reply = d.say("/mysubs")
    assert "kazakhstan" in reply.lower(), f"the subscription was lost: {reply}"
    d.run("down", "-t", "10")


def test_a_read_only_state_directory_is_one_clear_line_and_restarts_back_off(
    deployment: Deployment,
) -> None:
    d = deployment
    d.run("down", "-t", "5")  # whatever an earlier test left
    state = d.root / "state"
    state.chmod(0o555)  # the image's user owns it, and still may not write
    started = datetime.now(UTC)
    d.run("up", "-d", "--no-build")
    d.wait(
        "seven failed starts",
        lambda: int(d.inspect("{{.RestartCount}}").strip() or 0) >= 7,
        timeout=120,
    )
    container = d.container()
    events = engine.run(
        [
            "docker", "events", "--since", started.strftime("%Y-%m-%dT%H:%M:%S"),
            "--until", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f"),
            "--filter", f"container={container}", "--filter", "event=start",
            "--format", "{{.TimeNano}}",
        ],
        timeout=60,
    ).stdout.split()  # fmt: skip
    d.run("down", "-t", "5")
    state.chmod(0o755)

    starts = [int(ns) / 1e9 for ns in events]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    note("read-only state/: gaps between restarts", ", ".join(f"{g:.1f} s" for g in gaps))
    assert len(starts) >= 7, events
    assert gaps[-1] > 2 * gaps[0], f"restarts do not back off: {gaps}"


def test_the_read_only_state_message(deployment: Deployment) -> None:
    d = deployment
    d.run("down", "-t", "5")  # whatever an earlier test left
    state = d.root / "state"
    state.chmod(0o555)
    try:
        done = d.run("run", "--rm", "-T", "--no-deps", "newsbot", "run", check=False, timeout=120)
    finally:
        state.chmod(0o755)
    output = (done.stdout + done.stderr).strip()
    assert done.returncode == 2, output
    assert "Traceback" not in output
    message = [line for line in output.splitlines() if "newsbot:" in line]
    note("read-only state/ message", " | ".join(message))
    uid, gid = (10001, 10001) if os.getuid() == 0 else (os.getuid(), os.getgid())
    assert message == [
        f"newsbot: cannot start: state directory /app/state is not writable by uid {uid} "
        f"(gid {gid}): give that user write access (e.g. chown -R {uid}:{gid} on it), "
        "or set state_dir (NEWSBOT_STATE_DIR) to a writable folder"
    ], output


def test_the_image_builds_with_buildkit_offline(base: engine.BaseImage) -> None:
    """With BuildKit, the old '# syntax=' line made every build pull a frontend image."""
    builder = engine.buildkit_build()
    if builder is None:
        pytest.skip("no BuildKit here (no buildx plugin and no docker CLI older than 23)")
    argv, env = builder
    start = time.monotonic()
    engine.run(
        [*argv, "--network", "host", "--build-arg", f"BASE_IMAGE={base.tag}",
         "-t", f"{IMAGE}-buildkit", str(ROOT)],
        env={**os.environ, **env},
        timeout=1500,
    )  # fmt: skip
    note("BuildKit build", f"{time.monotonic() - start:.1f} s ({' '.join(argv[:2])})")
    assert engine.image_exists(f"{IMAGE}-buildkit")
