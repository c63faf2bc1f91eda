"""The shared config file on unfriendly file systems and beside unfriendly writers (issues 19, 20, 21):
network folders whose locks fail, an in-place writer's empty moment, a home folder others can
write, a config name with glob characters, and the CLI's key order for a profile we create."""

from __future__ import annotations

import errno
import json
import os
import shutil
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from sidecar.config import profiles as P
from sidecar.config.files import temp_prefix
from sidecar.config.store import ConfigStore
from sidecar.errors import ConfigInsecure, ConfigUnavailable
from sidecar.platform import osfs
from sidecar.tokens import OAuthTokens, StsCredentials

from .conftest import FIXTURES, load_json, posix_only

needs_in_place_lock = pytest.mark.skipif(not osfs.locks_file_in_place, reason="no lock on the file itself here")
needs_posix_modes = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes and owners")

NOW = 1_750_000_000
TOKENS = OAuthTokens("new-access", "new-refresh", NOW + 3600, None)
STS = StsCredentials("STS.new", "new-secret", "new-token", NOW + 3600)


def _failing_lock(monkeypatch: pytest.MonkeyPatch, fails: Callable[[int], bool], code: int) -> None:
    """Make the platform's lock call fail with ``code`` for descriptors ``fails`` picks."""
    real = osfs.try_lock

    def try_lock(fd: int) -> bool:
        if fails(fd):
            raise OSError(code, os.strerror(code))
        return real(fd)

    monkeypatch.setattr(osfs, "try_lock", try_lock)


def _is(path: Path) -> Callable[[int], bool]:
    def check(fd: int) -> bool:
        st = os.fstat(fd)
        try:
            now = os.stat(path)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == (now.st_dev, now.st_ino)

    return check


# --------------------------------------------------------------- 20.3 locks that degrade


@needs_in_place_lock
@pytest.mark.parametrize("code", [errno.EBADF, errno.ENOLCK, errno.EACCES, errno.EINVAL])
def test_a_refused_lock_on_the_file_itself_is_skipped(
    cli_config: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, code: int
) -> None:
    _failing_lock(monkeypatch, _is(cli_config), code)
    store = ConfigStore(cli_config)
    store.update(lambda doc: P.switch_profile(doc, "sts"))  # switchProfile's write
    store.update(lambda doc: P.switch_profile(doc, "default"))
    assert load_json(cli_config)["current"] == "default"
    skipped = [r for r in caplog.records if "not locking" in r.getMessage()]
    assert len(skipped) <= 1  # one line per file, not one per write


