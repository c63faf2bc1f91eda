"""Bad input from every side: the config file (property-based), profile operations on odd documents,
random JSON-RPC params against a real sidecar, malformed LSP frames on its stdin, malformed requests to
the loopback callback, and the loopback servers seen from another address.

The config parser must turn anything into a document or ``ConfigCorrupt``; a profile operation may
fail only with a typed ``SidecarError``; the sidecar must answer every request (a result, or an error
with ``data.kind``) and survive every frame it cannot read. Example counts are kept modest so the file
runs in well under half a minute. Nothing a test prints is a secret: the seeded tokens are compared
with precomputed booleans only.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sidecar.config import profiles as P
from sidecar.config.store import ConfigStore, parse_document, serialize_document, validate_shape
from emulator import Emulator
from sidecar.errors import ConfigCorrupt, SidecarError, kinds
from sidecar.rpc.errors import EDGE_KINDS
from sidecar.rpc.methods import METHODS as SIDECAR_METHODS
from sidecar.oauth.callback import CallbackServer, PendingAuthorization
from sidecar.tokens import OAuthTokens, StsCredentials

from .conftest import free_port_range
from .rpc_harness import REPO

# =================================================================================================
# strategies
# =================================================================================================

#: Text without lone surrogates (those have their own test below: written back escaped).
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
JSON = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4), max_leaves=15
)
MODES = st.sampled_from(["OAuth", "AK", "StsToken", "RamRoleArn", "External", "CloudSSO", "Unknown", ""])
TIME_VALUES = (
    st.integers(min_value=-(10**12), max_value=10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.just(True)
    | TEXT
    | st.none()
    | st.lists(SCALARS, max_size=2)
)
PROFILE_FIELDS = {
    "mode": MODES | JSON,
    "oauth_site_type": st.sampled_from(["CN", "INTL", "cn", "", "MARS"]) | JSON,
    "oauth_access_token": TEXT | JSON,
    "oauth_refresh_token": TEXT | JSON,
    "oauth_access_token_expire": TIME_VALUES,
    "oauth_refresh_token_expire": TIME_VALUES,
    "access_key_id": TEXT | JSON,
    "access_key_secret": TEXT | JSON,
    "sts_token": TEXT | JSON,
    "sts_expiration": TIME_VALUES,
    "region_id": TEXT | JSON,
    "language": st.sampled_from(["en", "zh", ""]) | JSON,
}
NAMES = st.sampled_from(["dev", "default", "a", "", " "]) | TEXT


@st.composite
def profiles(draw: st.DrawFn) -> dict[str, Any]:
    profile: dict[str, Any] = {}
    if draw(st.integers(0, 9)):  # mostly named; sometimes no name, sometimes "name": null
        profile["name"] = draw(NAMES)
    elif draw(st.booleans()):
        profile["name"] = None
    for key, strategy in PROFILE_FIELDS.items():
        if draw(st.booleans()):
            profile[key] = draw(strategy)
    profile.update(draw(st.dictionaries(TEXT, JSON, max_size=2)))
    return profile


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """Documents that pass ``validate_shape`` (what the CLI would accept), with anything else inside."""
    doc: dict[str, Any] = {}
    if draw(st.booleans()):
        doc["current"] = draw(st.none() | NAMES)
    if draw(st.integers(0, 4)):
        doc["profiles"] = draw(st.lists(profiles(), max_size=5))
    if draw(st.booleans()):
        doc["meta_path"] = draw(TEXT)
    doc.update({k: v for k, v in draw(st.dictionaries(TEXT, JSON, max_size=3)).items() if k not in ("current", "profiles")})
    return doc


def parse_or_corrupt(text: str) -> dict[str, Any] | None:
    try:
        doc = parse_document(text, "config.json")
    except ConfigCorrupt as exc:
        assert exc.kind == "configCorrupt" and exc.details["path"] == "config.json"
        return None
    assert isinstance(doc, dict)
    validate_shape(doc, "config.json")
    return doc


# =================================================================================================
# 1. the config parser
# =================================================================================================


@settings(max_examples=60, deadline=None)
@given(JSON | st.lists(profiles(), max_size=3) | documents())
def test_any_json_value_is_a_document_or_corrupt(value: Any) -> None:
    parse_or_corrupt(json.dumps(value))


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
@example('{"current": "a", "profiles": [}')
@example('{"profiles": [{"name": 5}]}')
@example("NaN")
@example('{"a": Infinity}')
@example('{"a": 1' + "0" * 5000 + "}")
@example("\ufeff{}")
def test_any_text_is_a_document_or_corrupt(text: str) -> None:
    parse_or_corrupt(text)


@pytest.fixture(scope="module")
def read_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bad-input")


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
@example(b"\xef\xbb\xbf{}")
@example(b'{"current": "\xff"}')
@example(b"\x00\x00")
@example(b"")
def test_any_bytes_in_the_file_read_as_a_document_or_corrupt(read_dir: Path, raw: bytes) -> None:
    path = read_dir / "config.json"
    path.write_bytes(raw)
    try:
        doc = ConfigStore(path, settle_time=0).read()
    except ConfigCorrupt:
        return
    assert isinstance(doc, dict)


@settings(max_examples=60, deadline=None)
@given(documents())
def test_valid_documents_round_trip_losslessly(doc: dict[str, Any]) -> None:
    text = serialize_document(doc).decode("utf-8")
    again = parse_document(text, "config.json")
    assert again == doc
    assert json.dumps(again) == json.dumps(doc)  # key order and types too, not only equality


@settings(max_examples=20, deadline=None)
@given(documents())
def test_valid_documents_round_trip_through_the_store(read_dir: Path, doc: dict[str, Any]) -> None:
    store = ConfigStore(read_dir / "store" / "config.json", settle_time=0)

    def replace_all(current: dict[str, Any]) -> None:
        current.clear()
        current.update(json.loads(json.dumps(doc)))
        current["_touch"] = time.monotonic_ns()  # always a change, so always a write

    store.update(replace_all)
    read = store.read()
    read.pop("_touch")
    assert json.dumps(read) == json.dumps(doc)


@pytest.mark.parametrize("text", ["[" * 100_000, '{"a":' * 5000 + "1" + "}" * 5000])
def test_deeply_nested_json_is_corrupt(text: str) -> None:
    assert parse_or_corrupt(text) is None


def test_number_overflow_is_corrupt_not_a_crash() -> None:
    text = '{"current": "a", "profiles": [{"name": "a", "mode": "OAuth", "sts_expiration": 1e400}]}'
    assert parse_or_corrupt(text) is None


def test_huge_number_never_leads_to_an_unparseable_write(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"current": "a", "profiles": [{"name": "a", "mode": "AK"}], "x": 1e400}')
    store = ConfigStore(path, settle_time=0)
    with contextlib.suppress(SidecarError):
        store.update(lambda doc: P.set_profile_options(doc, "a", "eu-central-1"))
    json.loads(path.read_text(), parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))


def test_lone_surrogate_escape_is_corrupt_or_writable(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"current": "a", "profiles": [{"name": "a", "mode": "AK", "note": "\\ud800"}]}')
    store = ConfigStore(path, settle_time=0)
    try:
        store.update(lambda doc: P.set_profile_options(doc, "a", "eu-central-1"))
    except SidecarError:
        return  # a typed refusal is fine
    assert parse_or_corrupt(path.read_text()) is not None


# =================================================================================================
# 2. profile operations on any valid document
# =================================================================================================

TOKENS = OAuthTokens("fake-access", "fake-refresh", int(time.time()) + 3600, None)
STS = StsCredentials("STS.fake", "fake-secret", "fake-token", int(time.time()) + 3600)


def operations(doc: dict[str, Any], name: str, region: Any, language: Any) -> list[Callable[[], Any]]:
    return [
        lambda: P.switch_profile(doc, name),
        lambda: P.delete_profile(doc, name),
        lambda: P.set_profile_options(doc, name, region, language),
        lambda: P.summarize_all(doc, time.time(), {name}),
        lambda: [P.summarize(doc, p) for p in doc.get("profiles") or []],
        lambda: P.select_profile_name(doc, name or None, {}),
        lambda: [P.read_oauth_tokens(p) for p in doc.get("profiles") or []],
        lambda: [P.read_sts(p) for p in doc.get("profiles") or []],
        lambda: [P.profile_state_and_reason(p, time.time()) for p in doc.get("profiles") or []],
        lambda: P.upsert_oauth_profile(doc, P.validate_profile_name(name), "CN", TOKENS, STS, region=None),
        lambda: P.validate_region(region),
        lambda: P.validate_language(language),
        lambda: P.validate_site(region),
    ]


@settings(max_examples=80, deadline=None)
@given(documents(), NAMES, st.sampled_from(["cn-hangzhou", "", "../x"]) | JSON, st.sampled_from(["en", "zh"]) | JSON,
       st.integers(0, 12))
def test_profile_operations_raise_only_typed_errors(
    doc: dict[str, Any], name: str, region: Any, language: Any, which: int
) -> None:
    operation = operations(doc, name, region, language)[which]
    try:
        operation()
    except SidecarError as exc:
        assert exc.kind in kinds() and exc.kind != "internal"
        return
    # whatever the operation changed, the document is still one we can check and write
    validate_shape(doc, "config.json")
    parse_document(serialize_document(doc).decode("utf-8"), "config.json")


# =================================================================================================
# a real sidecar over raw stdio
# =================================================================================================


class RawSidecar:
    """``python -m sidecar`` with raw bytes on its stdin; a reader thread parses its stdout frames."""

    def __init__(self, home: Path) -> None:
        env = {"HOME": str(home), "PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sidecar"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, cwd=str(REPO), env=env,
        )
        self._write_lock = threading.Lock()
        self._arrived = threading.Condition()
        self.messages: list[dict[str, Any]] = []
        self.stderr = bytearray()
        self.eof = False
        self._ids = itertools.count(1)
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain, daemon=True).start()

    # --- wire
    def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        with self._write_lock:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()

    @staticmethod
    def frame(body: bytes) -> bytes:
        return b"Content-Length: %d\r\n\r\n" % len(body) + body

    def send(self, message: Any) -> None:
        self.write(self.frame(json.dumps(message).encode("utf-8")))

    def _read(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        try:
            while True:
                length = None
                while True:
                    line = stream.readline()
                    if not line:
                        return
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                    elif line in (b"\r\n", b"\n"):
                        break
                message = json.loads(stream.read(length or 0))
                if "method" in message and "id" in message:  # a request from the sidecar
                    result = {"success": False} if message["method"] == "window/showDocument" else None
                    self.send({"jsonrpc": "2.0", "id": message["id"], "result": result})
                with self._arrived:
                    self.messages.append(message)
                    self._arrived.notify_all()
        finally:
            with self._arrived:
                self.eof = True
                self._arrived.notify_all()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        while chunk := self.proc.stderr.read1(65536):
            self.stderr.extend(chunk)

    # --- conversation
    def wait(self, predicate: Callable[[dict[str, Any]], bool], timeout: float, start: int = 0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for message in self.messages[start:]:
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.eof:
                    raise TimeoutError("no such message from the sidecar")
                self._arrived.wait(remaining)

    def send_request(self, method: str, params: Any = None, *, with_params: bool = True) -> str:
        msg_id = f"t{next(self._ids)}"
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if with_params:
            message["params"] = params
        self.send(message)
        return msg_id

    def answer(self, msg_id: str, timeout: float = 5.0) -> dict[str, Any]:
        return self.wait(lambda m: m.get("id") == msg_id and "method" not in m, timeout)

    def request(self, method: str, params: Any = None, timeout: float = 5.0) -> dict[str, Any]:
        return self.answer(self.send_request(method, params), timeout)

    def initialize(self, options: dict[str, Any]) -> dict[str, Any]:
        answer = self.request("initialize", {"processId": None, "rootUri": None, "capabilities": {
            "window": {"showDocument": {"support": True}}}, "initializationOptions": options}, timeout=30)
        assert "result" in answer, answer.get("error")
        self.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        return answer

    def alive(self) -> bool:
        answer = self.request("aliyun/listProfiles", {})
        return "result" in answer

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(host="127.0.0.1", port=0, auto_approve=True) as emulator:
        yield emulator


def ports() -> list[int]:
    return free_port_range()


async def _seed(emu: Emulator, config_path: Path) -> None:
    from benchmarks.seed import sign_in  # the same in-process sign-in the benchmarks use

    await sign_in(emu, config_path, "dev")


@pytest.fixture(scope="module")
def fuzz_sidecar(emu: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RawSidecar, Path]]:
    home = tmp_path_factory.mktemp("fuzz-home")
    config_path = home / ".aliyun" / "config.json"
    asyncio.run(_seed(emu, config_path))
    ConfigStore(config_path).update(
        lambda doc: P.profiles_of(doc).append({"name": "ak", "mode": "AK", "access_key_id": "LTAIfake",
                                               "access_key_secret": "fake-ak-secret"})
    )
    side = RawSidecar(home)
    side.initialize({
        "configPath": str(config_path), "callbackPorts": ports(), "keepFresh": False, "logLevel": "debug",
        "endpoints": {"signinBase": emu.url, "oauthBase": emu.url, "stsEndpoint": emu.url},
    })
    yield side, config_path
    answer = side.request("shutdown", None)
    assert "result" in answer
    side.send({"jsonrpc": "2.0", "method": "exit"})
    assert side.proc.wait(5) == 0
    secrets_in_file = []
    with contextlib.suppress(OSError, ValueError):
        for profile in json.loads(config_path.read_text()).get("profiles", []):
            for key in ("oauth_access_token", "oauth_refresh_token", "access_key_secret", "sts_token"):
                if isinstance(profile.get(key), str) and len(profile[key]) >= 8:
                    secrets_in_file.append(profile[key])
    stderr = side.stderr.decode("utf-8", "replace")
    leaked = any(secret in stderr for secret in secrets_in_file)
    assert not leaked, "a secret from the config file reached the sidecar's stderr"
    assert "Traceback" not in stderr
    side.close()


# =================================================================================================
# 3. random params for every aliyun/* method
# =================================================================================================

INTERESTING: dict[str, st.SearchStrategy[Any]] = {
    "name": st.sampled_from(["dev", "ak", "nope", "", " ", "x" * 200, "a\nb", "dev\x00"]),
    "profile": st.sampled_from(["dev", "ak", "nope", "", "x" * 5000]),
    "region": st.sampled_from(["cn-hangzhou", "", "../etc", "eu central", "x" * 100]),
    "language": st.sampled_from(["en", "zh", "fr", ""]),
    "force": st.sampled_from([True, False, "sts", "accessToken", "yes", 1, 0]),
    "site": st.sampled_from(["CN", "INTL", "intl", "MARS", ""]),
    "openBrowser": st.sampled_from([True, False, "no", 0]),
    "workDoneToken": st.sampled_from(["tok", 7, -1, True, 1.5]),
    "url": st.sampled_from([
        "http://127.0.0.1:12345/cli/callback?code=abc&state=def", "", "garbage",
        "http://127.0.0.1:12345/cli/callback?error=access_denied&state=x", "javascript:alert(1)",
    ]),
}
#: Every method of the sidecar's table and the params it declares (a new method is fuzzed with no
#: change here; a param without interesting values gets random JSON only).
METHODS: dict[str, list[str]] = {name: list(method.params) for name, method in SIDECAR_METHODS.items()}


def params_for(keys: list[str]) -> st.SearchStrategy[Any]:
    known = {key: INTERESTING[key] | JSON if key in INTERESTING else JSON for key in keys}
    objects = st.fixed_dictionaries({}, optional=known).flatmap(
        lambda base: st.dictionaries(TEXT, JSON, max_size=2).map(lambda extra: {**extra, **base})
    )
    return objects | JSON


def check_answer(answer: dict[str, Any]) -> None:
    if "result" in answer:
        return
    error = answer["error"]
    assert isinstance(error.get("code"), int) and isinstance(error.get("message"), str)
    kind = (error.get("data") or {}).get("kind")
    assert kind in kinds() | set(EDGE_KINDS), error
    assert kind != "internal", f"an internal error for bad params: {error['message']}"


@pytest.mark.parametrize("method", list(METHODS))
def test_random_params_always_get_an_answer(fuzz_sidecar: tuple[RawSidecar, Path], method: str) -> None:
    side, _config = fuzz_sidecar
    examples = 25 if method == "aliyun/signIn" else 40

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(params_for(METHODS[method]))
    def run(params: Any) -> None:
        start = len(side.messages)
        msg_id = side.send_request(method, params)
        if method != "aliyun/signIn":
            check_answer(side.answer(msg_id, timeout=10))
            return
        # A valid sign-in waits for a browser: once it has started, cancel it; it must answer "cancelled".
        first = side.wait(
            lambda m: m.get("id") == msg_id or m.get("method") == "aliyun/signInStarted", timeout=10, start=start
        )
        if first.get("method") == "aliyun/signInStarted":
            assert side.request("aliyun/cancelSignIn", {})["result"] == {"cancelled": True}
            answer = side.answer(msg_id, timeout=5)
            assert answer["error"]["data"]["kind"] == "cancelled"
        else:
            check_answer(first)

    run()
    assert side.alive()


# =================================================================================================
# 4. malformed LSP frames
# =================================================================================================


@pytest.fixture(scope="module")
def frames_sidecar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RawSidecar]:
    home = tmp_path_factory.mktemp("frames-home")
    side = RawSidecar(home)
    side.initialize({"configPath": str(home / "config.json"), "keepFresh": False})
    yield side
    side.close()


def body(text: str | bytes) -> bytes:
    return RawSidecar.frame(text if isinstance(text, bytes) else text.encode("utf-8"))


BAD_FRAMES = [
    pytest.param(b"garbage that is not a header\r\nmore garbage\r\n\r\n", id="garbage-lines"),
    pytest.param(b"Content-Length: abc\r\n\r\n", id="content-length-not-a-number"),
    pytest.param(b"Content-Length: -5\r\n\r\n", id="content-length-negative"),
    pytest.param(b"Content-Length 12\r\n\r\n", id="header-without-colon"),
    pytest.param(b"Content-Type: application/json\r\n\r\n", id="no-content-length"),
    pytest.param(body("{not json"), id="invalid-json"),
    pytest.param(body(b'{"jsonrpc": "2.0", "id": "x", "method": "\xff\xfe"}'), id="invalid-utf8"),
    pytest.param(body('[{"jsonrpc": "2.0", "id": "b1", "method": "aliyun/listProfiles", "params": {}}]'), id="json-array"),
    pytest.param(body("[]"), id="empty-array"),
    pytest.param(body("42"), id="json-number"),
    pytest.param(body("null"), id="json-null"),
    pytest.param(body('"a string"'), id="json-string"),
    pytest.param(body('{"jsonrpc": "2.0", "id": "m1", "params": {}}'), id="request-without-method"),
    pytest.param(body('{"jsonrpc": "2.0", "id": "m2", "method": 5, "params": {}}'), id="method-not-a-string"),
    pytest.param(body('{"jsonrpc": "2.0", "id": {"x": 1}, "method": "aliyun/listProfiles"}'), id="id-an-object"),
    pytest.param(body('{"jsonrpc": "1.0", "id": "v1", "method": "aliyun/listProfiles"}'), id="wrong-jsonrpc-version"),
    pytest.param(body('{"jsonrpc": "2.0", "method": "aliyun/noSuchNotification", "params": {}}'), id="unknown-notification"),
    pytest.param(body('{"jsonrpc": "2.0", "id": 999999, "result": {}}'), id="answer-to-nothing"),
    pytest.param(body("[" * 100_000), id="nested-100k-deep"),
    pytest.param(body('{"jsonrpc": "2.0", "id": "h1", "method": "aliyun/nope", "params": {"x": "' + "a" * 6_000_000 + '"}}'),
                 id="huge-6MB-unknown-method"),
    pytest.param(body("{" + " " * 4_000_000), id="huge-4MB-invalid-json"),
]


@pytest.mark.parametrize("data", BAD_FRAMES)
def test_bad_frames_leave_the_server_serving(frames_sidecar: RawSidecar, data: bytes) -> None:
    start = len(frames_sidecar.messages)
    frames_sidecar.write(data)
    assert frames_sidecar.alive(), "the sidecar stopped answering after a bad frame"
    for message in frames_sidecar.messages[start:]:
        if "method" not in message and message.get("id") not in (None,) and "error" in message:
            assert isinstance(message["error"]["code"], int)
    assert frames_sidecar.proc.poll() is None


def test_a_huge_valid_request_is_answered(frames_sidecar: RawSidecar) -> None:
    answer = frames_sidecar.request("aliyun/listProfiles", {"padding": "p" * 8_000_000}, timeout=20)
    assert "result" in answer


def test_frames_split_and_joined(frames_sidecar: RawSidecar) -> None:
    one = body('{"jsonrpc": "2.0", "id": "s1", "method": "aliyun/listProfiles", "params": {}}')
    for index in range(0, len(one), 7):  # dribbled in small pieces
        frames_sidecar.write(one[index : index + 7])
        time.sleep(0.002)
    assert "result" in frames_sidecar.answer("s1")
    two = body('{"jsonrpc": "2.0", "id": "j1", "method": "aliyun/listProfiles", "params": {}}') + body(
        '{"jsonrpc": "2.0", "id": "j2", "method": "aliyun/cancelSignIn", "params": null}'
    )
    frames_sidecar.write(two)  # two frames in one write
    assert "result" in frames_sidecar.answer("j1")
    assert frames_sidecar.answer("j2")["result"] == {"cancelled": False}


def test_a_request_without_params_is_answered(frames_sidecar: RawSidecar) -> None:
    sent = [frames_sidecar.send_request(m, with_params=False) for m in ("aliyun/listProfiles", "aliyun/cancelSignIn")]
    for msg_id in sent:
        check_answer(frames_sidecar.answer(msg_id, timeout=1.5))


def test_unknown_method_error_carries_data_kind(frames_sidecar: RawSidecar) -> None:
    answer = frames_sidecar.request("aliyun/noSuchMethod", {})
    assert answer["error"]["code"] == -32601
    assert answer["error"]["data"] == {"kind": "methodNotFound"}


def error_answer_to_null(side: RawSidecar, start: int) -> dict[str, Any]:
    return side.wait(lambda m: "method" not in m and m.get("id") is None and "error" in m, timeout=5, start=start)


RESYNC_CASES = [
    pytest.param(b"Content-Length: 1x\r\n\r\n", id="length-with-a-letter"),
    pytest.param(b"Content-Length: 99999999999999999999\r\n\r\n", id="length-absurd"),
    pytest.param(b"Content-Length:\r\n\r\n", id="length-empty"),
    pytest.param(b"Content-Type: application/json\r\n\r\n", id="no-length"),
]


@pytest.mark.parametrize("header", RESYNC_CASES)
def test_a_bad_header_loses_only_its_own_frame(frames_sidecar: RawSidecar, header: bytes) -> None:
    """The frame's body (no newline after it) must not swallow the frames that follow it."""
    side = frames_sidecar
    bad = header + b'{"jsonrpc": "2.0", "id": "lost", "method": "aliyun/listProfiles", "params": {}}'
    good = [body(json.dumps({"jsonrpc": "2.0", "id": f"after{i}", "method": "aliyun/listProfiles", "params": {}}))
            for i in range(3)]
    side.write(bad + b"".join(good))
    for i in range(3):
        assert "result" in side.answer(f"after{i}", timeout=5)


