"""The OS differences behind ``sidecar.platform``: every module imports without ``fcntl``, and the
Windows implementation runs on Linux with a fake ``msvcrt`` and injected sharing violations."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.config import files as files_mod
from sidecar.config import locks as locks_mod
from sidecar.config import profiles as P
from sidecar.config import store as store_mod
from sidecar.config.files import replace_retrying, write_private_file
from sidecar.config.locks import FileLock
from sidecar.config.store import ConfigStore, default_config_path
from sidecar.errors import ConfigUnavailable
from sidecar.platform import PosixFs, WindowsFs, select, winacl

from .conftest import FIXTURES, load_json, linux_only, posix_only

REPO = Path(__file__).resolve().parent.parent

IMPORT_ALL = r"""
import importlib, pkgutil, sys, traceback
sys.modules["fcntl"] = None  # "import fcntl" now raises ImportError, as on Windows
{extra}
import sidecar
failed = []
names = ["sidecar"] + [m.name for m in pkgutil.walk_packages(sidecar.__path__, "sidecar.")]
for name in names:
    try:
        importlib.import_module(name)
    except BaseException:
        failed.append(name + ": " + traceback.format_exc(limit=1).strip().splitlines()[-1])
print(len(names))
print("\n".join(failed))
"""


def _import_everything(extra: str = "") -> tuple[int, list[str]]:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL.replace("{extra}", extra)],
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    return int(lines[0]), [line for line in lines[1:] if line]


def test_every_sidecar_module_imports_without_fcntl() -> None:
    count, failed = _import_everything()
    assert failed == []
    assert count >= 25  # the walk really found the package's modules


def test_no_module_imports_a_posix_only_module_at_import_time() -> None:
    """Also pwd, grp, termios, resource: none of them exists on Windows."""
    extra = "\n".join(f"sys.modules[{m!r}] = None" for m in ("pwd", "grp", "termios", "resource", "tty", "pty"))
    _, failed = _import_everything(extra)
    assert failed == []


def test_the_implementation_is_chosen_by_platform() -> None:
    assert isinstance(select("win32"), WindowsFs)
    assert isinstance(select("linux"), PosixFs)
    assert isinstance(select("darwin"), PosixFs)


# ------------------------------------------------------------------ Windows, on Linux


class FakeMsvcrt(types.ModuleType):
    """``msvcrt.locking`` as Windows does it: a lock on bytes of a file that belongs to the handle;
    ``LK_NBLCK`` fails at once (EACCES) when another handle holds it."""

    LK_UNLCK, LK_LOCK, LK_NBLCK, LK_RLCK, LK_NBRLCK = 0, 1, 2, 3, 4

    def __init__(self) -> None:
        super().__init__("msvcrt")
        self.holders: dict[tuple[int, int, int], int] = {}
        #: the names of the files locked (read while the handle is open)
        self.locked_names: list[str] = []

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        st = os.fstat(fd)
        key = (st.st_dev, st.st_ino, os.lseek(fd, 0, os.SEEK_CUR))
        self.locked_names.append(os.path.basename(os.readlink(f"/proc/self/fd/{fd}")))
        if mode == self.LK_UNLCK:
            if self.holders.get(key) != fd:
                raise PermissionError(errno.EACCES, "Permission denied")
            del self.holders[key]
        elif mode == self.LK_NBLCK:
            if key in self.holders:
                raise PermissionError(errno.EACCES, "Permission denied")
            self.holders[key] = fd
        else:
            raise AssertionError("the sidecar only ever asks without waiting")


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch, isolated_home: Path) -> Iterator[FakeMsvcrt]:
    """Run the store on ``WindowsFs`` with a fake ``msvcrt``."""
    fake = FakeMsvcrt()
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    fs = WindowsFs()
    for module in (locks_mod, files_mod, store_mod):
        monkeypatch.setattr(module, "osfs", fs)
    monkeypatch.setenv("USERPROFILE", str(isolated_home / "winprofile"))
    yield fake


def sharing_violation(winerror: int = 32) -> PermissionError:
    exc = PermissionError(errno.EACCES, "The process cannot access the file because it is being used by another process")
    exc.winerror = winerror  # type: ignore[attr-defined]
    return exc


@linux_only
def test_windows_home_is_userprofile(windows: FakeMsvcrt, isolated_home: Path) -> None:
    assert default_config_path() == isolated_home / "winprofile" / ".aliyun" / "config.json"


@linux_only
def test_windows_locks_exclude_each_other_and_release(windows: FakeMsvcrt, tmp_path: Path) -> None:
    path = tmp_path / ".config.json.lock"
    with FileLock(path, timeout=5) as first:
        assert first.held
        with pytest.raises(ConfigUnavailable, match="held the lock"):
            FileLock(path, timeout=0.05).acquire()
    assert windows.holders == {}  # unlocked before the handle was closed
    with FileLock(path, timeout=0.05):
        pass
    assert path.exists()  # a lock file is never deleted


@linux_only
async def test_windows_async_lock(windows: FakeMsvcrt, tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    async with FileLock(path, timeout=5):
        with pytest.raises(ConfigUnavailable):
            await FileLock(path, timeout=0.05).aacquire()
    async with FileLock(path, timeout=0.05):
        pass


@linux_only
def test_windows_store_round_trip_with_sharing_violations(
    windows: FakeMsvcrt, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole store on the Windows branch: the SDKs' in-place lock is not taken (see
    ``locks_file_in_place``), and a replace that meets a reader's open handle is retried."""
    config = isolated_home / "winprofile" / ".aliyun" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text((FIXTURES / "cli_config.json").read_text())
    real_replace = os.replace
    failures = {"n": 0}

    def busy_twice(src: str, dst: object) -> None:
        if failures["n"] < 2:
            failures["n"] += 1
            raise sharing_violation(32 if failures["n"] == 1 else 5)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", busy_twice)
    ConfigStore().update(lambda doc: P.switch_profile(doc, "sts"))
    monkeypatch.undo()
    assert failures["n"] == 2
    assert load_json(config)["current"] == "sts"
    assert [p.name for p in config.parent.iterdir() if p.suffix == ".tmp"] == []
    # only our lock file was locked (the config itself is not, on Windows)
    assert set(windows.locked_names) == {".config.json.lock"}


