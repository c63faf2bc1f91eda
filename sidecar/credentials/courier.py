"""A refresh that survives the sidecar's death: the token call runs in a small detached process.

The service spends the old refresh token the moment a refresh reaches it. If the sidecar dies while
the answer is on its way (the editor kills the sidecar's whole process tree, crashes, or Windows runs
``taskkill /T /F``), the only copy of the new refresh token is in a socket nobody reads, and the user
is signed out. No record written by the dying process can cover that window.

So the call is made by a *courier*: a process outside the sidecar's tree that does the
``/v1/token`` refresh, writes the recovery record (``recovery.py``), and only then answers. It holds
the profile's *courier lock* from before it is given the token until the record is durable. Every
refresh-lock holder waits for that lock before it reads the file (``Refresher``), so the next sidecar
waits for a courier that outlived its sidecar, then merges the record it wrote.

How it leaves the tree: the sidecar starts a *hop* (``python -I``), and the hop starts the courier,
detached (POSIX: a new session; Windows: a detached process outside the job, see
``OsFs.detached_spawn``), and exits at once. The courier's parent is then gone, so a kill that walks
the tree from the sidecar (by parent ids, or by process group) does not find it. The pipes pass
through the hop: the sidecar talks to the courier over the hop's stdin and stdout.

Secrets travel on the pipe, never in argv or the environment. The courier logs nothing (its stderr
is /dev/null: the sidecar's stderr may be gone). Cost per refresh: two Python start-ups (the hop
imports nothing; the courier imports httpx). That is about 0.2 s on a refresh that happens once an
hour (``python -m benchmarks`` reports it).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ClientNotAuthorized, InvalidGrant, NetworkError, SidecarError, UpstreamError
from ..platform import osfs
from ..sites import Site
from ..timing import COURIER_EXIT_WAIT, COURIER_LOCK_TIMEOUT, COURIER_START_TIMEOUT
from ..tokens import OAuthTokens

#: The hop: put the sidecar's own import path first (isolated mode ignores PYTHONPATH and the working
#: folder), then start the courier detached and exit.
_HOP = "import sys,json; sys.path[:0]=json.loads(sys.argv[1]); from sidecar.credentials.courier import hop; hop()"
_COURIER = "import sys,json; sys.path[:0]=json.loads(sys.argv[1]); from sidecar.credentials.courier import serve; serve()"

#: Errors the courier sends back, rebuilt as the same types in the sidecar.
_ERRORS: dict[str, type[SidecarError]] = {
    "InvalidGrant": InvalidGrant,
    "UpstreamError": UpstreamError,
    "NetworkError": NetworkError,
    "ClientNotAuthorized": ClientNotAuthorized,
}


@dataclass(frozen=True)
class Job:
    """What one refresh needs; sent on the courier's stdin (it holds the refresh token)."""

    profile: str
    site_name: str
    oauth_base: str
    client_id: str
    refresh_token: str = field(repr=False)
    #: Its expiry, kept when the answer brings no new refresh token.
    refresh_expires_at: int | None
    #: Fingerprint of ``refresh_token``: the record says which token it replaces.
    spent: str
    record_path: str
    http_timeout: float
    #: The sidecar's clock when it asked (expiries count from there, as in-process).
    now: float


class CourierError(SidecarError):
    """The courier could not be started, or did not answer. ``handed_over``: whether it had the
    refresh token by then (the service may have spent it: only the courier's record can tell, so the
    refresher must not spend it again itself, and reports a network error instead)."""

    kind = "internal"

    def __init__(self, message: str, *, handed_over: bool) -> None:
        super().__init__(message)
        self.handed_over = handed_over


class Courier:
    """Runs ``/v1/token`` refreshes in a detached courier process."""

    def __init__(self, *, http_timeout: float, python: str = sys.executable, path: list[str] | None = None) -> None:
        self.http_timeout = http_timeout
        self.python = python
        #: The import path the courier gets: this process's, so it runs the same code and libraries.
        self.path = path if path is not None else [p for p in sys.path if p and os.path.isabs(p)]
        #: Processes started (the hop and the courier) and seconds spent, for the benchmark.
        self.spawns = 0
        self.seconds = 0.0

    async def refresh(self, job: Job, lock_path: Path) -> OAuthTokens:
        """New tokens for ``job``, written to its recovery record before they are returned.

        Raises the typed error the token call raised (``InvalidGrant``...), or ``CourierError`` when
        no courier could be run: then nothing was sent to the service."""
        started = time.monotonic()
        try:
            return await self._refresh(job, lock_path)
        finally:
            self.seconds += time.monotonic() - started

    async def _refresh(self, job: Job, lock_path: Path) -> OAuthTokens:
        try:
            hop = await asyncio.create_subprocess_exec(
                self.python, "-I", "-c", _HOP, json.dumps(self.path),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                cwd=os.path.dirname(job.record_path) or None,
            )
        except OSError as exc:
            raise CourierError(f"Could not start the refresh courier ({type(exc).__name__}).", handed_over=False) from None
        self.spawns += 2
        assert hop.stdin is not None and hop.stdout is not None
        handed_over = False
        try:
            hop.stdin.write(json.dumps({"lock": str(lock_path)}).encode() + b"\n")
            await hop.stdin.drain()
            ready = await asyncio.wait_for(hop.stdout.readline(), COURIER_START_TIMEOUT)
            if ready.strip() != b"locked":
                raise CourierError("The refresh courier did not start.", handed_over=False)
            # From here on the service may be asked: whatever happens to us, the courier finishes.
            handed_over = True
            hop.stdin.write(json.dumps(asdict(job)).encode() + b"\n")
            await hop.stdin.drain()
            hop.stdin.close()
            answer = await asyncio.wait_for(hop.stdout.readline(), job.http_timeout + COURIER_START_TIMEOUT)
        except (OSError, asyncio.TimeoutError):
            raise CourierError("The refresh courier did not answer.", handed_over=handed_over) from None
        finally:
            await _done_with(hop)
        return _read_answer(answer)


