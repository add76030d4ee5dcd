#!/usr/bin/python3
"""The driver matrix for asyncpg (Debian's python3-asyncpg), default settings.

    /usr/bin/python3 asyncpg_matrix.py [CASE...]

Connects with the PG* environment (PGHOST, PGPORT, PGUSER, PGPASSWORD,
PGDATABASE), runs every case (or the named ones) and prints one line per case,
`CASE <name> PASS|FAIL|SKIP <detail>`. Exits 0 only when none failed. asyncpg
prepares every query as a named statement and keeps it in a per-connection
cache (statement_cache_size 100), left as it is.
"""
import asyncio
import datetime
import decimal
import hashlib
import json
import os
import sys
import time
import traceback
import uuid

import asyncpg

CASE_TIMEOUT_S = 30
REUSE_CLIENTS, REUSE_RUNS = 4, 12
# asyncpg numbers its statements with one counter per process, so connections
# of one process never share a name; processes do (each starts at
# __asyncpg_stmt_1__), as the worker processes of one application would.
SAME_NAME_PROCESSES, SAME_NAME_CONNECTIONS, SAME_NAME_RUNS = 5, 4, 8
MANY_CONNECTIONS = 40
PREFIX = f"drv_asyncpg_{os.getpid()}"


class CaseFailed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise CaseFailed(what)


def connect():
    return asyncpg.connect()  # everything from the PG* environment


async def run_clients(n, body):
    """Runs body(i, conn) on n connections at once, all connected first; returns the errors."""
    # Connected in waves: one event loop doing 40 SCRAM logins at once can,
    # on a busy machine, outlast the test cluster's 2 s authentication_timeout.
    conns = []
    for start in range(0, n, 10):
        conns += await asyncio.gather(*(connect() for _ in range(start, min(n, start + 10))),
                                      return_exceptions=True)
    errors = [f"connect {i}: {type(c).__name__}: {c}" for i, c in enumerate(conns)
              if isinstance(c, BaseException)]
    try:
        if not errors:
            results = await asyncio.gather(*(body(i, c) for i, c in enumerate(conns)),
                                           return_exceptions=True)
            errors = [f"client {i}: {type(r).__name__}: {r}" for i, r in enumerate(results)
                      if isinstance(r, BaseException)]
    finally:
        await asyncio.gather(*(c.close() for c in conns if not isinstance(c, BaseException)),
                             return_exceptions=True)
    return errors


def summarize(errors, n):
    check(not errors, f"{len(errors)} of {n} clients failed; first: {errors[0] if errors else ''}")


async def with_table(name, ddl, body):
    conn = await connect()
    table = f"{PREFIX}_{name}"
    try:
        await conn.execute(f"CREATE TABLE {table} ({ddl})")
        return await body(conn, table)
    finally:
        try:
            await conn.execute(f"DROP TABLE IF EXISTS {table}")
        finally:
            await conn.close()


# ---------------------------------------------------------------- cases

async def case_types():
    values = [
        ("int2", 12345), ("int4", -2_000_000_000), ("int8", 9_000_000_000_000_000_000),
        ("float8", 3.25), ("numeric", decimal.Decimal("12345678901234567890.123456789")),
        ("text", "héllo ✓ 日本 'quoted' \\ back"), ("bool", True), ("bytea", bytes(range(256))),
        ("date", datetime.date(2024, 2, 29)),
        ("timestamptz", datetime.datetime(2024, 2, 29, 12, 34, 56, 789000, tzinfo=datetime.timezone.utc)),
        ("interval", datetime.timedelta(days=3, seconds=7200)),
        ("uuid", uuid.UUID("12345678-1234-5678-1234-567812345678")),
        ("jsonb", json.dumps({"a": [1, 2, {"b": None}], "c": "d"})),
        ("int4[]", [1, 2, 3, None]), ("text[]", ["a", "b,c", "d\"e", ""]),
        ("text", None),
    ]
    sql = "SELECT " + ", ".join(f"${i + 1}::{t}" for i, (t, _) in enumerate(values))
    conn = await connect()
    try:
        row = await conn.fetchrow(sql, *[v for _, v in values])
    finally:
        await conn.close()
    for (t, v), got in zip(values, row):
        if t == "jsonb":
            got, v = json.loads(got), json.loads(v)
        check(got == v, f"{t}: sent {v!r}, got {got!r}")
    return f"{len(values)} types round-tripped"