@posix_only
@needs_in_place_lock
def test_the_file_is_opened_for_writing_so_nfs_can_lock_it(cli_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Linux NFS refuses an exclusive flock on a read-only descriptor (EBADF): simulate that rule."""
    import fcntl

    real = osfs.try_lock
    seen: list[int] = []

    def try_lock(fd: int) -> bool:
        if _is(cli_config)(fd):
            seen.append(fd)
            if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY:
                raise OSError(errno.EBADF, "Bad file descriptor")
        return real(fd)

    monkeypatch.setattr(osfs, "try_lock", try_lock)
    before = cli_config.read_bytes()
    ConfigStore(cli_config).update(lambda doc: P.switch_profile(doc, "sts"))
    assert seen and load_json(cli_config)["current"] == "sts"
    assert json.loads(before)["profiles"] == load_json(cli_config)["profiles"]  # nothing truncated


@pytest.mark.parametrize("code", [errno.EBADF, errno.ENOLCK, errno.EACCES])
def test_a_lock_file_that_cannot_be_locked_is_config_unavailable(
    cli_config: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    store = ConfigStore(cli_config)
    _failing_lock(monkeypatch, _is(store.lock_path), code)
    store.lock_path.touch()
    with pytest.raises(ConfigUnavailable) as info:
        store.update(lambda doc: P.switch_profile(doc, "sts"))
    assert info.value.kind == "configUnavailable"
    assert "local disk" in str(info.value) and os.strerror(code) in str(info.value)
    assert load_json(cli_config)["current"] == "oauth-dev"  # nothing written without the lock


async def test_a_lock_file_that_cannot_be_locked_is_config_unavailable_async(
    cli_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ConfigStore(cli_config)
    store.lock_path.touch()
    _failing_lock(monkeypatch, _is(store.lock_path), errno.ENOLCK)
    with pytest.raises(ConfigUnavailable):
        await store.aupdate(lambda doc: P.switch_profile(doc, "sts"))


@needs_in_place_lock
def test_a_mandatory_lock_that_refuses_our_own_read_is_let_go(cli_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CIFS: while a handle holds the lock, a read through another handle fails with EACCES."""
    real_lock, real_unlock, real_read = osfs.try_lock, osfs.unlock, Path.read_bytes
    holders: set[int] = set()

    def try_lock(fd: int) -> bool:
        ok = real_lock(fd)
        if ok and _is(cli_config)(fd):
            holders.add(fd)
        return ok

    def unlock(fd: int) -> None:
        holders.discard(fd)
        real_unlock(fd)

    def read_bytes(self: Path) -> bytes:
        if holders and self == cli_config:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_read(self)

    monkeypatch.setattr(osfs, "try_lock", try_lock)
    monkeypatch.setattr(osfs, "unlock", unlock)
    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    ConfigStore(cli_config).update(lambda doc: P.switch_profile(doc, "sts"))
    assert load_json(cli_config)["current"] == "sts"


# --------------------------------------------------------------- 21.3 empty reads settle


def test_an_in_place_writer_storm_never_reads_as_no_profiles(cli_config: Path) -> None:
    """The Node.js SDK rewrites the file in place (truncate, then write): a read between the two must
    wait for the write, not answer "no profiles" (``profileNotFound``)."""
    data = cli_config.read_bytes()
    stop = threading.Event()

    def writer() -> None:
        with open(cli_config, "r+b", buffering=0) as f:
            while not stop.is_set():
                f.seek(0)
                f.truncate()
                stop.wait(0.001)  # the moment a reader can see the empty file
                f.write(data)
                stop.wait(0.003)  # then the next rewrite (a storm: about 250 rewrites a second)

    thread = threading.Thread(target=writer)
    thread.start()
    store = ConfigStore(cli_config)
    try:
        names = [P.profile_names(store.read()) for _ in range(300)]
    finally:
        stop.set()
        thread.join()
    assert all("oauth-dev" in n for n in names), sum("oauth-dev" not in n for n in names)


def test_a_file_that_stays_empty_is_no_profiles(config_path: Path) -> None:
    config_path.parent.mkdir(parents=True)
    config_path.write_text(" \n")
    assert P.profile_names(ConfigStore(config_path, settle_time=0.05).read()) == []
    config_path.unlink()
    assert P.profile_names(ConfigStore(config_path, settle_time=0.05).read()) == []


# --------------------------------------------------------------- 21.5 the CLI's key order


def test_a_new_profile_is_written_in_the_cli_key_order(cli_config: Path) -> None:
    before = {p["name"]: list(p) for p in load_json(cli_config)["profiles"]}
    store = ConfigStore(cli_config)
    store.update(lambda doc: P.upsert_oauth_profile(doc, "fresh", "CN", TOKENS, STS, "cn-beijing", "zh"))
    store.update(lambda doc: P.upsert_oauth_profile(doc, "oauth-dev", "INTL", TOKENS, STS))
    profiles = load_json(cli_config)["profiles"]
    fresh = next(p for p in profiles if p["name"] == "fresh")
    assert list(fresh) == sorted(fresh, key=P.CLI_PROFILE_KEY_ORDER.index)
    assert list(fresh)[:2] == ["name", "mode"] and list(fresh)[-1] == "oauth_site_type"
    for profile in profiles:  # an existing profile keeps its own order (a key may come or go)
        if profile["name"] in before:
            kept = [k for k in before[profile["name"]] if k in profile]
            assert [k for k in profile if k in before[profile["name"]]] == kept


def test_the_cli_key_order_is_the_go_structs() -> None:
    """The order of aliyun-cli's ``Profile`` struct tags (``config/profile.go``): the OAuth block in
    the CLI's order, the mode and name first, and every OAuth field the sidecar writes is listed."""
    order = P.CLI_PROFILE_KEY_ORDER
    assert order[:2] == ("name", "mode") and len(set(order)) == len(order)
    oauth = ["sts_expiration", "oauth_access_token", "oauth_refresh_token", "oauth_access_token_expire",
             "oauth_refresh_token_expire", "oauth_site_type"]
    assert [k for k in order if k in oauth] == oauth
    assert "retry_timeout" in order and "read_timeout" not in order  # the Go field ReadTimeout's JSON tag