def test_header_names_are_case_insensitive(frames_sidecar: RawSidecar) -> None:
    message = b'{"jsonrpc": "2.0", "id": "lower", "method": "aliyun/listProfiles", "params": {}}'
    frames_sidecar.write(b"content-length: %d\r\n\r\n" % len(message) + message)
    assert "result" in frames_sidecar.answer("lower")


def test_a_numeric_method_gets_invalid_request_without_python_text(frames_sidecar: RawSidecar) -> None:
    frames_sidecar.send({"jsonrpc": "2.0", "id": "num", "method": 5, "params": {}})
    error = frames_sidecar.answer("num")["error"]
    assert error["code"] == -32600 and error["data"] == {"kind": "invalidRequest"}
    assert "Error" not in error["message"] and "str" not in error["message"] and "int" not in error["message"]


def test_a_batch_gets_one_invalid_request_answer(frames_sidecar: RawSidecar) -> None:
    """docs/contract.md: batches are not supported (LSP never sends them); one error, id null."""
    side = frames_sidecar
    start = len(side.messages)
    side.write(body(json.dumps([{"jsonrpc": "2.0", "id": "b1", "method": "aliyun/listProfiles", "params": {}}])))
    error = error_answer_to_null(side, start)["error"]
    assert error["code"] == -32600 and error["data"] == {"kind": "invalidRequest"}
    assert not any(m.get("id") == "b1" for m in side.messages[start:])


