"""A writer that behaves like the official Go CLI saving its config: read the JSON, change one field of
*its own* profile, write a temp file in the same folder, rename it over ``config.json``. It takes no
part in the sidecar's lock (the CLI takes none).

Optionally (``--cli-lock``) the CLI-style writers serialise among themselves with a private lock
that the sidecar knows nothing about. Two Go CLIs racing each other lose edits too, but that is not
ours to fix; the private lock takes those losses out of the count so that every lost edit that is
counted was lost to a write of the sidecar's side (a locked ``ConfigStore`` write).

Each writer owns the profile ``cli-<index>`` and counts up its ``bench_seq`` field. Before each edit it
checks that the file still holds its previous value; if not, its previous edit was clobbered (a
"lost edit"). At the end it prints one JSON line: writes, lost, last seq.

Run: ``python benchmarks/cli_writer.py --config PATH --index K --stop-file PATH [--cli-lock PATH]``.
Imports nothing from the sidecar (a separate program).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import random
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--stop-file", required=True)
    parser.add_argument("--cli-lock")
    parser.add_argument("--interval-ms", type=float, default=20.0, help="mean pause between edits")
    args = parser.parse_args()

    path = args.config
    name = f"cli-{args.index}"
    folder = os.path.dirname(path)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.cli{args.index}.tmp")
    seq = 0
    writes = lost = unreadable = 0
    rng = random.Random(args.index)

    def cli_lock():
        if not args.cli_lock:
            return contextlib.nullcontext()
        fd = os.open(args.cli_lock, os.O_RDWR | os.O_CREAT, 0o600)

        @contextlib.contextmanager
        def held():
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)

        return held()

    while not os.path.exists(args.stop_file):
        with cli_lock():
            try:
                with open(path, "rb") as source:
                    doc = json.loads(source.read())
            except (OSError, ValueError):
                unreadable += 1
                doc = None
            if doc is not None:
                profile = next((p for p in doc.get("profiles", []) if p.get("name") == name), None)
                if profile is None:
                    profile = {"name": name, "mode": "AK", "access_key_id": f"LTAIcli{args.index}",
                               "access_key_secret": "cli-writer-not-a-secret", "region_id": "cn-hangzhou",
                               "output_format": "json", "language": "en", "bench_seq": 0}
                    doc.setdefault("profiles", []).append(profile)
                if int(profile.get("bench_seq", 0)) < seq:
                    lost += 1
                seq += 1
                profile["bench_seq"] = seq
                data = json.dumps(doc, indent="\t", ensure_ascii=False).encode("utf-8")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                try:
                    os.write(fd, data)
                finally:
                    os.close(fd)
                os.replace(tmp, path)  # the Go CLI does not fsync
                writes += 1
        time.sleep(rng.uniform(0, 2 * args.interval_ms) / 1000)
    print(json.dumps({"index": args.index, "writes": writes, "lost": lost, "seq": seq, "unreadable": unreadable}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
