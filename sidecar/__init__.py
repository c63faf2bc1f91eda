"""aliyun-sidecar: Alibaba Cloud OAuth sign-in and fresh STS credentials for editors.

Layers, each importing only from the ones before it:
``errors``/``tokens`` → ``config`` (the shared file) → ``oauth`` (PKCE, callback, HTTP client) →
``credentials`` (refresh, serving) → ``service`` (the use cases) → ``app`` (the composition root of the
JSON-RPC sidecar) → ``rpc`` (the JSON-RPC edge; only ``rpc/adapter.py`` knows pygls) and ``cli``
(command-line entry points).
The emulator stands beside them and shares nothing with them but the wire protocol.
"""

__version__ = "0.1.0"
