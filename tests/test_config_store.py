"""The config store: lossless round trip, atomic locked writes, corruption handling, permissions."""

from __future__ import annotations

import copy
import json
import multiprocessing
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from sidecar.config import profiles as P
from sidecar.config.store import ConfigStore, default_config_path, new_document
from sidecar.errors import ConfigCorrupt, ConfigUnavailable

from .conftest import FIXTURES, load_json


def test_default_path_follows_home(isolated_home: Path) -> None:
    assert default_config_path() == isolated_home / ".aliyun" / "config.json"
    assert ConfigStore().path == isolated_home / ".aliyun" / "config.json"


def test_missing_file_reads_as_new_document(config_path: Path) -> None:
    assert ConfigStore(config_path).read() == new_document()
    assert not config_path.exists()


def test_first_write_creates_folder_0700_and_file_0600(config_path: Path) -> None:
    store = ConfigStore(config_path)
    store.update(lambda doc: doc.update(current="x"))
    assert stat.S_IMODE(config_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(config_path.parent.stat().st_mode) == 0o700
    assert load_json(config_path) == {**new_document(), "current": "x"}  # the CLI's new file, changed


def test_existing_loose_permissions_are_tightened(cli_config: Path) -> None:
    cli_config.chmod(0o644)
    cli_config.parent.chmod(0o755)
    ConfigStore(cli_config).update(lambda doc: P.switch_profile(doc, "default"))
    assert stat.S_IMODE(cli_config.stat().st_mode) == 0o600
    assert stat.S_IMODE(cli_config.parent.stat().st_mode) == 0o700


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
