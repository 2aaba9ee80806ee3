"""Load test: simulated users reading boards and editing milestones and risks over the API.

One command::

    python -m benchmarks.load --url postgresql://postgres@127.0.0.1:5432/parkplan_test \\
        [--users 50] [--seconds 60] [--edits N] [--procs 2] [--out benchmarks/results/load.json]

1. creates a demo workspace in a fresh schema of that database (dropped afterwards unless
   ``--keep``);
2. starts ``parkplan serve --num-procs N`` on a free 127.0.0.1 port (one server, N
   processes forked by Tornado sharing the listening socket and the database);
3. runs ``--users`` simulated users for ``--seconds`` with an asyncio client (stdlib
   ``http.client`` on keep-alive connections, one per user, in a thread pool). Each user
   signs in with HTTP Basic as a demo account (``office``, ``owner3``, ``owner8``) and
   loops: read the board (``GET /api/tasks``), read a task's milestones, or edit — ``GET``
   the task's milestones (or risks), pick one of the first three (so users collide), and
   ``PATCH`` it with the version just read and a value unique to the request (a milestone's
   ``note``, a risk's ``mitigation``). Stale-version refusals (409) are expected and
   counted apart; any other non-2xx answer, timeout or connection error is an error;
4. stops the server and **verifies** through the library that every accepted edit (200)
   is in the database and in the journal exactly once: each written value appears in
   exactly one journal entry; no refused value appears at all; each record's version rose
   by exactly its number of accepted edits; and its stored value is that of its last
   accepted edit.

It prints (and writes with ``--out``) requests/s, p50/p95/p99 latency overall and per
kind, error counts and the verification. Only 127.0.0.1 is contacted; it stops by itself
(every request has a 30 s timeout; the run ends at ``--seconds``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import platform
import random
import sys
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from parkplan.store.schemas import fresh_schema
from parkplan.web.testing import REQUEST_TIMEOUT, basic, request, serve

#: Demo accounts the simulated users sign in as, and the tasks each edits.
ACCOUNTS = {"office": (3, 4, 8), "owner3": (3,), "owner8": (8,)}


# ------------------------------------------------------------------- users
@dataclass
class Stats:
    """What the simulated users saw."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    conflicts: int = 0
    #: requests that got no answer (timeout, connection refused or reset)
    no_answer: int = 0
    #: accepted edits: (entity, id, field, value, new version)
    accepted: list[tuple[str, str, str, str, int]] = field(default_factory=list)
    #: values sent in edits that were refused as stale
    refused: list[tuple[str, str, str, str]] = field(default_factory=list)


class User:
    """One simulated user on its own keep-alive connection."""

    def __init__(
        self,
        index: int,
        url: str,
        run: str,
        stats: Stats,
        pool: ThreadPoolExecutor,
        rng: random.Random,
    ):
        self.index = index
        self.name = list(ACCOUNTS)[index % len(ACCOUNTS)]
        self.tasks = ACCOUNTS[self.name]
        self.auth = basic(self.name)
        self.url, self.run, self.stats, self.pool, self.rng = url, run, stats, pool, rng
        self.host = url.split("://", 1)[1]
        self.conn: http.client.HTTPConnection | None = None
        self.seq = 0

    def _send(self, method: str, path: str, body: dict | None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, timeout=REQUEST_TIMEOUT)
        try:
            return request(self.url, method, path, body, self.auth, conn=self.conn)
        except Exception:
            self.conn.close()
            self.conn = None
            raise

    async def call(self, kind: str, method: str, path: str, body: dict | None = None):
        loop = asyncio.get_running_loop()
        t0 = time.perf_counter()
        try:
            status, data, _ = await loop.run_in_executor(self.pool, self._send, method, path, body)
        except Exception as err:  # noqa: BLE001 - counted as an error
            self.stats.errors.append(f"{method} {path}: {type(err).__name__}: {err}")
            self.stats.no_answer += 1
            return None, None
        self.stats.latencies[kind].append(time.perf_counter() - t0)
        self.stats.statuses[status] += 1
        if (
            status == 409
            and method == "PATCH"
            and isinstance(data, dict)
            and data.get("error") == "stale_version"
        ):
            self.stats.conflicts += 1
        elif status != 200:
            self.stats.errors.append(f"{method} {path}: {status} {str(data)[:300]}")
        return status, data

    async def edit(self, entity: str, fld: str) -> None:
        task = self.rng.choice(self.tasks)
        status, records = await self.call(f"get_{entity}s", "GET", f"/api/{entity}s?task={task}")
        if status != 200 or not records:
            return
        record = self.rng.choice(records[:3])
        self.seq += 1
        value = f"load-{self.run}-{self.index}-{self.seq}"
        status, data = await self.call(
            f"patch_{entity}",
            "PATCH",
            f"/api/{entity}s/{record['id']}",
            {"version": record["version"], fld: value},
        )
        if status == 200:
            self.stats.accepted.append((entity, record["id"], fld, value, data["version"]))
        elif status == 409:
            self.stats.refused.append((entity, record["id"], fld, value))

    async def loop(self, deadline: float, edits: int | None = None) -> None:
        # start staggered so that not every user signs in in the same millisecond
        await asyncio.sleep(self.rng.random() * 0.5)
        try:
            while time.monotonic() < deadline and (
                edits is None or len(self.stats.accepted) < edits
            ):
                r = self.rng.random()
                if r < 0.35:
                    await self.call("get_tasks", "GET", "/api/tasks")
                elif r < 0.55:
                    await self.call(
                        "get_milestones",
                        "GET",
                        f"/api/milestones?task={self.rng.choice(self.tasks)}",
                    )
                elif r < 0.8:
                    await self.edit("milestone", "note")
                else:
                    await self.edit("risk", "mitigation")
        finally:
            if self.conn is not None:
                self.conn.close()


