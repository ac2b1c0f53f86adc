"""The Dockerfile and docker-compose.yml, checked structurally (no Docker engine needed).

A tiny line-based Dockerfile reader is enough here: we only need instruction
names and arguments, with ``\\`` continuations and comments handled, and a
dependency such as ``dockerfile-parse`` would buy nothing more for these checks.
"""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath

import pytest
import yaml

from bot.cli import _parser
from bot.service import SHUTDOWN_GRACE
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


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


def parses(argv: list[str]) -> bool:
    try:
        _parser().parse_args(argv)
    except SystemExit:
        return False
    return True


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


def test_base_image_is_slim_python(dockerfile: list[tuple[str, str]]) -> None:
    image = next(args for instr, args in dockerfile if instr == "FROM").split()[0]
    assert re.fullmatch(r"python:3\.1\d-slim(-\w+)?", image), image


def test_entrypoint_runs_newsbot_with_run_by_default(dockerfile: list[tuple[str, str]]) -> None:
    entrypoint = exec_form(last(dockerfile, "ENTRYPOINT"))
    cmd = exec_form(last(dockerfile, "CMD"))
    assert entrypoint == ["newsbot"]
    assert cmd == ["run"]
    assert parses(cmd)


def test_runs_as_a_non_root_user(dockerfile: list[tuple[str, str]]) -> None:
    user = last(dockerfile, "USER").split(":")[0]
    assert user not in ("root", "0", "")
    users = [i for i, (instr, _) in enumerate(dockerfile) if instr == "USER"]
    entry = max(i for i, (instr, _) in enumerate(dockerfile) if instr in ("ENTRYPOINT", "CMD"))
    assert users[-1] < entry, "USER must come before ENTRYPOINT/CMD"


def test_dependencies_are_installed_before_the_source_is_copied(
    dockerfile: list[tuple[str, str]],
) -> None:
    copies = [(i, args.split()) for i, (instr, args) in enumerate(dockerfile) if instr == "COPY"]
    deps = next(i for i, srcs in copies if "pyproject.toml" in srcs)
    source = next(i for i, srcs in copies if srcs[0] in ("bot", "./bot", ".", "./"))
    install = [i for i, (instr, args) in enumerate(dockerfile) if instr == "RUN" and "pip" in args]
    assert deps < source, "pyproject.toml must be copied before the source"
    assert any(deps < i < source for i in install), "no pip install between the two copies"
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
    assert mounts["./state"][0] == app / defaults["state_dir"].default
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
