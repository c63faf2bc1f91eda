"""Every timing preset of the sidecar, each beside the behaviour of the official clients it answers.

The numbers here must agree with each other (a keeper margin below the per-request margin would be
pointless; an access-token margin below what the exchange needs would fail exchanges), so they live
in one module and are imported from here; no other module writes a duration of its own (only the
steps of a poll's back-off stay beside their loop).

Facts they answer (from aliyun-cli, ``alibabacloud-credentials`` 1.0.12 for Python and
``@alicloud/credentials`` 2.4.7 for Node.js):

* Both SDKs renew the OAuth access token themselves when 20 minutes (1200 s) or less remain on it,
  "because the exchange needs at least 15 minutes left on it", and so spend the rotating refresh
  token without our lock.
* The Python SDK's credentials-URI provider treats credentials as stale 15 minutes before they expire
  (and then fetches on every use).
* The CLI refreshes a layer only once it has expired (no margin at all).
"""

from __future__ import annotations

from dataclasses import dataclass

# --------------------------------------------------------------------- the service's needs

#: The exchange (``/v1/exchange``) needs at least this much life left on the access token (the SDKs'
#: comment: "at least 15 minutes"). The emulator can enforce it (``exchange_min_access_lifetime``).
EXCHANGE_MIN_ACCESS_LIFETIME = 15 * 60

# --------------------------------------------------------------------- per request (every path)

#: Renew the access token when this much or less remains, on EVERY path (a request, the keeper, the
#: token a sign-in or a refresh just returned): the SDKs' own threshold, above what the exchange
#: needs, so an exchange never runs with a token the service might find too short.
ACCESS_TOKEN_MARGIN = 20 * 60
#: Reuse stored STS credentials while more than this remains (ours; the CLI uses them to the end).
STS_MARGIN = 5 * 60


@dataclass(frozen=True)
class Margins:
    """Renew a layer when less than this many seconds remain on it (the service's ``Settings`` carry
    one; the keeper and the credentials endpoint use their own, higher ones)."""

    sts: int = STS_MARGIN
    access_token: int = ACCESS_TOKEN_MARGIN


# --------------------------------------------------------------------- the keeper (editor open)

#: The keeper renews the access token at 30 minutes left: well above the SDKs' 20 minutes, so no SDK
#: process ever rotates the refresh token behind our back while the editor is open.
KEEPER_ACCESS_TOKEN_MARGIN = 30 * 60
#: The keeper renews STS credentials at 15 minutes left: the SDKs reuse the file's STS triple while
#: ``sts_expiration`` is in the future, so fresh ones in the file mean no SDK calls the service.
KEEPER_STS_MARGIN = 15 * 60
#: Shortest and longest sleep of the keeper between two looks at the file.
KEEPER_MIN_SLEEP = 5.0
KEEPER_MAX_SLEEP = 300.0
#: After a network failure or a transient error answer, look again this soon.
KEEPER_RETRY_AFTER_FAILURE = 30.0

# --------------------------------------------------------------------- serving credentials

#: The credentials endpoint hands out nothing with less than the Python SDK's 15 minutes of
#: staleness plus one minute left, so an SDK can cache what it gets instead of asking on every call.
ENDPOINT_MIN_STS_LIFETIME = 15 * 60 + 60

# --------------------------------------------------------------------- sign-in and HTTP

#: How long a browser sign-in waits for the redirect (the CLI waits forever; we do not).
SIGNIN_TIMEOUT = 300.0
#: Per-call timeout of the OAuth API calls (connect is capped at ``HTTP_CONNECT_TIMEOUT``).
HTTP_TIMEOUT = 15.0
HTTP_CONNECT_TIMEOUT = 10.0
#: Below this, a difference between the service's ``Date`` and our clock is rounding, not skew.
SKEW_TOLERANCE = 30
#: How long we wait for the editor to say whether it opened the sign-in page (``window/showDocument``);
#: the sign-in does not wait on it, this only bounds a log line about an editor that never answers.
SHOW_DOCUMENT_TIMEOUT = 30.0

# --------------------------------------------------------------------- loopback servers

#: The whole request head must arrive within this long of a connection's admission: an SDK or a
#: browser sends it at once, and a tight deadline keeps half-sent requests from holding the slots.
LOOPBACK_HEAD_TIMEOUT = 2.0
#: After answering, read (and drop) what the client still sends for at most this long before closing:
#: closing a socket with unread input makes the kernel send RST, which can destroy our answer.
LOOPBACK_DRAIN_TIMEOUT = 0.5
#: The longest the sign-in result page may take to reach the browser after the answer arrived (the
#: port itself is released at once, so the next sign-in can bind it).
CALLBACK_LINGER = 2.0

# --------------------------------------------------------------------- the shared config file

#: How long a write waits for another process's lock on the config file (or a profile's refresh)
#: before it reports ``ConfigUnavailable``: other writers hold it for milliseconds; a refresh holds it
#: across the sign-in service's answer (``HTTP_TIMEOUT`` per call, a few calls).
CONFIG_LOCK_TIMEOUT = 60.0
#: How long a file that does not parse (or is empty) may stay so before it is called corrupt (or
#: written over): the Node.js SDK writes in place without a lock, truncate first.
CONFIG_SETTLE_TIME = 0.5
#: How often the file is read again while it settles.
CONFIG_SETTLE_POLL = 0.02
#: How long a replace is retried while another process has the target open (Windows only: the CLI
#: or an editor reading it, an SDK's in-place write, an antivirus scan).
REPLACE_RETRY_SECONDS = 2.0
#: How often the watcher looks at the file's ``stat`` for changes by other programs.
WATCH_INTERVAL = 0.5

# --------------------------------------------------------------------- the JSON-RPC edge

#: At the end of stdin (the editor went away), requests still running get this long to finish...
STOP_REQUESTS_GRACE = 2.0
#: ...the service this long to close (servers, HTTP clients)...
STOP_SERVICE_TIMEOUT = 5.0
#: ...and the answers already written this long to reach the editor.
STOP_FLUSH_TIMEOUT = 5.0

# --------------------------------------------------------------------- the refresh courier

#: How long the sidecar waits for the courier to start and take its lock (beyond the HTTP timeout for
#: its answer); past it, a refresh that was never handed over is made in-process instead.
COURIER_START_TIMEOUT = 20.0
#: How long the courier itself waits for its lock (it is free: the sidecar holds the refresh lock).
COURIER_LOCK_TIMEOUT = 10.0
#: After its answer the courier exits within moments; the sidecar lets go of its pipes after this.
COURIER_EXIT_WAIT = 2.0

# --------------------------------------------------------------------- AI agents (``aliyun-sidecar mcp``)

#: An MCP bearer token is renewed when a tenth of its life, at least 60 s (the official proxy's skew)
#: and at most 5 minutes, remains: a token is never sent so close to its end that it dies in flight.
MCP_TOKEN_MIN_MARGIN = 60.0
MCP_TOKEN_MAX_MARGIN = 300.0
#: A token the service gave no lifetime is renewed after this long (the official proxy keeps it until a
#: refusal; a refusal costs the agent a round trip).
MCP_TOKEN_DEFAULT_LIFETIME = 3600.0
#: The hosted server's calls: connect as the official proxy does (10 s); a tool may run long (read 120 s).
MCP_CONNECT_TIMEOUT = 10.0
MCP_READ_TIMEOUT = 120.0
#: Before the one retry of a request that failed on the way (a 5xx or a dropped connection on a read).
MCP_RETRY_DELAY = 0.5
#: How long closing waits for the session's DELETE.
MCP_CLOSE_TIMEOUT = 2.0