def test_unparseable_json_gets_a_parse_error_answer(frames_sidecar: RawSidecar) -> None:
    side = frames_sidecar
    start = len(side.messages)
    side.write(body('{"jsonrpc": "2.0", "id": "p1", "method": '))
    error = error_answer_to_null(side, start)["error"]
    assert error["code"] == -32700 and error["data"] == {"kind": "invalidRequest"}
    assert "Expecting" not in error["message"]  # never the parser's text


@pytest.mark.parametrize("message", [
    pytest.param({"jsonrpc": "1.0", "id": "v1", "method": "aliyun/listProfiles"}, id="wrong-version"),
    pytest.param({"jsonrpc": "2.0", "id": "n1"}, id="no-method"),
    pytest.param({"jsonrpc": "2.0", "id": [1], "method": "aliyun/listProfiles"}, id="id-an-array"),
])
def test_other_invalid_requests_get_an_answer(frames_sidecar: RawSidecar, message: dict[str, Any]) -> None:
    side = frames_sidecar
    start = len(side.messages)
    side.send(message)
    expected_id = message["id"] if isinstance(message["id"], str) else None
    answer = side.wait(lambda m: "method" not in m and m.get("id") == expected_id and "error" in m, 5, start)
    assert answer["error"]["data"] == {"kind": "invalidRequest"}


