"""Which proxy each fetch goes through: ``fetch.proxy``, else the environment, as curl reads it.

``http://`` URLs use ``http_proxy``, ``https://`` URLs ``https_proxy``, either falls
back to ``all_proxy`` (each name in lower case first, then upper case), and
``fetch.proxy`` overrides all three. ``no_proxy`` lists hosts to reach directly:
``example.com`` and ``.example.com`` both mean the domain and every host under
it, ``host:port`` only that port, an IP address only that address (no CIDR
ranges), and ``*`` everything. The result is the ``mounts`` of an httpx client.
Whichever way a request goes, the SSRF guard pins its address (bot.ingest.tunnel).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping


def _env(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name) or env.get(name.upper()) or None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def proxy_mounts(explicit: str | None, env: Mapping[str, str]) -> dict[str, str | None]:
    """httpx mount patterns and the proxy URL each uses (None: connect directly)."""
    everything = _env(env, "all_proxy")
    mounts: dict[str, str | None] = {
        "http://": explicit or _env(env, "http_proxy") or everything,
        "https://": explicit or _env(env, "https_proxy") or everything,
    }
    for raw in (_env(env, "no_proxy") or "").split(","):
        entry = raw.strip().lower()
        if entry == "*":
            return {"http://": None, "https://": None}
        host = entry.lstrip(".").removeprefix("*.")
        if not host:
            continue
        if ":" in host and _is_ip(host):  # a bare IPv6 address
            mounts[f"all://[{host.strip('[]')}]"] = None
            continue
        mounts[f"all://{host}"] = None
        if not _is_ip(host.rsplit(":", 1)[0]):
            mounts[f"all://*.{host}"] = None
    return mounts


def describe(mounts: Mapping[str, str | None]) -> dict[str, str]:
    """What the log says at start-up: the proxy per scheme, and what bypasses it."""
    shown = {
        scheme.rstrip(":/"): _hide_password(proxy) if proxy else "direct"
        for scheme, proxy in mounts.items()
        if scheme in ("http://", "https://")
    }
    direct = sorted(p.removeprefix("all://") for p, v in mounts.items() if p.startswith("all://"))
    if direct:
        shown["no_proxy"] = ", ".join(direct)
    return shown


def _hide_password(url: str) -> str:
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    scheme, sep, userinfo = head.partition("://")
    return f"{scheme}{sep}{userinfo.split(':', 1)[0]}:***@{tail}" if sep else url