async def _done_with(hop: asyncio.subprocess.Process) -> None:
    """Let go of the hop (it exits at once) and of the pipes the courier still holds: after its
    answer the courier exits within moments (end of file); otherwise the pipes are just closed."""
    assert hop.stdout is not None
    try:
        await asyncio.wait_for(hop.stdout.read(), COURIER_EXIT_WAIT)
    except (OSError, asyncio.TimeoutError):
        # asyncio has no public way to drop a child's pipes while another process holds them.
        transport = getattr(hop, "_transport", None)
        if transport is not None:
            transport.close()
    await hop.wait()


def _read_answer(line: bytes) -> OAuthTokens:
    try:
        answer = json.loads(line)
        if "tokens" in answer:
            return OAuthTokens(**answer["tokens"])
        error = answer["error"]
        cls = _ERRORS[error["type"]]
    except (ValueError, KeyError, TypeError):
        raise CourierError("The refresh courier's answer could not be read.", handed_over=True) from None
    if cls is ClientNotAuthorized:
        raise ClientNotAuthorized(error["error"], error.get("requestId", ""))
    if issubclass(cls, UpstreamError):
        raise cls(error["message"], error=error.get("error", ""), status=error.get("status", 0),
                  request_id=error.get("requestId", ""))
    raise cls(error["message"], **{k: v for k, v in error.items() if k not in ("type", "message")})


# ----------------------------------------------------------------------------- the two processes


def hop() -> None:
    """Start the courier outside this process's tree, on the same pipes, and exit."""
    import subprocess

    argv = [sys.executable, "-I", "-c", _COURIER, sys.argv[1]]
    choices = osfs.detached_spawn()
    for i, options in enumerate(choices):
        try:
            subprocess.Popen(argv, stdin=0, stdout=1, stderr=subprocess.DEVNULL, **options)  # noqa: S603
            return
        except OSError:
            if i == len(choices) - 1:
                raise


def serve() -> None:
    """The courier: take the lock, say so, read the job, refresh, write the record, answer."""
    from ..config.locks import FileLock

    first = sys.stdin.readline()
    if not first:
        return
    lock = FileLock(json.loads(first)["lock"], timeout=COURIER_LOCK_TIMEOUT, what="the refresh courier")
    lock.acquire()
    try:
        _say(b"locked")
        line = sys.stdin.readline()
        if not line:
            return  # the sidecar went away before it sent the token: nothing was spent
        job = Job(**json.loads(line))
        _say(json.dumps(asyncio.run(_run(job))).encode())
    finally:
        lock.release()


async def _run(job: Job) -> dict[str, Any]:
    from ..oauth.client import OAuthClient
    from .recovery import Recovery, RecoveryRecords

    mono = time.monotonic()
    client = OAuthClient(timeout=job.http_timeout, clock=lambda: job.now + (time.monotonic() - mono))
    site = Site(job.site_name, job.site_name, "", job.oauth_base, job.client_id)
    try:
        new = await client.refresh(site, job.refresh_token)
    except (UpstreamError, NetworkError) as exc:
        return {"error": {"type": type(exc).__name__, "message": exc.message, **exc.details}}
    except ClientNotAuthorized as exc:
        return {"error": {"type": "ClientNotAuthorized", "message": exc.message, **exc.details}}
    finally:
        await client.aclose()
    if not new.refresh_token:  # none came back: the one we used stays the profile's
        new = OAuthTokens(new.access_token, job.refresh_token, new.access_expires_at, job.refresh_expires_at)
    # Durable before the answer: from here on a dead sidecar loses nothing. (If it cannot be written,
    # the sidecar, when alive, keeps the tokens as it does for any failed save.)
    try:
        RecoveryRecords.write_to(Path(job.record_path), Recovery(job.profile, job.spent, new))
    except SidecarError:
        pass
    return {"tokens": asdict(new)}


def _say(data: bytes) -> None:
    """One line to the sidecar; it may be gone (then the record is what counts)."""
    try:
        sys.stdout.buffer.write(data + b"\n")
        sys.stdout.buffer.flush()
    except OSError:
        pass