@pytest.fixture
def lone_sidecar(tmp_path: Path) -> Iterator[RawSidecar]:
    side = RawSidecar(tmp_path)
    yield side
    side.close()


def test_requests_after_shutdown_then_a_prompt_exit(lone_sidecar: RawSidecar, tmp_path: Path) -> None:
    side = lone_sidecar
    side.initialize({"configPath": str(tmp_path / "config.json"), "keepFresh": False})
    shutdown = side.request("shutdown", None)
    assert "result" in shutdown and shutdown["result"] is None
    for _ in range(2):  # an error each time (or silence), and still listening
        msg_id = side.send_request("aliyun/listProfiles", {})
        with contextlib.suppress(TimeoutError):
            answer = side.answer(msg_id, timeout=2)
            assert "error" in answer and answer["error"]["code"] == -32600
    assert side.proc.poll() is None
    started = time.monotonic()
    side.send({"jsonrpc": "2.0", "method": "exit"})
    assert side.proc.wait(5) == 0
    assert time.monotonic() - started < 2


def test_exit_without_shutdown_ends_the_process(lone_sidecar: RawSidecar, tmp_path: Path) -> None:
    side = lone_sidecar
    side.initialize({"configPath": str(tmp_path / "config.json"), "keepFresh": False})
    side.send({"jsonrpc": "2.0", "method": "exit"})
    assert side.proc.wait(5) == 1  # the LSP spec: exit without shutdown ends with 1