async def run_users(
    url: str, users: int, seconds: float, run: str, seed: int = 1, edits: int | None = None
) -> Stats:
    """Run ``users`` simulated users against ``url`` for ``seconds``; return what they saw.

    With ``edits``, the users stop as soon as that many edits were accepted (``seconds`` is
    then only the bound): a test waits for the work, not for the clock.
    """
    stats = Stats()
    rng = random.Random(seed)
    with ThreadPoolExecutor(max_workers=users, thread_name_prefix="load-user") as pool:
        deadline = time.monotonic() + seconds
        crowd = [User(i, url, run, stats, pool, random.Random(rng.random())) for i in range(users)]
        await asyncio.gather(*(u.loop(deadline, edits) for u in crowd))
    return stats


# ------------------------------------------------------------ verification
def initial_versions(location: str) -> dict[tuple[str, str], int]:
    """Return every milestone's and risk's version (read as the convenor)."""
    from parkplan.store import Workspace
    from parkplan.tracker.service import Tracker

    with Workspace.open(location) as ws:
        tr = Tracker(ws, "convenor")
        out = {("milestone", m.id): m.version for m in tr.milestones()}
        out.update({("risk", r.id): r.version for r in tr.risks()})
    return out


def verify(location: str, stats: Stats, run: str, before: dict[tuple[str, str], int]) -> dict:
    """Check every accepted edit is stored and journaled exactly once; return findings."""
    from parkplan.store import Workspace
    from parkplan.tracker.service import Tracker

    prefix = f"load-{run}-"
    problems: list[str] = []
    with Workspace.open(location) as ws:
        tr = Tracker(ws, "convenor")
        journal_values: Counter = Counter()
        for entity, fld in (("milestone", "note"), ("risk", "mitigation")):
            for entry in tr.journal(entity):
                after = entry.after or {}
                value = after.get(fld)
                if (
                    isinstance(value, str)
                    and value.startswith(prefix)
                    and (entry.before or {}).get(fld) != value
                ):
                    journal_values[(entity, entry.entity_id, value)] += 1
        current = {("milestone", m.id): m for m in tr.milestones()}
        current.update({("risk", r.id): r for r in tr.risks()})
    accepted_keys = Counter()
    last: dict[tuple[str, str], tuple[int, str, str]] = {}
    for entity, rid, fld, value, version in stats.accepted:
        n = journal_values.get((entity, rid, value), 0)
        if n != 1:
            problems.append(f"{entity} {rid}: accepted value {value} is in the journal {n} times")
        accepted_keys[(entity, rid)] += 1
        if (entity, rid) not in last or version > last[(entity, rid)][0]:
            last[(entity, rid)] = (version, fld, value)
    for entity, rid, _fld, value in stats.refused:
        if journal_values.get((entity, rid, value)):
            problems.append(f"{entity} {rid}: refused value {value} is in the journal")
    accepted_values = {(e, r, v) for e, r, _f, v, _n in stats.accepted}
    stray = [k for k in journal_values if k not in accepted_values]
    if stray:
        problems.append(f"{len(stray)} journaled values no client saw accepted, e.g. {stray[:3]}")
    for key, n in accepted_keys.items():
        rec = current.get(key)
        if rec is None:
            problems.append(f"{key}: gone")
            continue
        if rec.version != before[key] + n:
            problems.append(
                f"{key[0]} {key[1]}: version {rec.version}, expected "
                f"{before[key]} + {n} accepted edits"
            )
        version, fld, value = last[key]
        if rec.version != version or getattr(rec, fld) != value:
            problems.append(
                f"{key[0]} {key[1]}: stored {fld}={getattr(rec, fld)!r} "
                f"v{rec.version}, last accepted {value!r} v{version}"
            )
    return {
        "accepted_edits": len(stats.accepted),
        "refused_edits": len(stats.refused),
        "records_edited": len(accepted_keys),
        "journal_entries_matched": sum(
            journal_values[(e, r, v)] for e, r, _f, v, _n in stats.accepted
        ),
        "ok": not problems,
        "problems": problems[:50],
    }


