"""The config store: lossless round trip, atomic locked writes, corruption handling, permissions."""

from __future__ import annotations

import copy
import json
import multiprocessing
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sidecar.config import profiles as P
from sidecar.config.files import read_private_file, remove_private_file, write_private_file
from sidecar.config.store import ConfigStore, default_config_path, empty_document, new_document
from sidecar.errors import ConfigCorrupt, ConfigInsecure, ConfigUnavailable

from .conftest import FIXTURES, load_json, posix_only


def test_default_path_follows_home(isolated_home: Path) -> None:
    assert default_config_path() == isolated_home / ".aliyun" / "config.json"
    assert ConfigStore().path == isolated_home / ".aliyun" / "config.json"


def test_missing_file_reads_as_no_profiles(config_path: Path) -> None:
    """A reader sees no profiles; the first write creates the CLI's new file (next test)."""
    assert ConfigStore(config_path).read() == empty_document() == {"current": "", "profiles": [], "meta_path": ""}
    assert not config_path.exists()


@posix_only
def test_first_write_creates_folder_0700_and_file_0600(config_path: Path) -> None:
    store = ConfigStore(config_path)
    store.update(lambda doc: doc.update(current="x"))
    assert stat.S_IMODE(config_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(config_path.parent.stat().st_mode) == 0o700
    assert load_json(config_path) == {**new_document(), "current": "x"}  # the CLI's new file, changed


@posix_only
def test_existing_loose_permissions_of_aliyun_folder_are_tightened(isolated_home: Path) -> None:
    """``~/.aliyun`` is the CLI's folder for secrets: 0700. (Changed by issue 14 item 4: only that
    folder is tightened, see the next test.)"""
    folder = isolated_home / ".aliyun"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    config = folder / "config.json"
    config.write_text((FIXTURES / "cli_config.json").read_text())
    config.chmod(0o644)
    ConfigStore().update(lambda doc: P.switch_profile(doc, "default"))
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


@posix_only
def test_a_custom_config_folder_is_not_re_moded(cli_config: Path) -> None:
    """A configured path's folder (a project, ``$HOME``) is not ours to re-mode; the file is 0600."""
    cli_config.chmod(0o644)
    cli_config.parent.chmod(0o755)
    ConfigStore(cli_config).update(lambda doc: P.switch_profile(doc, "default"))
    assert stat.S_IMODE(cli_config.stat().st_mode) == 0o600
    assert stat.S_IMODE(cli_config.parent.stat().st_mode) == 0o755


def test_round_trip_is_lossless_except_changed_fields(cli_config: Path) -> None:
    original = load_json(cli_config)
    store = ConfigStore(cli_config)
    store.update(lambda doc: P.set_profile_options(doc, "oauth-dev", region="cn-shanghai"))
    after = load_json(cli_config)
    expected = copy.deepcopy(original)
    expected["profiles"][-1]["region_id"] = "cn-shanghai"
    assert after == expected
    # key order kept at both levels
    assert list(after) == list(original)
    assert [list(p) for p in after["profiles"]] == [list(p) for p in original["profiles"]]


def test_a_no_op_update_does_not_rewrite(cli_config: Path) -> None:
    before = cli_config.read_bytes()
    inode = cli_config.stat().st_ino
    ConfigStore(cli_config).update(lambda doc: None)
    assert cli_config.read_bytes() == before
    assert cli_config.stat().st_ino == inode


def test_written_file_is_tab_indented_like_the_cli(config_path: Path) -> None:
    ConfigStore(config_path).update(lambda doc: doc.update(current="a"))
    assert config_path.read_text().startswith('{\n\t"current": "a"')


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"current": "a", "profiles": [', "JSON syntax error at line 1"),
        ("[]", "top level is a JSON list"),
        ('{"profiles": {}}', '"profiles" is not an array'),
        ('{"profiles": [1]}', "profiles[0] is not an object"),
        ('{"current": 3}', '"current" is not a string'),
        ('{"profiles": [{"name": 5}]}', 'profiles[0]."name" is not a string'),
        ('{"current": NaN}', "NaN is not valid JSON"),
    ],
)
def test_corrupt_file_is_reported_and_never_overwritten(config_path: Path, text: str, where: str) -> None:
    config_path.parent.mkdir(parents=True)
    config_path.write_text(text)
    store = ConfigStore(config_path, settle_time=0.05)
    with pytest.raises(ConfigCorrupt) as info:
        store.read()
    assert where in info.value.message
    assert str(config_path) in info.value.message
    assert info.value.to_data()["kind"] == "configCorrupt"
    with pytest.raises(ConfigCorrupt):
        store.update(lambda doc: doc.update(current="x"))
    assert config_path.read_text() == text
    assert [p.name for p in config_path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_not_utf8_is_corrupt(config_path: Path) -> None:
    config_path.parent.mkdir(parents=True)
    config_path.write_bytes(b'{"current": "\xff"}')
    with pytest.raises(ConfigCorrupt, match="not UTF-8"):
        ConfigStore(config_path, settle_time=0.01).read()


def test_a_half_written_file_is_retried_until_it_settles(cli_config: Path) -> None:
    """An in-place writer (the Node.js SDK) truncates, then writes: the reader waits it out."""
    full = cli_config.read_bytes()
    cli_config.write_bytes(full[: len(full) // 2])

    def finish() -> None:
        time.sleep(0.1)
        cli_config.write_bytes(full)

    writer = threading.Thread(target=finish)
    writer.start()
    doc = ConfigStore(cli_config, settle_time=2.0).read()
    writer.join()
    assert doc["current"] == "oauth-dev"


@posix_only
def test_writes_through_a_symlinked_config(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "config.json"
    real.parent.mkdir()
    real.write_text((FIXTURES / "cli_config.json").read_text())
    link_dir = tmp_path / "home" / ".aliyun"
    link_dir.mkdir(parents=True)
    link = link_dir / "config.json"
    link.symlink_to(real)
    ConfigStore(link).update(lambda doc: P.switch_profile(doc, "sts"))
    assert link.is_symlink()
    assert load_json(real)["current"] == "sts"


def test_failed_write_leaves_the_old_file_and_no_temp(cli_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = cli_config.read_bytes()

    def full_disk(fd: int, data: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(ConfigUnavailable, match="disk is full"):
        ConfigStore(cli_config).update(lambda doc: P.switch_profile(doc, "sts"))
    monkeypatch.undo()
    assert cli_config.read_bytes() == before
    assert [p.name for p in cli_config.parent.iterdir() if p.suffix == ".tmp"] == []


def test_lock_timeout_is_a_clear_error(cli_config: Path) -> None:
    store = ConfigStore(cli_config, lock_timeout=0.2)
    with store.locked():
        other = ConfigStore(cli_config, lock_timeout=0.2)
        with pytest.raises(ConfigUnavailable, match="held the lock"):
            other.update(lambda doc: None)


async def test_async_update_and_lock(cli_config: Path) -> None:
    store = ConfigStore(cli_config)
    await store.aupdate(lambda doc: P.switch_profile(doc, "role"))
    assert (await store.aread())["current"] == "role"


def test_changes_between_read_and_write_survive(cli_config: Path) -> None:
    """A writer re-reads inside the lock: another process's edit since our last read is kept."""
    store = ConfigStore(cli_config)
    stale = store.read()
    # another program (no lock) changes a different profile
    doc = load_json(cli_config)
    P.set_profile_options(doc, "sts", region="eu-central-1")
    cli_config.write_text(json.dumps(doc))
    store.update(lambda fresh: P.set_profile_options(fresh, "default", language="en"))
    after = load_json(cli_config)
    assert P.get_profile(after, "sts")["region_id"] == "eu-central-1"
    assert P.get_profile(after, "default")["language"] == "en"
    assert stale["profiles"][1]["region_id"] == "cn-shanghai"


# ------------------------------------------------------------------ many processes at once


def _writer(path: str, index: int, rounds: int) -> None:
    store = ConfigStore(path)
    name = f"proc{index}"
    for i in range(rounds):

        def bump(doc: dict) -> None:
            profile = P.find_profile(doc, name)
            if profile is None:
                profile = {"name": name, "mode": "AK", "counter": 0}
                P.profiles_of(doc).append(profile)
            profile["counter"] += 1
            doc[f"touched_by_{name}"] = i

        store.update(bump)


@pytest.mark.slow
def test_eight_processes_fifty_writes_each_lose_nothing(cli_config: Path) -> None:
    original = load_json(cli_config)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(cli_config), i, 50)) for i in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    doc = load_json(cli_config)
    for i in range(8):
        assert P.get_profile(doc, f"proc{i}")["counter"] == 50
        assert doc[f"touched_by_proc{i}"] == 49
    # the CLI's own profiles and unknown fields are untouched
    assert doc["profiles"][: len(original["profiles"])] == original["profiles"]
    assert doc["future_top_level"] == original["future_top_level"]


def test_an_unlocked_write_during_ours_is_redone_not_lost(cli_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer that takes no lock (the Go CLI, the Node.js SDK) rewrites the file while we fsync:
    our change is applied again on its version, so both survive."""
    real_fsync = os.fsync
    foreign_writes = {"n": 0}

    def fsync_with_a_foreign_write(fd: int) -> None:
        real_fsync(fd)
        if foreign_writes["n"] < 2 and stat.S_ISREG(os.fstat(fd).st_mode):
            foreign_writes["n"] += 1
            doc = load_json(cli_config)
            P.set_profile_options(doc, "sts", region=f"eu-west-{foreign_writes['n']}")
            tmp = cli_config.with_suffix(".cli-tmp")
            tmp.write_text(json.dumps(doc))
            os.replace(tmp, cli_config)

    monkeypatch.setattr(os, "fsync", fsync_with_a_foreign_write)
    calls = {"n": 0}

    def ours(doc: dict) -> None:
        calls["n"] += 1
        P.set_profile_options(doc, "default", language="en")

    ConfigStore(cli_config).update(ours)
    monkeypatch.undo()
    doc = load_json(cli_config)
    assert P.get_profile(doc, "sts")["region_id"] == "eu-west-2"
    assert P.get_profile(doc, "default")["language"] == "en"
    assert calls["n"] == 3


def test_a_writer_that_never_stops_cannot_make_us_lose_our_change(cli_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_fsync = os.fsync

    def always_foreign(fd: int) -> None:
        real_fsync(fd)
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.utime(cli_config, ns=(time.time_ns(), time.time_ns()))

    monkeypatch.setattr(os, "fsync", always_foreign)
    ConfigStore(cli_config).update(lambda doc: P.switch_profile(doc, "sts"))
    monkeypatch.undo()
    assert load_json(cli_config)["current"] == "sts"


def test_another_programs_temp_file_is_never_removed(cli_config: Path) -> None:
    """Only our own leftovers are cleaned up; a CLI's write in progress is left alone."""
    theirs = cli_config.parent / ".config.json.cli0.tmp"
    theirs.write_text("{}")
    ours = cli_config.parent / ".config.json.sidecar-dead1234.tmp"
    ours.write_text("{}")
    ConfigStore(cli_config).update(lambda doc: P.switch_profile(doc, "sts"))
    assert theirs.exists() and not ours.exists()


def test_leftovers_are_cleaned_up_for_a_config_whose_name_is_a_glob_pattern(tmp_path: Path) -> None:
    """One clean-up (``files.remove_leftover_temp_files``), with the name glob-escaped: a config
    named ``config[w].json`` still has its token-holding temp files removed."""
    folder = tmp_path / ".aliyun"
    folder.mkdir(mode=0o700)
    config = folder / "config[w].json"
    config.write_text(json.dumps({"current": "a", "profiles": [{"name": "a", "mode": "AK"}, {"name": "b", "mode": "AK"}]}))
    config.chmod(0o600)
    ours = folder / ".config[w].json.sidecar-dead1234.tmp"
    ours.write_text('{"oauth_refresh_token": "left behind"}')
    ConfigStore(config).update(lambda doc: P.switch_profile(doc, "b"))
    assert not ours.exists()
    assert load_json(config)["current"] == "b"


# ------------------------------------------------------------------ the SDKs' lock on config.json itself

SDK_LOCKER = """
import fcntl, sys
path, mode = sys.argv[1], sys.argv[2]
with open(path, "r+") as f:  # what alibabacloud_credentials does before its write
    if mode == "hold":
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        print("locked", flush=True)
        sys.stdin.readline()  # hold until told
    else:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            print("free", flush=True)
        except BlockingIOError:
            print("busy", flush=True)
"""


def test_we_wait_for_an_sdk_that_holds_the_config_files_lock(cli_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13: an SDK writing under ``flock(config.json)`` at the same moment is not overwritten
    under its feet: our read-modify-write waits until it lets go, then re-reads its result."""
    from sidecar.config import locks

    holder = subprocess.Popen(
        [sys.executable, "-c", SDK_LOCKER, str(cli_config), "hold"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdin is not None and holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    config_inode = cli_config.stat().st_ino
    refused = threading.Event()
    real_try_lock = locks.osfs.try_lock

    def watching_try_lock(fd: int) -> bool:
        got = real_try_lock(fd)
        if not got and os.fstat(fd).st_ino == config_inode:
            refused.set()
        return got

    monkeypatch.setattr(locks.osfs, "try_lock", watching_try_lock)
    done = threading.Event()
    writer = threading.Thread(
        target=lambda: (ConfigStore(cli_config).update(lambda doc: P.switch_profile(doc, "sts")), done.set())
    )
    writer.start()
    try:
        assert refused.wait(20), "the store did not try to lock config.json itself"
        assert not done.is_set()
        assert cli_config.stat().st_ino == config_inode  # nothing renamed over the SDK's file
        assert load_json(cli_config)["current"] == "oauth-dev"
    finally:
        holder.stdin.write("go\n")
        holder.stdin.flush()
        holder.wait(20)
        writer.join(20)
    assert done.is_set()
    assert load_json(cli_config)["current"] == "sts"


def test_an_sdk_waits_for_our_write(cli_config: Path) -> None:
    """While we read, change and rename, the SDK's ``flock`` on config.json is refused (so its
    blocking ``flock`` waits); once we are done the new file is free."""
    answers: list[str] = []

    def sdk_try() -> str:
        out = subprocess.run([sys.executable, "-c", SDK_LOCKER, str(cli_config), "try"], capture_output=True, text=True, timeout=30)
        return out.stdout.strip()

    def mutate(doc: dict) -> None:
        answers.append(sdk_try())
        P.switch_profile(doc, "sts")

    ConfigStore(cli_config).update(mutate)
    answers.append(sdk_try())
    assert answers == ["busy", "free"]
    assert load_json(cli_config)["current"] == "sts"


def test_the_in_place_lock_follows_a_file_renamed_in_meanwhile(cli_config: Path) -> None:
    """An unlocked writer renames a new file in between our open and our lock: the lock we hold is
    then on the file the path names, not on the replaced one."""
    from sidecar.config import locks

    replaced = cli_config.with_name("other.json")
    replaced.write_bytes(cli_config.read_bytes())
    real_open = os.open
    swapped = {"done": False}

    def open_then_swap(path: object, flags: int, *args: object) -> int:
        fd = real_open(path, flags, *args)
        if Path(str(path)) == cli_config and not swapped["done"]:
            swapped["done"] = True
            os.replace(replaced, cli_config)
        return fd

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "open", open_then_swap)
        with locks.lock_in_place(cli_config, 5):
            mp.undo()
            out = subprocess.run([sys.executable, "-c", SDK_LOCKER, str(cli_config), "try"], capture_output=True, text=True, timeout=30)
    assert swapped["done"]
    assert out.stdout.strip() == "busy"


# ------------------------------------------------------------------ never touch what is not ours (issue 14.4)


@posix_only
def test_a_symlinked_config_does_not_re_mode_the_targets_folder(isolated_home: Path) -> None:
    dotfiles = isolated_home / "dotfiles"
    dotfiles.mkdir(mode=0o755)
    dotfiles.chmod(0o755)
    real = dotfiles / "aliyun.json"
    real.write_text((FIXTURES / "cli_config.json").read_text())
    (isolated_home / ".aliyun").mkdir(mode=0o700)
    link = isolated_home / ".aliyun" / "config.json"
    link.symlink_to(real)
    ConfigStore().update(lambda doc: P.switch_profile(doc, "sts"))
    assert link.is_symlink() and load_json(real)["current"] == "sts"
    assert stat.S_IMODE(dotfiles.stat().st_mode) == 0o755


@posix_only
def test_a_config_linked_to_a_file_in_home_does_not_re_mode_home(isolated_home: Path) -> None:
    isolated_home.chmod(0o755)
    real = isolated_home / "aliyun.json"
    real.write_text((FIXTURES / "cli_config.json").read_text())
    (isolated_home / ".aliyun").mkdir(mode=0o700)
    (isolated_home / ".aliyun" / "config.json").symlink_to(real)
    ConfigStore().update(lambda doc: P.switch_profile(doc, "sts"))
    assert load_json(real)["current"] == "sts"
    assert stat.S_IMODE(isolated_home.stat().st_mode) == 0o755


@posix_only
def test_a_dangling_config_symlink_is_refused_not_created(tmp_path: Path) -> None:
    folder = tmp_path / "aliyun"
    folder.mkdir()
    target = tmp_path / "gone" / "config.json"
    (tmp_path / "gone").mkdir()
    link = folder / "config.json"
    link.symlink_to(target)
    store = ConfigStore(link)
    with pytest.raises(ConfigUnavailable, match="does not exist") as info:
        store.read()
    assert str(target) in info.value.message
    with pytest.raises(ConfigUnavailable, match="does not exist"):
        store.update(lambda doc: doc.update(current="x"))
    assert not target.exists() and link.is_symlink()


@pytest.mark.parametrize("home_mode", [0o777, 0o757])
def test_a_home_folder_others_can_write_is_refused_as_ssh_does(isolated_home: Path, home_mode: int) -> None:
    """Whoever can write in $HOME can swap ~/.aliyun for their own: refused with the fix, as ssh's
    StrictModes refuses it."""
    config = isolated_home / ".aliyun" / "config.json"
    config.parent.mkdir(mode=0o700)
    shutil.copy(FIXTURES / "cli_config.json", config)
    config.chmod(0o600)
    isolated_home.chmod(home_mode)
    try:
        with pytest.raises(ConfigInsecure) as info:
            ConfigStore(config).read()
        data = info.value.to_data()
        assert data["path"] == str(isolated_home) and data["reason"] == "writable"
        assert "chmod go-w" in data["fix"]
    finally:
        isolated_home.chmod(0o755)


def test_a_group_writable_home_and_a_config_outside_home_are_accepted(isolated_home: Path, cli_config: Path) -> None:
    config = isolated_home / ".aliyun" / "config.json"
    config.parent.mkdir(mode=0o700)
    shutil.copy(FIXTURES / "cli_config.json", config)
    config.chmod(0o600)
    isolated_home.chmod(0o775)
    assert ConfigStore(config).read()["profiles"]
    assert ConfigStore(cli_config).read()["profiles"]  # under the test's tmp folder, not under $HOME


@posix_only
def test_a_dangling_lock_file_symlink_is_refused_not_created(cli_config: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "lock"
    target.parent.mkdir()
    (cli_config.parent / ".config.json.lock").symlink_to(target)
    before = cli_config.read_bytes()
    with pytest.raises(ConfigUnavailable, match="does not exist"):
        ConfigStore(cli_config).update(lambda doc: P.switch_profile(doc, "sts"))
    assert not target.exists()
    assert cli_config.read_bytes() == before


# ------------------------------------------------------------------ refuse what others can change (issue 14.5)


@pytest.mark.parametrize(
    ("setup", "reason", "fix"),
    [
        (lambda f: f.parent.chmod(0o777), "writable", "chmod go-w"),
        (lambda f: f.parent.chmod(0o775), "writable", "chmod go-w"),
        (lambda f: f.chmod(0o622), "writable", "chmod go-w"),
        (lambda f: os.chown(f, 12345, 12345), "owner", "chown"),
        (lambda f: os.chown(f.parent, 12345, 12345), "owner", "chown"),
    ],
    ids=["folder-world-writable", "folder-group-writable", "file-writable", "file-owner", "folder-owner"],
)
@posix_only
def test_a_config_others_can_change_is_refused_and_not_read(cli_config: Path, setup: Any, reason: str, fix: str) -> None:
    """As ssh does, also for root (these tests run as root): another user could swap in a profile
    whose ``process_command`` we would run."""
    setup(cli_config)
    before = cli_config.read_bytes()
    store = ConfigStore(cli_config)
    with pytest.raises(ConfigInsecure) as info:
        store.read()
    data = info.value.to_data()
    assert data["kind"] == "configInsecure" and data["reason"] == reason
    assert fix in data["fix"] and fix in info.value.message
    assert data["path"] in (str(cli_config), str(cli_config.parent))
    with pytest.raises(ConfigInsecure):
        store.update(lambda doc: P.switch_profile(doc, "sts"))
    assert cli_config.read_bytes() == before


@posix_only
def test_a_symlinked_config_is_checked_at_its_target(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    real = shared / "config.json"
    real.write_text("{}")
    real.chmod(0o600)
    folder = tmp_path / "aliyun"
    folder.mkdir(mode=0o700)
    (folder / "config.json").symlink_to(real)
    with pytest.raises(ConfigInsecure) as info:
        ConfigStore(folder / "config.json").read()
    assert info.value.details["path"] == str(shared)


def test_the_fix_makes_it_readable_again(cli_config: Path) -> None:
    cli_config.parent.chmod(0o777)
    with pytest.raises(ConfigInsecure) as info:
        ConfigStore(cli_config).read()
    subprocess.run(info.value.details["fix"], shell=True, check=True)
    assert ConfigStore(cli_config).read()["current"] == "oauth-dev"


# ------------------------------------------------------------------ empty files and positions (issue 15.2)


@pytest.mark.parametrize("text", ["", "   \n\t\r\n"])
def test_an_empty_file_is_an_empty_profile_list(config_path: Path, text: str) -> None:
    config_path.parent.mkdir(parents=True)
    config_path.write_text(text)
    store = ConfigStore(config_path, settle_time=0.05)
    assert store.read() == empty_document()
    store.update(lambda doc: doc.update(current="x"))
    assert load_json(config_path) == {**new_document(), "current": "x"}


def test_an_empty_file_being_written_in_place_is_waited_for_before_we_write(cli_config: Path) -> None:
    """The Node.js SDK truncates, then writes: an update must not take that moment for "no profiles"."""
    full = cli_config.read_bytes()
    cli_config.write_bytes(b"")

    def finish() -> None:
        time.sleep(0.1)
        cli_config.write_bytes(full)

    writer = threading.Thread(target=finish)
    writer.start()
    ConfigStore(cli_config, settle_time=5.0).update(lambda doc: P.switch_profile(doc, "sts"))
    writer.join()
    doc = load_json(cli_config)
    assert doc["current"] == "sts" and len(doc["profiles"]) == len(load_json(FIXTURES / "cli_config.json")["profiles"])


def test_a_syntax_error_carries_its_line_and_column(config_path: Path) -> None:
    config_path.parent.mkdir(parents=True)
    config_path.write_text('{\n\t"current": "a",\n\tx\n}')
    with pytest.raises(ConfigCorrupt) as info:
        ConfigStore(config_path, settle_time=0).read()
    data = info.value.to_data()
    assert (data["line"], data["column"]) == (3, 2)
    assert "line 3, column 2" in info.value.message


def test_a_shape_error_has_no_position(config_path: Path) -> None:
    config_path.parent.mkdir(parents=True)
    config_path.write_text('{"profiles": {}}')
    with pytest.raises(ConfigCorrupt) as info:
        ConfigStore(config_path, settle_time=0).read()
    assert "line" not in info.value.to_data()


# ------------------------------------------------------------------ the refresh lock (issue 14.3)


def test_refresh_locks_are_per_profile_and_never_block_file_edits(cli_config: Path) -> None:
    store = ConfigStore(cli_config, lock_timeout=0.1)
    with store.refresh_lock("oauth-dev"):
        with pytest.raises(ConfigUnavailable, match="refresh of profile 'oauth-dev'"):
            with store.refresh_lock("oauth-dev"):
                pass
        with store.refresh_lock("other"):
            pass
        store.update(lambda doc: P.switch_profile(doc, "sts"))  # profile edits never wait for a refresh
    with store.refresh_lock("oauth-dev"):
        pass
    assert load_json(cli_config)["current"] == "sts"


@pytest.mark.parametrize("name", ["../../etc/passwd", "a/b", "é 名前", "x" * 300, ""])
def test_refresh_lock_files_stay_in_the_config_folder(cli_config: Path, name: str) -> None:
    lock = ConfigStore(cli_config).refresh_lock(name)
    assert lock.path.parent == cli_config.parent
    with lock:
        assert lock.path.exists()


async def test_refresh_lock_waits_on_the_event_loop(cli_config: Path) -> None:
    import asyncio

    store = ConfigStore(cli_config)
    order: list[str] = []

    async def refresher(tag: str) -> None:
        async with store.refresh_lock("oauth-dev"):
            order.append(f"{tag} in")
            await asyncio.sleep(0.05)
            order.append(f"{tag} out")

    await asyncio.gather(refresher("a"), refresher("b"))
    assert order in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])


# ------------------------------------------------------------------ small private files (issue 14.1)


@posix_only
def test_private_files_are_0600_atomic_and_durable(cli_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ConfigStore(cli_config)
    path = store.sidecar_file("recovery", "oauth-dev")
    assert path.parent == cli_config.parent
    synced: list[bool] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(stat.S_ISDIR(os.fstat(fd).st_mode)), real_fsync(fd))[1])
    write_private_file(path, b'{"v": 1}')
    write_private_file(path, b'{"v": 2}')
    monkeypatch.undo()
    assert synced == [False, True, False, True]  # the file, then the folder, each time
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_private_file(path) == b'{"v": 2}'
    assert [p.name for p in cli_config.parent.iterdir() if p.suffix == ".tmp"] == []
    remove_private_file(path)
    assert read_private_file(path) is None
    remove_private_file(path)  # gone already: fine


@posix_only
@pytest.mark.parametrize("visible_first", [False, True])
def test_a_visible_first_private_file_is_renamed_before_its_fsync(
    cli_config: Path, monkeypatch: pytest.MonkeyPatch, visible_first: bool
) -> None:
    """The recovery record's order: once renamed, a killed writer loses nothing; the fsync follows
    (still before the call returns). The config file's order is the other one: never a torn file."""
    path = ConfigStore(cli_config).sidecar_file("recovery", "oauth-dev")
    seen: list[bool] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            seen.append(path.exists())
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    write_private_file(path, b'{"v": 1}', visible_first=visible_first)
    monkeypatch.undo()
    assert seen == [visible_first]  # one fsync of the file: after the rename only when visible_first
    assert read_private_file(path) == b'{"v": 1}' and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in cli_config.parent.iterdir() if p.suffix == ".tmp"] == []


def test_a_private_file_others_could_have_written_is_refused(cli_config: Path) -> None:
    path = ConfigStore(cli_config).sidecar_file("recovery", "oauth-dev")
    write_private_file(path, b"{}")
    path.chmod(0o666)
    with pytest.raises(ConfigInsecure):
        read_private_file(path)


@posix_only
def test_a_private_file_is_not_created_at_a_dangling_links_target(cli_config: Path, tmp_path: Path) -> None:
    path = ConfigStore(cli_config).sidecar_file("recovery", "oauth-dev")
    target = tmp_path / "planted"
    path.symlink_to(target)
    with pytest.raises(ConfigUnavailable, match="does not exist"):
        write_private_file(path, b"{}")
    assert not target.exists()


def test_leftover_temp_files_of_a_private_file_are_removed(cli_config: Path) -> None:
    from sidecar.config.files import remove_leftover_temp_files

    path = ConfigStore(cli_config).sidecar_file("recovery", "oauth-dev")
    leftover = path.with_name(f".{path.name}.sidecar-dead.tmp")
    leftover.write_text("{}")
    config_temp = cli_config.with_name(".config.json.sidecar-x.tmp")
    config_temp.write_text("{}")
    remove_leftover_temp_files(path)
    assert not leftover.exists() and config_temp.exists()


async def test_the_watcher_notices_when_an_insecure_config_is_fixed(cli_config: Path) -> None:
    """``chmod go-w`` on the folder changes no stamp of the file: the watcher must still notice."""
    from sidecar.config.watcher import ConfigWatcher

    seen: list[str] = []

    async def on_change(doc: dict | None, error: Exception | None) -> None:
        seen.append(type(error).__name__ if error is not None else doc["current"])  # type: ignore[index]

    cli_config.parent.chmod(0o777)
    watcher = ConfigWatcher(ConfigStore(cli_config), on_change)
    await watcher.check()
    await watcher.check()  # reported once
    cli_config.parent.chmod(0o700)
    await watcher.check()
    assert seen == ["ConfigInsecure", "oauth-dev"]