EXIT_TIMES: dict[str, float] = {}


@pytest.mark.parametrize("how", ["shutdown-exit", "stdin-closed"])
def test_exit_is_prompt_during_a_pending_sign_in(
    emu: Emulator, lone_sidecar: RawSidecar, tmp_path: Path, how: str
) -> None:
    side = lone_sidecar
    side.initialize({"configPath": str(tmp_path / "config.json"), "keepFresh": False, "callbackPorts": ports(),
                     "endpoints": {"signinBase": emu.url, "oauthBase": emu.url}})
    msg_id = side.send_request("aliyun/signIn", {"profile": "dev", "openBrowser": False})
    side.wait(lambda m: m.get("method") == "aliyun/signInStarted", timeout=10)
    started = time.monotonic()
    if how == "shutdown-exit":
        side.request("shutdown", None, timeout=5)
        side.send({"jsonrpc": "2.0", "method": "exit"})
    else:
        assert side.proc.stdin is not None
        side.proc.stdin.close()
    code = side.proc.wait(10)
    elapsed = time.monotonic() - started
    EXIT_TIMES[how] = elapsed
    print(f"exit during a pending sign-in ({how}): {elapsed * 1000:.0f} ms, code {code}")
    assert elapsed < 5
    if how == "shutdown-exit":
        assert code == 0
        with contextlib.suppress(TimeoutError):  # the pending request may be answered on the way out
            answer = side.answer(msg_id, timeout=0.1)
            assert answer["error"]["data"]["kind"] == "cancelled"