# ------------------------------------------------------------------ report
def percentile(values: list[float], q: float) -> float:
    """Return the ``q``-th percentile (nearest rank) of ``values`` in milliseconds."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return round(ordered[k] * 1000, 1)


def summarise(stats: Stats, seconds: float) -> dict:
    """Return the figures: requests/s and latency percentiles, overall and per kind."""
    every = [x for v in stats.latencies.values() for x in v]

    def figures(values):
        return {
            "requests": len(values),
            "p50_ms": percentile(values, 50),
            "p95_ms": percentile(values, 95),
            "p99_ms": percentile(values, 99),
        }

    overall = {k: v for k, v in figures(every).items() if k != "requests"}
    return {
        "requests": len(every) + stats.no_answer,
        "requests_per_s": round(len(every) / seconds, 1),
        **overall,
        "by_kind": {k: figures(v) for k, v in sorted(stats.latencies.items())},
        "statuses": {str(k): v for k, v in sorted(stats.statuses.items())},
        "stale_version_409": stats.conflicts,
        "errors": len(stats.errors),
        "error_samples": stats.errors[:10],
    }


def run_load(
    url: str,
    *,
    users: int = 50,
    seconds: float = 60,
    procs: int = 2,
    workdir: Path | None = None,
    keep: bool = False,
    seed: int = 1,
    edits: int | None = None,
) -> dict:
    """Run the whole load test (schema, server, users, verification); return the report."""
    import tempfile

    from parkplan.services.demo import create_workspace

    run = uuid.uuid4().hex[:8]
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="parkplan-load-"))
            )
        location = stack.enter_context(fresh_schema(url, keep=keep))
        t0 = time.monotonic()
        create_workspace(location, demo=True).close()
        before = initial_versions(location)
        setup_s = time.monotonic() - t0
        with serve(location, workdir, procs=procs) as server:
            t0 = time.monotonic()
            stats = asyncio.run(run_users(server.url, users, seconds, run, seed, edits))
            elapsed = time.monotonic() - t0
        pids = set()
        if server.log_file.exists():
            for line in server.log_file.read_text(encoding="utf-8").splitlines():
                parts = line.split()
                if len(parts) > 4 and parts[4].startswith("tornado.access") and "/api/" in line:
                    pids.add(parts[2])
        report = {
            "users": users,
            "seconds": seconds,
            "procs": procs,
            "serving_pids_seen": len(pids),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "setup_s": round(setup_s, 1),
            "elapsed_s": round(elapsed, 1),
            **summarise(stats, elapsed),
            "verification": verify(location, stats, run, before),
        }
    return report


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run the load test, print the report."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.load", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--url",
        default=os.environ.get("PARKPLAN_TEST_PG_URL"),
        help="PostgreSQL database (with PostGIS) to create a schema in "
        "(default $PARKPLAN_TEST_PG_URL)",
    )
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--edits",
        type=int,
        help="stop as soon as this many edits were accepted (--seconds then only bounds the run)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    parser.add_argument("--out", type=Path, help="also write the report as JSON here")
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("give --url postgresql://… (or set PARKPLAN_TEST_PG_URL)")
    if not args.url.startswith("postgresql://"):
        parser.error("--url must be a postgresql:// URL")
    if not 1 <= args.users <= 500 or not 1 <= args.seconds <= 600 or not 1 <= args.procs <= 16:
        parser.error("bounded: 1-500 users, 1-600 seconds, 1-16 processes")
    host = args.url.split("@")[-1].split("/")[0].split(":")[0]
    if host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the load test runs against a loopback database only")
    report = run_load(
        args.url,
        users=args.users,
        seconds=args.seconds,
        procs=args.procs,
        keep=args.keep,
        seed=args.seed,
        edits=args.edits,
    )
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    ok = report["errors"] == 0 and report["verification"]["ok"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
