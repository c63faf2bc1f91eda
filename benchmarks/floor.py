"""The floor of the benchmark's figures: a bare asyncio JSON-RPC loop over stdio.

It frames and parses each message exactly as any JSON-RPC server must (``Content-Length`` framing,
``json.loads``, ``json.dumps``), answers ``aliyun/getCredentials`` with a credentials object held in
memory, and does nothing else: no validation, no profile selection, no cache check, no logging. The
benchmark runs it in the same run, over the same kind of pipe, with the same client and the same
interpreter as the sidecar, so that "the sidecar's figure ÷ the floor" measures what the sidecar adds,
whatever the machine and its load. It is the floor of three figures: ``getCredentials`` one at a time
and pipelined, spawn → ``initialize`` (an interpreter that starts asyncio and answers; nothing is
imported beyond ``asyncio`` and ``json``), and the resident memory of an idle process.

Run as ``python -m benchmarks.floor`` (the benchmark spawns it; it speaks just enough LSP to be
initialized and shut down).
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

#: The same shape and size as a real answer (fake values).
CREDENTIALS: dict[str, Any] = {
    "profile": "dev",
    "accessKeyId": "STS.NTfakefakefakefakefakefake",
    "accessKeySecret": "fake" * 11,
    "securityToken": "CAIS" + "x" * 600,
    "expiration": "2030-01-01T00:00:00Z",
    "expiresAt": 1893456000,
}


async def serve() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    transport, _ = await loop.connect_write_pipe(asyncio.Protocol, sys.stdout.buffer)
    while True:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.split(b":", 1)[1].split(b"\r\n", 1)[0])
            message = json.loads(await reader.readexactly(length))
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        method = message.get("method")
        if "id" not in message:
            if method == "exit":
                return
            continue
        result: Any = CREDENTIALS if method == "aliyun/getCredentials" else ({"capabilities": {}} if method == "initialize" else None)
        body = json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}, separators=(",", ":")).encode()
        transport.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


if __name__ == "__main__":
    asyncio.run(serve())