# =================================================================================================
# 5. malformed requests to the loopback callback (beyond tests/test_callback.py)
# =================================================================================================

STATE = "fake-state_0123456789abcdefABCDEF"
CODE = "fake-code-9876543210"


@pytest.fixture
def pending() -> PendingAuthorization:
    return PendingAuthorization(STATE)


@pytest.fixture
async def callback(pending: PendingAuthorization) -> Any:
    server = await CallbackServer.bind(pending, ports=(0, 0), linger=0.05, head_timeout=0.5)
    yield server
    await server.close()


async def raw_http(port: int, data: bytes, host: str = "127.0.0.1") -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 3.0)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def http_get(target: str, *headers: str, host: str | None = "127.0.0.1", version: str = "HTTP/1.1") -> bytes:
    lines = [f"GET {target} {version}"]
    if host is not None:
        lines.append(f"Host: {host}")
    lines += [*headers, "", ""]
    return "\r\n".join(lines).encode("latin-1")


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


@pytest.mark.parametrize(
    "query",
    [
        f"error=access_denied&error=other&state={STATE}",
        f"error=access_denied&error_description=a&error_description=b&state={STATE}",
        f"error_uri=x&error_uri=y&code={CODE}&state={STATE}",
        "error=access_denied",
        "error=access_denied&state=forged-or-stale",
        f"code={CODE}&state={STATE.upper()}",
        f"code={CODE}&state=",
        f"code=a%00b&state={STATE}",
        f"code=%e2%80%ae{CODE}&state={STATE}",
        "&".join(f"p{i}=v" for i in range(60)) + f"&code={CODE}&state={STATE}",
        f"code={CODE}&state={STATE}%00",
        f"code={CODE};state={STATE}",
    ],
    ids=["dup-error", "dup-description", "dup-error-uri", "error-without-state", "error-forged-state",
         "state-case", "empty-state", "nul-in-code", "bidi-in-code", "too-many-fields", "nul-after-state",
         "semicolon-separator"],
)
async def test_more_invalid_answers_change_nothing(
    callback: CallbackServer, pending: PendingAuthorization, query: str
) -> None:
    answer = await raw_http(callback.port, http_get(f"/cli/callback?{query}"))
    assert status(answer) == 400
    assert not pending.done(), "an invalid or forged answer settled the sign-in"
    assert status(await raw_http(callback.port, http_get(f"/cli/callback?code={CODE}&state={STATE}"))) == 200
    got = await pending.wait(1.0) == CODE
    assert got


