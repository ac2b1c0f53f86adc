"""A Docker engine for the container test: what is there, and a base image to build on.

The image's base (``python:3.11-slim``) comes from Docker Hub, which a machine may
not reach. Then this builds a stand-in from Debian's own packages, the way one
would by hand: debootstrap a minimal Debian bookworm (its python3 is 3.11, as in
the real base) with pip, ``docker import`` it, and pass it as the Dockerfile's
``BASE_IMAGE`` build argument, the one a user behind a mirror sets. The stand-in
trusts the certificate authorities of this machine (where TLS is inspected, pip
inside the build needs them). It is tagged by a hash of its recipe, so it is made
once per machine; Docker's layer cache then keeps the dependency layer too.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SUITE = "bookworm"  # python3 3.11, like the official base
PACKAGES = ("python3", "python3-pip", "python-is-python3", "passwd", "ca-certificates")
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
BASE_REPO = "newsbot-test-base"
PULL_TIMEOUT = 60.0


def run(
    argv: list[str], *, timeout: float = 600, check: bool = True, **kw: object
) -> subprocess.CompletedProcess[str]:
    """A command's result; on failure (with ``check``) an AssertionError with its output."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    if check and done.returncode != 0:
        raise AssertionError(
            f"{' '.join(argv)} exited {done.returncode}\n{done.stdout[-4000:]}\n"
            f"{done.stderr[-4000:]}"
        )
    return done


def engine_problem() -> str | None:
    """Why no engine can be used here, or None when ``docker info`` answers."""
    if shutil.which("docker") is None:
        return "no docker command (install docker.io, or run .ci/run, which does in CI)"
    done = run(["docker", "info", "--format", "{{.ServerVersion}}"], check=False, timeout=30)
    if done.returncode != 0:
        return "no Docker engine answers (start one: dockerd --iptables=false --bridge=none)"
    return None


def compose_command() -> list[str] | None:
    """``docker compose`` (v2) when the plugin is there, else ``docker-compose`` (v1)."""
    if run(["docker", "compose", "version"], check=False, timeout=30).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def buildkit_build() -> tuple[list[str], dict[str, str]] | None:
    """A command that builds with BuildKit, and its environment; None when none can.

    ``docker buildx build`` where the plugin is installed; else a docker CLI older
    than 23, which still builds with BuildKit itself when DOCKER_BUILDKIT=1.
    """
    if run(["docker", "buildx", "version"], check=False, timeout=30).returncode == 0:
        return ["docker", "buildx", "build", "--load"], {}
    seen: set[str] = set()
    for folder in (Path(p) for p in _path()):
        cli = folder / "docker"
        if not cli.is_file() or str(cli.resolve()) in seen:
            continue
        seen.add(str(cli.resolve()))
        version = run([str(cli), "version", "--format", "{{.Client.Version}}"], check=False)
        major = re.match(r"(\d+)\.", version.stdout.strip())
        if major and int(major.group(1)) < 23:
            return [str(cli), "build"], {"DOCKER_BUILDKIT": "1"}
    return None


def _path() -> list[str]:
    import os

    return [p for p in os.environ.get("PATH", "").split(os.pathsep) if p]


def image_exists(tag: str) -> bool:
    return run(["docker", "image", "inspect", tag], check=False, timeout=30).returncode == 0


def image_size(tag: str) -> int:
    """The image's size in bytes, as ``docker images`` shows it."""
    return int(run(["docker", "image", "inspect", tag, "--format", "{{.Size}}"]).stdout)


def debian_mirror() -> str | None:
    """The Debian mirror this machine's apt uses for the suite, if it names one."""
    sources = Path("/etc/apt/sources.list.d")
    for stanza_file in sorted(sources.glob("*.sources")) if sources.is_dir() else []:
        for stanza in stanza_file.read_text(errors="replace").split("\n\n"):
            fields = dict(
                line.split(":", 1) for line in stanza.splitlines() if re.match(r"^\w[\w-]*:", line)
            )
            suites = fields.get("Suites", "").split()
            if SUITE in suites and "main" in fields.get("Components", "").split():
                return fields.get("URIs", "").split()[0] if fields.get("URIs") else None
    listing = Path("/etc/apt/sources.list")
    if listing.is_file():
        for line in listing.read_text(errors="replace").splitlines():
            match = re.match(rf"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+{SUITE}\s+.*\bmain\b", line)
            if match:
                return match.group(1)
    return None


@dataclass
class BaseImage:
    """The image to build on, and how it was obtained (for the test's report)."""

    tag: str
    how: str
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def _recipe() -> str:
    ca = hashlib.sha256(CA_BUNDLE.read_bytes()).hexdigest() if CA_BUNDLE.is_file() else "-"
    text = f"{SUITE} {' '.join(PACKAGES)} ca={ca} v1"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def base_image(official: str) -> BaseImage:
    """``official`` (the Dockerfile's base) if present or pullable, else the stand-in."""
    if image_exists(official):
        return BaseImage(official, "present")
    start = time.monotonic()
    pulled = run(["docker", "pull", official], check=False, timeout=PULL_TIMEOUT)
    if pulled.returncode == 0:
        return BaseImage(official, "pulled", time.monotonic() - start)
    why = (pulled.stderr.strip().splitlines() or ["no answer"])[-1][:200]
    tag = f"{BASE_REPO}:{SUITE}-{_recipe()}"
    if image_exists(tag):
        return BaseImage(tag, "cached Debian build", notes=[f"{official}: {why}"])
    if shutil.which("debootstrap") is None:
        raise LookupError(
            f"{official} cannot be pulled ({why}) and debootstrap is missing "
            "(apt-get install debootstrap) to build a stand-in from Debian's packages"
        )
    start = time.monotonic()
    _debootstrap_import(tag)
    return BaseImage(tag, "built from Debian packages", time.monotonic() - start, [why])


def _debootstrap_import(tag: str) -> None:
    with tempfile.TemporaryDirectory(prefix="newsbot-base-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        argv = ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}"]
        argv += [SUITE, str(rootfs)]
        mirror = debian_mirror()
        run(argv + ([mirror] if mirror else []), timeout=1200)
        # Like the official image: pip installs into the system Python (no PEP 668
        # marker), no package caches.
        for leftover in rootfs.glob("usr/lib/python3*/EXTERNALLY-MANAGED"):
            leftover.unlink()
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for item in (rootfs / cache).glob("*"):
                if item.is_file():
                    item.unlink()
        if CA_BUNDLE.is_file():
            shutil.copyfile(CA_BUNDLE, rootfs / CA_BUNDLE.relative_to("/"))
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        changes = [
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "ENV LANG=C.UTF-8",
            'CMD ["python3"]',
        ]
        argv = ["docker", "import", *(f"--change={c}" for c in changes), "-", tag]
        try:
            run(argv, stdin=tar.stdout, timeout=600)
        finally:
            assert tar.stdout is not None
            tar.stdout.close()
            tar.wait()