@linux_only
def test_windows_replace_gives_up_after_a_while(windows: FakeMsvcrt, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files_mod, "REPLACE_RETRY_SECONDS", 0.05)
    src = tmp_path / "src"
    src.write_text("x")

    def always_busy(a: object, b: object) -> None:
        raise sharing_violation(33)

    monkeypatch.setattr(os, "replace", always_busy)
    with pytest.raises(PermissionError):
        replace_retrying(str(src), tmp_path / "dst")


@linux_only
def test_windows_replace_stops_when_the_target_changed_meanwhile(windows: FakeMsvcrt, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While we wait for a reader, an in-place writer (an SDK on Windows) may change the file: then
    our change is redone on its version instead of replacing it."""
    src = tmp_path / "src"
    src.write_text("x")
    monkeypatch.setattr(os, "replace", lambda a, b: (_ for _ in ()).throw(sharing_violation()))
    assert replace_retrying(str(src), tmp_path / "dst", still_current=lambda: False) is False
    assert src.exists()


def test_a_permission_error_is_not_retried_on_posix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files_mod, "osfs", PosixFs())
    calls = {"n": 0}

    def denied(a: object, b: object) -> None:
        calls["n"] += 1
        raise sharing_violation()

    monkeypatch.setattr(os, "replace", denied)
    with pytest.raises(PermissionError):
        replace_retrying(str(tmp_path / "a"), tmp_path / "b")
    assert calls["n"] == 1


@linux_only
def test_windows_skips_modes_and_ownership(windows: FakeMsvcrt, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_chmod(*args: object) -> None:
        raise AssertionError("no POSIX modes on Windows")

    monkeypatch.setattr(os, "chmod", no_chmod)
    monkeypatch.setattr(os, "fchmod", no_chmod)
    folder = tmp_path / "w"
    folder.mkdir()
    os.utime(folder)
    target = folder / "record.json"
    write_private_file(target, b'{"a": 1}')
    assert json.loads(target.read_bytes()) == {"a": 1}
    assert WindowsFs().insecurity(target, os.stat(target)) is None


def test_macos_fsync_flushes_the_disk_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """On macOS ``fsync`` leaves data in the drive's cache; F_FULLFSYNC does not."""
    fake_fcntl = types.ModuleType("fcntl")
    fake_fcntl.F_FULLFSYNC = 51  # type: ignore[attr-defined]
    seen: list[int] = []
    fake_fcntl.fcntl = lambda fd, op: seen.append(op)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fcntl", fake_fcntl)
    with open(tmp_path / "f", "wb") as f:
        PosixFs(darwin=True).fsync(f.fileno())
    assert seen == [51]


@posix_only
def test_windows_open_nofollow_refuses_links_and_reparse_points(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows has no O_NOFOLLOW: a symlink, or any reparse point (a junction), at the path of a
    small file of ours is refused before the open; a plain file opens."""
    plain = tmp_path / "record.json"
    plain.write_text("{}")
    fd = WindowsFs().open_nofollow(plain, os.O_RDONLY)
    os.close(fd)
    link = tmp_path / "link.json"
    link.symlink_to(plain)
    with pytest.raises(OSError) as info:
        WindowsFs().open_nofollow(link, os.O_RDONLY)
    assert info.value.errno == errno.ELOOP
    real_lstat = os.lstat

    class Reparse:
        def __init__(self, st: os.stat_result) -> None:
            self.st_mode = st.st_mode
            self.st_file_attributes = 0x400  # FILE_ATTRIBUTE_REPARSE_POINT

    monkeypatch.setattr(os, "lstat", lambda p, *a, **k: Reparse(real_lstat(p)))
    with pytest.raises(OSError) as info:
        WindowsFs().open_nofollow(plain, os.O_RDONLY)
    assert info.value.errno == errno.ELOOP


# ------------------------------------------------------------------ Windows: owner and write ACL (issue 20.4)

USER_SID = "S-1-5-21-1111-2222-3333-1001"
OTHER_SID = "S-1-5-21-1111-2222-3333-1002"
EVERYONE, USERS, AUTHENTICATED = "S-1-1-0", "S-1-5-32-545", "S-1-5-11"


def acl(owner: str, *aces: tuple[str, int, int, int]) -> "winacl.Security":
    return winacl.Security(owner, tuple(winacl.Ace(*a) for a in aces), USER_SID)


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        (acl(USER_SID, (USER_SID, 0, 0, 0x1F01FF), ("S-1-5-18", 0, 0, 0x1F01FF)), None),
        (acl("S-1-5-32-544", (USER_SID, 0, 0, 0x1F01FF)), None),  # Administrators may own it
        (acl(USER_SID, (EVERYONE, 0, 0, 0x1200A9)), None),  # read and execute only
        (acl(USER_SID, (EVERYONE, 1, 0, 0x1F01FF)), None),  # a deny is no risk
        (acl(USER_SID, (USERS, 0, 0x08, 0x1F01FF)), None),  # inherit-only: not on this file
        (acl(OTHER_SID, (USER_SID, 0, 0, 0x1F01FF)), ("owner", OTHER_SID)),
        (acl(USER_SID, (EVERYONE, 0, 0, 0x2)), ("writable", EVERYONE)),
        (acl(USER_SID, (AUTHENTICATED, 0, 0, 0x40000000)), ("writable", AUTHENTICATED)),
        (acl(USER_SID, (USERS, 0, 0, 0x40000)), ("writable", USERS)),  # WRITE_DAC: can grant itself more
        (winacl.Security(USER_SID, None, USER_SID), ("writable", "Everyone (no access control list)")),
    ],
)
def test_windows_acl_verdict(info: "winacl.Security", expected: object) -> None:
    assert winacl.verdict(info) == expected


def test_windows_checks_a_config_outside_the_profile_folder_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside %USERPROFILE% inheritance keeps it private (no call); elsewhere the injected ACL
    decides, with a fix for cmd.exe; an ACL that cannot be read is let through."""
    profile = tmp_path / "Users" / "me"
    share = tmp_path / "share"
    for folder in (profile, share):
        folder.mkdir(parents=True)
    monkeypatch.setenv("USERPROFILE", str(profile))
    asked: list[str] = []

    def everyone_writes(path: str) -> winacl.Security:
        asked.append(path)
        return acl(USER_SID, (EVERYONE, 0, 0, 0x1F01FF))

    fs = WindowsFs(security=everyone_writes)
    assert fs.insecurity(profile / "config.json", os.stat(profile)) is None and asked == []
    found = fs.insecurity(share, os.stat(share))
    assert found is not None and found.reason == "writable" and found.fix.startswith(f'icacls "{share}" /inheritance:r')
    owned = WindowsFs(security=lambda p: acl(OTHER_SID)).insecurity(share, os.stat(share))
    assert owned is not None and owned.reason == "owner" and owned.fix == f'takeown /F "{share}"'

    def unreadable(path: str) -> winacl.Security:
        raise OSError(0, "not supported")

    assert WindowsFs(security=unreadable).insecurity(share, os.stat(share)) is None