@pytest.mark.parametrize(
    "path",
    ["/cli/callback/..", "/cli/callback/%2e%2e", "/cli\\callback", "/cli/callback%00", "/%2Fcli/callback",
     "/cli/./callback", "/./cli/callback", "/cli/callback%3Fcode=x", "/cli/callback#x", "/cli//callback"],
)
async def test_more_path_tricks_are_404(callback: CallbackServer, pending: PendingAuthorization, path: str) -> None:
    answer = await raw_http(callback.port, http_get(f"{path}?code={CODE}&state={STATE}"))
    assert status(answer) in (400, 404)
    assert not pending.done()


@pytest.mark.parametrize(
    ("host", "expected"),
    [("localhost", 200), (None, 400), ("127.0.0.1.nip.io", 400), ("evil.example:80", 400), ("", 400),
     ("127.0.0.1@evil.example", 400)],
    ids=["localhost", "no-host", "rebinding-name", "other-host", "empty-host", "userinfo-trick"],
)
async def test_host_header_checks(
    callback: CallbackServer, pending: PendingAuthorization, host: str | None, expected: int
) -> None:
    value = None if host is None else (f"{host}:{callback.port}" if host in ("localhost",) else host)
    answer = await raw_http(callback.port, http_get(f"/cli/callback?code={CODE}&state={STATE}", host=value))
    assert status(answer) == expected
    assert pending.done() == (expected == 200)


