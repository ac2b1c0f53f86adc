"""The README's set-up commands and .ci/run, run as written, on machines unlike this one.

Two traps a new user hit: on stock Debian/Ubuntu ``python3 -m venv`` fails until
``python3-venv`` is installed, and the docker quick start, typed by root, made the
container run as uid 0. The commands are taken from README.md itself and run in
a shell whose ``id``, ``chown``, ``apt-get`` and ``python3`` are recording stand-ins.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

from tests.helpers.harness import ROOT


def fake(bin_dir: Path, name: str, script: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def shell(script: str, bin_dir: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def readme_block(heading: str) -> str:
    """The first ```sh block after ``heading`` in README.md."""
    text = (ROOT / "README.md").read_text()
    start = text.index(heading)
    match = re.search(r"```sh\n(.*?)```", text[start:], re.S)
    assert match, f"no sh block after {heading!r}"
    return match.group(1)


# ---------------------------------------------------------------- python3-venv


def test_the_readme_names_python3_venv_before_its_commands() -> None:
    text = (ROOT / "README.md").read_text()
    quick = text[text.index("## Quick start on a fresh machine") :]
    assert quick.index("python3-venv") < quick.index("python3 -m venv .venv")


@pytest.fixture
def stock_debian(tmp_path: Path) -> Path:
    """A PATH where ``python3 -m venv`` fails until apt-get installs python3-venv."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    marker = tmp_path / "venv-installed"
    fake(
        bin_dir,
        "python3",
        f'[ "$1 $2" = "-m venv" ] && [ ! -e {marker} ] && '
        "{ echo 'ensurepip is not available' >&2; exit 1; }\n"
        'mkdir -p "$3/bin"; exit 0\n',
    )
    fake(bin_dir, "apt-get", f'echo "$*" >> {tmp_path}/apt.log\n'
         f'case "$*" in *"install"*python3-venv*) touch {marker};; esac\n')  # fmt: skip
    fake(bin_dir, "sudo", 'exec "$@"\n')
    return bin_dir


def test_ci_installs_python3_venv_when_venv_fails(stock_debian: Path, tmp_path: Path) -> None:
    done = shell("source .ci/run && ensure_venv && echo venv-ok", stock_debian, ROOT)
    assert done.returncode == 0, done.stderr
    assert "venv-ok" in done.stdout and "installing python3-venv" in done.stderr
    assert "install -y -qq python3-venv" in (tmp_path / "apt.log").read_text()


def test_ci_leaves_a_working_venv_alone(stock_debian: Path, tmp_path: Path) -> None:
    (tmp_path / "venv-installed").touch()
    done = shell("source .ci/run && ensure_venv && echo venv-ok", stock_debian, ROOT)
    assert done.returncode == 0 and "venv-ok" in done.stdout, done.stderr
    assert not (tmp_path / "apt.log").exists(), "nothing installed"


# ---------------------------------------------------------------- the container's uid


@pytest.mark.parametrize(("uid", "gid"), [(0, 0), (1000, 1000), (501, 20)])
def test_the_readme_docker_steps_never_run_the_container_as_root(
    tmp_path: Path, uid: int, gid: int
) -> None:
    """Followed literally by root, the old steps wrote NEWSBOT_UID=0 into .env."""
    project, bin_dir = tmp_path / "newsbot", tmp_path / "bin"
    for folder in (project / "config", project / "state", bin_dir):
        folder.mkdir(parents=True)
    (project / ".env.example").write_text((ROOT / ".env.example").read_text())
    fake(
        bin_dir, "id", f'case "$1" in -u) echo {uid};; -g) echo {gid};; *) echo uid={uid};; esac\n'
    )
    fake(bin_dir, "chown", f'echo "$*" >> {tmp_path}/chown.log\n')
    fake(bin_dir, "docker", f'echo "$*" >> {tmp_path}/docker.log\n')
    done = shell(readme_block("## Quick start with docker compose"), bin_dir, project)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "docker.log").read_text().startswith("compose up -d --build")

    env = dict(
        line.split("=", 1)
        for line in (project / ".env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    compose_user = (ROOT / "docker-compose.yml").read_text()
    default_uid = re.search(r'user: "\$\{NEWSBOT_UID:-(\d+)\}', compose_user)
    assert default_uid, "compose's user: has a default uid"
    runs_as = int(env.get("NEWSBOT_UID") or default_uid.group(1))
    assert runs_as != 0, f"the container would run as root (.env: {env})"
    if uid == 0:  # root hands the folders to the image's user instead
        assert runs_as == 10001
        assert (tmp_path / "chown.log").read_text().split() == [
            "-R", "10001:10001", "state", "config"
        ]  # fmt: skip
    else:
        assert (runs_as, int(env["NEWSBOT_GID"])) == (uid, gid)
        assert not (tmp_path / "chown.log").exists()
