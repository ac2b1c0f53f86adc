"""The Dockerfile and docker-compose.yml, checked structurally (no Docker engine needed).

A tiny line-based Dockerfile reader is enough here: we only need instruction
names and arguments, with ``\\`` continuations and comments handled, and a
dependency such as ``dockerfile-parse`` would buy nothing more for these checks.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import tomllib
from pathlib import Path, PurePosixPath

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bot.app.service import ABANDON_WAIT, SHUTDOWN_GRACE
from bot.config.settings import Settings, load_settings
from tests.helpers.harness import ROOT
from tests.helpers.process import parses


def read_dockerfile(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuations joined, comments and blanks dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # comment lines inside a continued instruction are ignored
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        full = (pending + line).strip()
        pending = ""
        name, _, args = full.partition(" ")
        out.append((name.upper(), args.strip()))
    assert not pending, "Dockerfile ends inside a continued line"
    return out


def exec_form(args: str) -> list[str]:
    """The JSON array of an exec-form instruction; fails on shell form."""
    try:
        value = json.loads(args)
    except json.JSONDecodeError:
        pytest.fail(f"not exec form (a JSON array): {args}")
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return read_dockerfile((ROOT / "Dockerfile").read_text())


@pytest.fixture(scope="module")
def service() -> dict:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert "newsbot" in compose["services"], "no newsbot service in docker-compose.yml"
    return compose["services"]["newsbot"]


def last(dockerfile: list[tuple[str, str]], name: str) -> str:
    found = [args for instr, args in dockerfile if instr == name]
    assert found, f"Dockerfile has no {name}"
    return found[-1]


def workdir(dockerfile: list[tuple[str, str]]) -> PurePosixPath:
    return PurePosixPath(last(dockerfile, "WORKDIR"))


# ---------------------------------------------------------------- the reader itself


def test_reader_joins_continuations_and_skips_comments() -> None:
    text = '# syntax=docker/dockerfile:1\nfrom x AS y\n\nRUN a \\\n  # note\n  && b\nCMD ["run"]\n'
    assert read_dockerfile(text) == [("FROM", "x AS y"), ("RUN", "a && b"), ("CMD", '["run"]')]


# ---------------------------------------------------------------- Dockerfile


def build_args(dockerfile: list[tuple[str, str]]) -> dict[str, str]:
    """ARG name -> default, for every ARG in the file."""
    out = {}
    for instr, args in dockerfile:
        if instr == "ARG":
            name, _, default = args.partition("=")
            out[name] = default
    return out


def test_base_image_is_slim_python_and_an_arg(dockerfile: list[tuple[str, str]]) -> None:
    assert dockerfile[0] == ("ARG", dockerfile[0][1]), "the base image's ARG comes before FROM"
    image = next(args for instr, args in dockerfile if instr == "FROM").split()[0]
    assert image == "${BASE_IMAGE}", "mirrors: the base image is a build argument"
    assert re.fullmatch(r"python:3\.1\d-slim(-\w+)?", build_args(dockerfile)["BASE_IMAGE"])


def test_builds_offline_with_buildkit_and_from_a_package_mirror(
    dockerfile: list[tuple[str, str]], service: dict
) -> None:
    """A '# syntax=' line makes BuildKit pull a frontend image: offline builds failed."""
    text = (ROOT / "Dockerfile").read_text()
    assert not re.search(r"^#\s*syntax\s*=", text, re.M | re.I), "no frontend to pull"
    assert build_args(dockerfile)["PIP_INDEX_URL"] == "", "pip's own default unless set"
    args = service["build"]["args"]
    assert args["BASE_IMAGE"] == "${NEWSBOT_BASE_IMAGE:-python:3.11-slim}"
    assert args["PIP_INDEX_URL"] == "${PIP_INDEX_URL:-}"


def test_entrypoint_runs_newsbot_with_run_by_default(dockerfile: list[tuple[str, str]]) -> None:
    entrypoint = exec_form(last(dockerfile, "ENTRYPOINT"))
    cmd = exec_form(last(dockerfile, "CMD"))
    assert entrypoint == ["newsbot"]
    assert cmd == ["run"]
    assert parses(cmd)


def test_runs_as_a_non_root_user(dockerfile: list[tuple[str, str]]) -> None:
    user = last(dockerfile, "USER").split(":")[0]
    assert user.isdigit(), "a numeric uid, so runAsNonRoot-style checks can verify it"
    assert int(user) >= 1000
    users = [i for i, (instr, _) in enumerate(dockerfile) if instr == "USER"]
    entry = max(i for i, (instr, _) in enumerate(dockerfile) if instr in ("ENTRYPOINT", "CMD"))
    assert users[-1] < entry, "USER must come before ENTRYPOINT/CMD"


def test_dependencies_come_from_the_lock_file_in_their_own_layer(
    dockerfile: list[tuple[str, str]],
) -> None:
    copies = [(i, args.split()) for i, (instr, args) in enumerate(dockerfile) if instr == "COPY"]
    runs = [(i, args) for i, (instr, args) in enumerate(dockerfile) if instr == "RUN"]
    lock = next(i for i, srcs in copies if srcs[0] == "requirements.lock")
    # Nothing that changes more often than the lock (README, pyproject, source) comes first.
    first_other = min(i for i, srcs in copies if srcs[0] != "requirements.lock")
    deps = [i for i, args in runs if "-r requirements.lock" in args]
    assert deps, "requirements.lock is never installed"
    assert lock < deps[0] < first_other, "the dependency layer must not depend on other files"
    install = next(args for i, args in runs if i == deps[0])
    assert "--require-hashes" in install and "--no-deps" in install, install
    package = [args for i, args in runs if i > first_other and "pip install" in args]
    assert package and all("--no-deps" in args for args in package), "the package adds no deps"
    for _, parts in copies:
        for src in parts[:-1]:
            if not src.startswith("--"):
                assert (ROOT / src).exists(), f"COPY source {src} is missing from the repo"


def test_image_healthcheck_runs_the_cli(dockerfile: list[tuple[str, str]]) -> None:
    args = last(dockerfile, "HEALTHCHECK")
    _, _, command = args.partition("CMD ")
    assert exec_form(command) == ["newsbot", "healthcheck"]
    assert parses(["healthcheck"])


# ---------------------------------------------------------------- docker-compose.yml


def test_service_restarts_and_reads_the_env_file(service: dict) -> None:
    assert service["restart"] == "unless-stopped"
    env_files = service["env_file"]
    env_files = [env_files] if isinstance(env_files, str) else env_files
    assert env_files
    example = (ROOT / ".env.example").read_text()
    assert re.search(r"^TELEGRAM_BOT_TOKEN=", example, re.M), ".env.example lacks the token"


def test_command_is_a_real_subcommand(service: dict) -> None:
    command = service.get("command", ["run"])
    assert isinstance(command, list), "compose command should be a list (exec form)"
    assert parses(command)


def test_config_and_state_are_mounted_where_the_bot_looks(
    service: dict, dockerfile: list[tuple[str, str]]
) -> None:
    mounts = {}
    for volume in service["volumes"]:
        source, target, *mode = volume.split(":")
        mounts[source.rstrip("/")] = (PurePosixPath(target), mode)
    defaults = Settings.model_fields
    app = workdir(dockerfile)
    assert mounts["./config"][0] == app / defaults["config_dir"].default
    env = dict(
        pair.split("=", 1) for instr, args in dockerfile if instr == "ENV" for pair in args.split()
    )
    assert mounts["./state"][0] == PurePosixPath(env["NEWSBOT_STATE_DIR"]) == app / "state"
    assert last(dockerfile, "VOLUME") == f'["{env["NEWSBOT_STATE_DIR"]}"]'
    # config/ is writable: admins edit rules and feeds from chat, and the files stay the
    # one source of truth.
    assert mounts["./config"][1] in ([], ["rw"]), "chat edits write config/"
    assert mounts["./state"][1] in ([], ["rw"]), "state must be writable"


def test_logs_are_rotated(service: dict) -> None:
    logging = service["logging"]
    assert logging["driver"] == "json-file"
    assert re.fullmatch(r"\d+[kmg]", str(logging["options"]["max-size"]))
    assert int(logging["options"]["max-file"]) >= 1


def test_healthcheck_runs_newsbot_healthcheck(service: dict) -> None:
    test = service["healthcheck"]["test"]
    if isinstance(test, str):
        command = test.split()
    elif test[0] == "CMD-SHELL":
        command = test[1].split()
    else:
        assert test[0] == "CMD", test
        command = test[1:]
    assert command == ["newsbot", "healthcheck"]
    assert parses(command[1:])


def test_stop_grace_period_covers_the_shutdown_grace(service: dict) -> None:
    grace = service.get("stop_grace_period", "10s")  # Docker's default is 10 s
    match = re.fullmatch(r"(\d+)s", str(grace))
    assert match, f"unexpected stop_grace_period {grace!r}"
    assert int(match.group(1)) > SHUTDOWN_GRACE, "SIGKILL would cut off a finishing cycle"


def image_uid(dockerfile: list[tuple[str, str]]) -> str:
    return last(dockerfile, "USER").split(":")[0]


def test_service_runs_as_the_image_user_or_the_host_owner_of_state(
    service: dict,
    dockerfile: list[tuple[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = service["user"]
    match = re.fullmatch(r"\$\{NEWSBOT_UID:-(\d+)\}:\$\{NEWSBOT_GID:-(\d+)\}", user)
    assert match, f"user should default to the image's uid and be overridable: {user!r}"
    assert match.group(1) == image_uid(dockerfile)
    # NEWSBOT_UID / NEWSBOT_GID also reach the container's environment (env_file): the
    # settings must accept them.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSBOT_UID", "1000")
    monkeypatch.setenv("NEWSBOT_GID", "1000")
    assert load_settings(tmp_path).state_dir == tmp_path / "state"


def test_metrics_listen_on_all_interfaces_in_the_container(service: dict) -> None:
    host = str(service["environment"]["NEWSBOT_METRICS_HOST"])
    assert re.fullmatch(r"(\$\{NEWSBOT_METRICS_HOST:-)?0\.0\.0\.0\}?", host), host
    # The metrics have no authentication: only the web console (which has) is published,
    # and only on the host's loopback (README, "Web console").
    assert service["ports"] == ["127.0.0.1:${NEWSBOT_WEB_HOST_PORT:-8080}:8080"]
    assert service["environment"]["NEWSBOT_WEB__HOST"] == "${NEWSBOT_WEB__HOST:-0.0.0.0}"


def test_shutdown_grace_fits_in_ten_seconds() -> None:
    assert SHUTDOWN_GRACE + ABANDON_WAIT <= 9, "newsbot run must exit within 10 s of SIGTERM"


def test_postgres_service_is_an_opt_in_profile() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    pg = compose["services"]["postgres"]
    # Only started with --profile postgres, or --profile scale (the replicas need it).
    assert "postgres" in pg["profiles"] and set(pg["profiles"]) <= {"postgres", "scale"}
    assert re.fullmatch(r"postgres:16-alpine", pg["image"])
    assert pg["restart"] == "unless-stopped"
    source, target = pg["volumes"][0].split(":")[:2]
    assert target == "/var/lib/postgresql/data"
    assert source in compose["volumes"], "data lives in a named volume"
    test = pg["healthcheck"]["test"]
    command = test[1] if test[0] == "CMD-SHELL" else " ".join(test[1:])
    assert command.startswith("pg_isready")
    password = str(pg["environment"]["POSTGRES_PASSWORD"])
    assert re.fullmatch(r"\$\{POSTGRES_PASSWORD(:-)?\}", password), "no password in the file"
    assert "ports" not in pg, "the database is reachable inside the compose network only"
    newsbot = compose["services"]["newsbot"]
    assert "postgres" not in (newsbot.get("depends_on") or {}), "newsbot runs without it"


# ---------------------------------------------------------------- requirements.lock


def read_lock(text: str) -> dict[str, tuple[str, list[str]]]:
    """name -> (pinned version, hashes), from pip-compile --generate-hashes output."""
    pins: dict[str, tuple[str, list[str]]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip().removesuffix("\\").strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("--hash="):
            assert current is not None, f"hash before any requirement: {raw}"
            pins[current][1].append(line.removeprefix("--hash="))
            continue
        assert not raw[0].isspace() and "==" in line, f"unpinned lock line: {raw}"
        name, _, version = line.partition("==")
        current = canonicalize_name(name)
        pins[current] = (version.split(";")[0].strip(), [])
    return pins


@pytest.fixture(scope="module")
def lock() -> dict[str, tuple[str, list[str]]]:
    return read_lock((ROOT / "requirements.lock").read_text())


def runtime_requirements() -> list[Requirement]:
    """pyproject's dependencies, plus what their requested extras pull in."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(dep) for dep in project["dependencies"]]
    out = list(wanted)
    for req in wanted:
        for extra in req.extras:
            for line in importlib.metadata.requires(req.name) or []:
                sub = Requirement(line)
                if sub.marker is not None and sub.marker.evaluate({"extra": extra}):
                    out.append(sub)
    return out


def test_lock_pins_every_runtime_dependency_with_hashes(
    lock: dict[str, tuple[str, list[str]]],
) -> None:
    for req in runtime_requirements():
        name = canonicalize_name(req.name)
        assert name in lock, f"{req.name} (pyproject.toml) is not in requirements.lock"
        version, _ = lock[name]
        assert req.specifier.contains(version, prereleases=True), (
            f"requirements.lock pins {name}=={version}, outside {req}: regenerate the lock"
        )
    for name, (_, hashes) in lock.items():
        assert hashes and all(h.startswith("sha256:") for h in hashes), f"{name} has no hash"


def test_lock_is_closed_under_dependencies(lock: dict[str, tuple[str, list[str]]]) -> None:
    """Every dependency of a locked package is locked too (checked where the venv has
    the same version installed, so its metadata describes the locked one)."""
    checked = 0
    for name, (version, _) in lock.items():
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        if dist.version != version:
            continue
        checked += 1
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            assert canonicalize_name(req.name) in lock, f"{name} needs {req.name}, not locked"
    if not checked:
        pytest.skip("no locked version is installed here, so no metadata to check against")