async def test_scripts_in_error_fields_are_never_echoed(callback: CallbackServer, pending: PendingAuthorization) -> None:
    query = urllib.parse.urlencode({
        "error": "<script>alert(1)</script>",
        "error_uri": "javascript:alert(document.cookie)",
        "state": STATE,
    })
    answer = await raw_http(callback.port, http_get(f"/cli/callback?{query}"))
    page = answer.decode("utf-8", "replace").lower()
    assert "<script" not in page and "javascript:" not in page
    assert "content-security-policy" in page


async def test_a_request_with_a_body_or_chunked_encoding_is_still_judged_by_its_query(
    callback: CallbackServer, pending: PendingAuthorization
) -> None:
    data = http_get(f"/cli/callback?code={CODE}&state={STATE}", "Content-Length: 11")[:-2] + b"\r\nhello world"
    answer = await raw_http(callback.port, data)
    assert status(answer) in (200, 400)
    assert pending.done() == (status(answer) == 200)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=120) | st.sampled_from([f"code={CODE}&state={STATE}", f"state={STATE}&code="]))
def test_any_query_is_judged_without_raising(query: str) -> None:
    async def judge() -> tuple[str, bool]:
        pending = PendingAuthorization(STATE)
        outcome = pending.deliver_query(query)
        return outcome, pending.done()

    outcome, done = asyncio.run(judge())
    assert outcome in ("accepted", "denied", "state_mismatch", "invalid", "already_done")
    assert done == (outcome in ("accepted", "denied"))
    if outcome in ("accepted", "denied"):
        assert STATE in urllib.parse.unquote(query)


class _ServerThread:
    """A callback server on its own event loop thread, for synchronous hypothesis tests."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.pending: PendingAuthorization | None = None
        self.server = self.call(self._start())

    async def _start(self) -> CallbackServer:
        self.pending = PendingAuthorization(STATE)
        return await CallbackServer.bind(self.pending, ports=(0, 0), linger=60, head_timeout=0.3)

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def close(self) -> None:
        self.call(self.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="module")
def callback_thread() -> Iterator[_ServerThread]:
    server = _ServerThread()
    yield server
    server.close()


HTTP_PIECES = st.sampled_from([
    b"GET ", b"POST ", b"/cli/callback", b"?", b"code=x&state=y", b"&", b" HTTP/1.1", b" HTTP/1.0", b"\r\n",
    b"Host: 127.0.0.1", b"Host: evil", b": ", b"\n", b" ", b"\t", b"\x00", b"%", b"%zz", b"\xff",
])


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(HTTP_PIECES, max_size=12).map(b"".join) | st.binary(max_size=200))
def test_any_request_bytes_get_an_http_answer_or_a_close(callback_thread: _ServerThread, data: bytes) -> None:
    with socket.create_connection(("127.0.0.1", callback_thread.server.port), timeout=3) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    answer = b"".join(chunks)
    if answer:
        assert re.match(rb"HTTP/1\.1 [1-5]\d\d ", answer), answer[:40]
    assert callback_thread.pending is not None and not callback_thread.pending.done()


# =================================================================================================
# 6. the loopback servers are not reachable from another address of this machine
# =================================================================================================


def non_loopback_address() -> str | None:
    candidates: list[str] = []
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.254", 9))  # no packet is sent; this only picks a source address
        candidates.append(probe.getsockname()[0])
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, timeout=5).stdout
        candidates += re.findall(r"inet (\d+\.\d+\.\d+\.\d+)/", out)
    for address in candidates:
        if not address.startswith("127.") and address != "0.0.0.0":
            return address
    return None


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def test_callback_and_credentials_endpoint_are_loopback_only(
    fuzz_sidecar: tuple[RawSidecar, Path], emu: Emulator
) -> None:
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to try from")
    side, _config = fuzz_sidecar
    start = len(side.messages)
    msg_id = side.send_request("aliyun/signIn", {"profile": "probe", "openBrowser": False})
    started = side.wait(lambda m: m.get("method") == "aliyun/signInStarted", timeout=10, start=start)
    port = urllib.parse.urlsplit(started["params"]["redirectUri"]).port
    assert port is not None
    try:
        assert reachable("127.0.0.1", port)
        assert not reachable(address, port), f"the sign-in callback answers on {address}"
    finally:
        side.request("aliyun/cancelSignIn", {})
        side.answer(msg_id)
    answer = side.request("aliyun/credentialsEndpoint", {})
    if "error" in answer and answer["error"]["code"] == -32601:
        pytest.skip("aliyun/credentialsEndpoint is not implemented in this build")
    uri = urllib.parse.urlsplit(answer["result"]["uri"])
    assert uri.hostname == "127.0.0.1" and uri.port is not None
    assert reachable("127.0.0.1", uri.port)
    assert not reachable(address, uri.port), f"the credentials endpoint answers on {address}"
