"""One TLS client context for every HTTP client newsbot makes.

Each httpx client would otherwise build its own and load the CA bundle again
(about 35 ms each at start-up). The fetcher's transports use it; PTB's two
requests still build their own (passing it through ``HTTPXRequest`` made the
console's browser test miss its first getUpdates now and then: not understood
yet). The trust store is httpx's default: certifi's bundle, or
``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set.
"""

from __future__ import annotations

import os
import ssl
from functools import cache


@cache
def client_context() -> ssl.SSLContext:
    """The shared context (an ``SSLContext`` is safe to share between clients)."""
    if os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    if os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    import certifi

    return ssl.create_default_context(cafile=certifi.where())