async def case_reuse():
    # Odd runs in an explicit transaction, even runs on their own: the
    # prepared statement is used in and out of transactions.
    prepared = []
    sql = "SELECT $1::int4 + $2::int4, $3::text /* matrix-reuse */"

    async def body(i, conn):
        for n in range(REUSE_RUNS):
            if n % 2:
                async with conn.transaction():
                    row = await conn.fetchrow(sql, 1000 + n, i, f"r{n}")
                    if n == REUSE_RUNS - 1:  # in the transaction: the same server connection
                        prepared.append(await conn.fetchval(
                            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%matrix-reuse%'"))
            else:
                row = await conn.fetchrow(sql, 1000 + n, i, f"r{n}")
            if tuple(row) != (1000 + n + i, f"r{n}"):
                raise CaseFailed(f"run {n}: got {tuple(row)!r}")

    summarize(await run_clients(REUSE_CLIENTS, body), REUSE_CLIENTS)
    check(len(prepared) == REUSE_CLIENTS and all(p > 0 for p in prepared),
          f"not prepared on the server: {prepared}")
    return f"{REUSE_CLIENTS} clients x {REUSE_RUNS} runs, prepared server-side"


async def same_name_worker():
    """One worker process of case_same_name_many_clients: connects, says READY,
    waits for GO on stdin, runs, prints OK or the errors."""
    async def body(i, conn):
        for n in range(SAME_NAME_RUNS):
            row = await conn.fetchrow("SELECT $1::int4 * 2, $2::text /* matrix-same-name */", n, f"c{i}")
            if tuple(row) != (n * 2, f"c{i}"):
                raise CaseFailed(f"run {n}: got {tuple(row)!r}")

    conns = await asyncio.gather(*(connect() for _ in range(SAME_NAME_CONNECTIONS)))
    print("READY", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

    async def one(i, c):
        try:
            await body(i, c)
        finally:
            await c.close()

    results = await asyncio.gather(*(one(i, c) for i, c in enumerate(conns)), return_exceptions=True)
    errors = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
    print("ERRORS " + " | ".join(errors) if errors else "OK", flush=True)
    return 1 if errors else 0


async def case_same_name_many_clients():
    workers = [await asyncio.create_subprocess_exec(
        sys.executable, os.path.abspath(__file__), "--same-name-worker",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        for _ in range(SAME_NAME_PROCESSES)]
    try:
        for w in workers:  # every connection is up before any statement runs
            line = (await w.stdout.readline()).decode().strip()
            check(line == "READY", f"worker did not connect: {line or await w.stdout.read()}")
        for w in workers:
            w.stdin.write(b"GO\n")
            await w.stdin.drain()
        outcomes = [(await w.stdout.read()).decode().strip() for w in workers]
        for w in workers:
            await w.wait()
    finally:
        for w in workers:
            if w.returncode is None:
                w.kill()
                await w.wait()
    bad = [o for o in outcomes if o != "OK"]
    n = SAME_NAME_PROCESSES * SAME_NAME_CONNECTIONS
    check(not bad, f"{len(bad)} of {SAME_NAME_PROCESSES} processes failed; first: {bad[0] if bad else ''}")
    return f"{n} clients in {SAME_NAME_PROCESSES} processes x {SAME_NAME_RUNS} runs"


async def case_pipeline():
    # executemany sends every Bind/Execute before one Sync: a pipeline.
    async def body(conn, table):
        await conn.executemany(f"INSERT INTO {table} VALUES ($1, $2)", [(i, f"v{i}") for i in range(200)])
        got = tuple(await conn.fetchrow(f"SELECT count(*), sum(id) FROM {table}"))
        check(got == (200, 19900), f"after executemany: {got}")
        return "200 inserts pipelined by executemany"
    return await with_table("pipe", "id int, v text", body)


async def case_transactions():
    async def body(conn, table):
        other = await connect()
        try:
            async with conn.transaction():
                await conn.execute(f"INSERT INTO {table} VALUES ($1)", 1)
            tx = conn.transaction()
            await tx.start()
            await conn.execute(f"INSERT INTO {table} VALUES ($1)", 2)
            await tx.rollback()
            try:
                async with conn.transaction():
                    await conn.execute(f"INSERT INTO {table} VALUES ($1)", 3)
                    raise KeyError("roll back")
            except KeyError:
                pass
            seen = [r[0] for r in await other.fetch(f"SELECT id FROM {table} ORDER BY id")]
            check(seen == [1], f"another connection sees {seen}, wanted [1]")
        finally:
            await other.close()
        return "committed rows seen elsewhere, rolled back ones not"
    return await with_table("tx", "id int", body)


async def case_error_recovery():
    async def body(conn, table):
        try:
            async with conn.transaction():
                await conn.execute(f"INSERT INTO {table} VALUES ($1)", 1)
                try:
                    await conn.fetchval("SELECT 1 / $1::int4", 0)
                    raise CaseFailed("division by zero did not fail")
                except asyncpg.DivisionByZeroError:
                    pass
                try:
                    await conn.fetchval("SELECT 1")
                    raise CaseFailed("a statement after the error did not fail")
                except asyncpg.InFailedSQLTransactionError:
                    pass
                raise KeyError("roll back")
        except KeyError:
            pass
        for n in range(1, 8):
            got = await conn.fetchval("SELECT 100 / $1::int4", n)
            check(got == 100 // n, f"100 / {n} = {got}")
        count = await conn.fetchval(f"SELECT count(*) FROM {table}")
        check(count == 0, f"rolled back insert is there ({count} rows)")
        await conn.execute(f"INSERT INTO {table} VALUES ($1)", 1)
        try:
            await conn.execute(f"INSERT INTO {table} VALUES ($1)", 1)
            raise CaseFailed("duplicate key did not fail")
        except asyncpg.UniqueViolationError:
            pass
        check(await conn.fetchval("SELECT 42") == 42, "usable after unique violation")
        return "22012 then 25P02, rollback, 23505, connection usable"
    return await with_table("err", "id int PRIMARY KEY", body)


async def case_copy_in():
    async def body(conn, table):
        await conn.copy_records_to_table(table, records=[(i, f"row\t{i}") for i in range(10000)],
                                         columns=["id", "v"])
        got = tuple(await conn.fetchrow(f"SELECT count(*), sum(id), max(v) FROM {table}"))
        check(got == (10000, 49995000, "row\t9999"), f"after COPY: {got}")
        return "10000 rows"
    return await with_table("copyin", "id int, v text", body)


async def case_copy_out():
    chunks = []

    async def sink(data):
        chunks.append(data)

    conn = await connect()
    try:
        await conn.copy_from_query("SELECT g, 'v' || g FROM generate_series(1, 10000) g", output=sink)
    finally:
        await conn.close()
    lines = b"".join(chunks).decode().splitlines()
    check(len(lines) == 10000 and lines[-1] == "10000\tv10000", f"{len(lines)} lines, last {lines[-1:]}")
    return "10000 rows"


async def case_large_result():
    conn = await connect()
    try:
        rows = await conn.fetch("SELECT g, repeat('x', 100) FROM generate_series(1, $1::int4) g", 100000)
    finally:
        await conn.close()
    n, total, width = len(rows), sum(r[0] for r in rows), sum(len(r[1]) for r in rows)
    check((n, total, width) == (100000, 5000050000, 10000000), f"got {n} rows, sum {total}")
    return "100000 rows, 10 MB"


async def case_large_param():
    text = "ab" * (2 * 1024 * 1024)
    blob = os.urandom(4 * 1024 * 1024)
    conn = await connect()
    try:
        length, md5, back = await conn.fetchrow("SELECT length($1::text), md5($2::bytea), $2::bytea",
                                                text, blob)
    finally:
        await conn.close()
    check(length == len(text), f"text length {length}")
    check(md5 == hashlib.md5(blob).hexdigest(), "bytea md5 differs")
    check(back == blob, "bytea echoed back differs")
    return "4 MB text, 4 MB bytea both ways"


async def case_notice():
    notices = []
    conn = await connect()
    try:
        conn.add_log_listener(lambda _c, m: notices.append((m.severity_en, m.message)))
        await conn.execute("DO $$ BEGIN RAISE NOTICE 'matrix notice %', 42; RAISE WARNING 'matrix warning'; END $$")
        await asyncio.sleep(0.1)  # listeners are called soon, not synchronously
    finally:
        await conn.close()
    want = [("NOTICE", "matrix notice 42"), ("WARNING", "matrix warning")]
    check(notices == want, f"notices {notices}")
    return "NOTICE and WARNING received"


async def case_cursor():
    conn = await connect()
    try:
        async with conn.transaction():  # a portal lives in its transaction
            cur = await conn.cursor("SELECT g FROM generate_series(1, $1::int4) g", 5000)
            batches, n, total = 0, 0, 0
            while rows := await cur.fetch(1000):
                batches += 1
                n += len(rows)
                total += sum(r[0] for r in rows)
    finally:
        await conn.close()
    check((n, total) == (5000, 12502500), f"{n} rows, sum {total}")
    return f"5000 rows in {batches} fetches"


async def case_cancel():
    conn = await connect()
    try:
        started = time.monotonic()
        task = asyncio.create_task(conn.fetchval("SELECT pg_sleep(30)"))
        await asyncio.sleep(0.5)
        task.cancel()  # asyncpg sends a CancelRequest and waits for the server
        try:
            await task
            raise CaseFailed("pg_sleep(30) was not cancelled")
        except asyncio.CancelledError:
            pass
        got = await asyncio.wait_for(conn.fetchval("SELECT $1::int4", 7), 10)
        took = time.monotonic() - started
        check(got == 7, "usable after cancel")
        check(took < 10, f"cancel took {took:.1f} s")
    finally:
        await conn.close()
    return f"cancelled, next query answered after {took:.1f} s"


async def case_many_connections():
    async def body(i, conn):
        for n in range(5):
            got = await conn.fetchval("SELECT $1::int4 + $2::int4", i, n)
            if got != i + n:
                raise CaseFailed(f"got {got}")

    summarize(await run_clients(MANY_CONNECTIONS, body), MANY_CONNECTIONS)
    return f"{MANY_CONNECTIONS} connections at once"


CASES = [
    ("types", case_types), ("reuse", case_reuse),
    ("same_name_many_clients", case_same_name_many_clients), ("pipeline", case_pipeline),
    ("transactions", case_transactions), ("error_recovery", case_error_recovery),
    ("copy_in", case_copy_in), ("copy_out", case_copy_out), ("large_result", case_large_result),
    ("large_param", case_large_param), ("notice", case_notice), ("cursor", case_cursor),
    ("cancel", case_cancel), ("many_connections", case_many_connections),
]


def one_line(text):
    return " ".join(str(text).split())[:600]


async def run_cases(wanted):
    print(f"DRIVER asyncpg {asyncpg.__version__}", flush=True)
    failed = 0
    for name, fn in CASES:
        if wanted and name not in wanted:
            continue
        started = time.monotonic()
        try:
            detail = await asyncio.wait_for(fn(), CASE_TIMEOUT_S)
            print(f"CASE {name} PASS {one_line(detail)} ({time.monotonic() - started:.2f} s)", flush=True)
        except Exception as e:  # noqa: BLE001
            failed += 1
            error = f"timed out after {CASE_TIMEOUT_S} s" if isinstance(e, asyncio.TimeoutError) \
                else f"{type(e).__name__}: {e}"
            print(f"CASE {name} FAIL {one_line(error)} ({time.monotonic() - started:.2f} s)", flush=True)
            if not isinstance(e, (CaseFailed, asyncio.TimeoutError)):
                traceback.print_exc()
    return 1 if failed else 0


def main():
    if sys.argv[1:] == ["--same-name-worker"]:
        return asyncio.run(same_name_worker())
    wanted = sys.argv[1:]
    unknown = set(wanted) - {name for name, _ in CASES}
    if unknown:
        print(f"unknown case(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    return asyncio.run(run_cases(wanted))


if __name__ == "__main__":
    sys.exit(main())
