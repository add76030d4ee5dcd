#!/usr/bin/python3
"""The driver matrix for psycopg 3 (Debian's python3-psycopg), default settings.

    /usr/bin/python3 psycopg_matrix.py [CASE...]

Connects with libpq's environment (PGHOST, PGPORT, PGUSER, PGPASSWORD,
PGDATABASE, PGCONNECT_TIMEOUT), runs every case (or the named ones) and prints
one line per case, `CASE <name> PASS|FAIL|SKIP <detail>`. Exits 0 only when
none failed. Nothing here changes psycopg's defaults: autocommit is off and
prepare_threshold is 5, so a query is prepared on its sixth execution.
"""
import datetime
import decimal
import hashlib
import os
import sys
import threading
import time
import traceback
import uuid

import psycopg
from psycopg.types.json import Jsonb

CASE_TIMEOUT_S = 30
REUSE_CLIENTS, REUSE_RUNS = 4, 12         # more runs than prepare_threshold (5)
SAME_NAME_CLIENTS, SAME_NAME_RUNS = 20, 8
MANY_CONNECTIONS = 40
PREFIX = f"drv_psycopg_{os.getpid()}"


class CaseFailed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise CaseFailed(what)


def connect(**kwargs):
    return psycopg.connect("", **kwargs)  # conninfo from the PG* environment


def run_clients(n, body):
    """Runs body(i, conn) on n connections at once (all connected before any
    runs); returns the errors as strings."""
    errors = []
    barrier = threading.Barrier(n, timeout=CASE_TIMEOUT_S)

    def one(i):
        try:
            with connect() as conn:
                barrier.wait()
                body(i, conn)
        except Exception as e:  # noqa: BLE001 - reported, not hidden
            barrier.abort()
            errors.append(f"client {i}: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(CASE_TIMEOUT_S)
    if any(t.is_alive() for t in threads):
        errors.append("a client did not finish in time")
    return errors


def summarize(errors, n):
    check(not errors, f"{len(errors)} of {n} clients failed; first: {errors[0] if errors else ''}")


# ---------------------------------------------------------------- cases

def case_types():
    values = [
        ("int2", 12345), ("int4", -2_000_000_000), ("int8", 9_000_000_000_000_000_000),
        ("float8", 3.25), ("numeric", decimal.Decimal("12345678901234567890.123456789")),
        ("text", "héllo ✓ 日本 'quoted' \\ back"), ("bool", True), ("bytea", bytes(range(256))),
        ("date", datetime.date(2024, 2, 29)),
        ("timestamptz", datetime.datetime(2024, 2, 29, 12, 34, 56, 789000, tzinfo=datetime.timezone.utc)),
        ("interval", datetime.timedelta(days=3, seconds=7200)),
        ("uuid", uuid.UUID("12345678-1234-5678-1234-567812345678")),
        ("jsonb", Jsonb({"a": [1, 2, {"b": None}], "c": "d"})),
        ("int4[]", [1, 2, 3, None]), ("text[]", ["a", "b,c", "d\"e", ""]),
        ("text", None),
    ]
    sql = "SELECT " + ", ".join(f"%s::{t}" for t, _ in values)
    with connect() as conn:
        row = conn.execute(sql, [v for _, v in values]).fetchone()
        conn.commit()
    for (t, v), got in zip(values, row):
        want = v.obj if isinstance(v, Jsonb) else v
        check(got == want, f"{t}: sent {want!r}, got {got!r}")
    return f"{len(values)} types round-tripped"


def case_reuse():
    # Each client runs one query REUSE_RUNS times, one transaction each (with
    # autocommit off psycopg opens them), so the prepared statement outlives
    # the transaction that prepared it.
    prepared = []

    def body(i, conn):
        for n in range(REUSE_RUNS):
            row = conn.execute("SELECT %s::int4 + %s::int4, %s::text /* matrix-reuse */",
                               (1000 + n, i, f"r{n}")).fetchone()
            if row != (1000 + n + i, f"r{n}"):
                raise CaseFailed(f"run {n}: got {row!r}")
            if n == REUSE_RUNS - 1:  # same transaction as the last run: same server connection
                prepared.append(conn.execute(  # no parameters: % needs no escaping
                    "SELECT count(*) FROM pg_prepared_statements"
                    " WHERE statement LIKE '%matrix-reuse%'").fetchone()[0])
            conn.commit()

    errors = run_clients(REUSE_CLIENTS, body)
    summarize(errors, REUSE_CLIENTS)
    check(len(prepared) == REUSE_CLIENTS and all(p > 0 for p in prepared),
          f"not prepared on the server: {prepared}")
    return f"{REUSE_CLIENTS} clients x {REUSE_RUNS} runs, prepared server-side"


def case_same_name_many_clients():
    # psycopg names its prepared statements _pg3_0, _pg3_1... per connection:
    # every client prepares _pg3_0 for the same query.
    def body(i, conn):
        for n in range(SAME_NAME_RUNS):
            row = conn.execute("SELECT %s::int4 * 2, %s::text /* matrix-same-name */",
                               (n, f"c{i}")).fetchone()
            if row != (n * 2, f"c{i}"):
                raise CaseFailed(f"run {n}: got {row!r}")
            conn.commit()

    summarize(run_clients(SAME_NAME_CLIENTS, body), SAME_NAME_CLIENTS)
    return f"{SAME_NAME_CLIENTS} clients x {SAME_NAME_RUNS} runs of _pg3_0"


def case_pipeline():
    with connect() as conn:
        table = f"{PREFIX}_pipe"
        conn.execute(f"CREATE TABLE {table} (id int, v text)")
        conn.commit()
        try:
            with conn.pipeline() as p:
                cursors = [conn.execute("SELECT %s::int4 * 3", (i,)) for i in range(50)]
                for i in range(20):
                    conn.execute(f"INSERT INTO {table} VALUES (%s, %s)", (i, f"v{i}"))
                count = conn.execute(f"SELECT count(*), sum(id) FROM {table}")
                p.sync()
            got = [c.fetchone()[0] for c in cursors]
            check(got == [i * 3 for i in range(50)], f"pipelined results {got[:5]}...")
            check(count.fetchone() == (20, 190), "pipelined insert then count")
            conn.commit()
        finally:
            conn.rollback()
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.commit()
    return "70 queries in one pipeline"


def case_transactions():
    table = f"{PREFIX}_tx"
    with connect() as conn, connect() as other:
        conn.execute(f"CREATE TABLE {table} (id int)")
        conn.commit()
        try:
            conn.execute(f"INSERT INTO {table} VALUES (%s)", (1,))
            conn.commit()
            conn.execute(f"INSERT INTO {table} VALUES (%s)", (2,))
            conn.rollback()
            with conn.transaction():  # psycopg's block: commits at the end
                conn.execute(f"INSERT INTO {table} VALUES (%s)", (3,))
            try:
                with conn.transaction():
                    conn.execute(f"INSERT INTO {table} VALUES (%s)", (4,))
                    raise psycopg.Rollback()
            except psycopg.Rollback:
                pass
            conn.commit()
            seen = [r[0] for r in other.execute(f"SELECT id FROM {table} ORDER BY id")]
            other.commit()
            check(seen == [1, 3], f"another connection sees {seen}, wanted [1, 3]")
        finally:
            conn.rollback()
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.commit()
    return "committed rows seen elsewhere, rolled back ones not"


def case_error_recovery():
    table = f"{PREFIX}_err"
    with connect() as conn:
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY)")
        conn.commit()
        try:
            conn.execute(f"INSERT INTO {table} VALUES (%s)", (1,))
            try:
                conn.execute("SELECT 1 / %s::int4", (0,))
                raise CaseFailed("division by zero did not fail")
            except psycopg.errors.DivisionByZero:
                pass
            try:
                conn.execute("SELECT 1")
                raise CaseFailed("a statement after the error did not fail")
            except psycopg.errors.InFailedSqlTransaction:
                pass
            conn.rollback()
            for n in range(1, 8):  # past the prepare threshold after the error
                got = conn.execute("SELECT 100 / %s::int4", (n,)).fetchone()[0]
                check(got == 100 // n, f"100 / {n} = {got}")
                conn.commit()
            count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            check(count == 0, f"rolled back insert is there ({count} rows)")
            conn.execute(f"INSERT INTO {table} VALUES (%s)", (1,))
            conn.commit()
            try:
                conn.execute(f"INSERT INTO {table} VALUES (%s)", (1,))
                raise CaseFailed("duplicate key did not fail")
            except psycopg.errors.UniqueViolation:
                conn.rollback()
            check(conn.execute("SELECT 42").fetchone()[0] == 42, "usable after unique violation")
            conn.commit()
        finally:
            conn.rollback()
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.commit()
    return "22012 then 25P02, rollback, 23505, connection usable"


def case_copy_in():
    table = f"{PREFIX}_copyin"
    with connect() as conn:
        conn.execute(f"CREATE TABLE {table} (id int, v text)")
        conn.commit()
        try:
            with conn.cursor() as cur:
                with cur.copy(f"COPY {table} (id, v) FROM STDIN") as cp:
                    for i in range(10000):
                        cp.write_row((i, f"row\t{i}"))
            conn.commit()
            got = conn.execute(f"SELECT count(*), sum(id), max(v) FROM {table}").fetchone()
            check(got == (10000, 49995000, "row\t9999"), f"after COPY: {got}")
            conn.commit()
        finally:
            conn.rollback()
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.commit()
    return "10000 rows"


def case_copy_out():
    with connect() as conn:
        with conn.cursor() as cur:
            with cur.copy("COPY (SELECT g, 'v' || g FROM generate_series(1, 10000) g) TO STDOUT") as cp:
                rows = list(cp.rows())
        conn.commit()
    check(len(rows) == 10000 and rows[-1] == ("10000", "v10000"), f"{len(rows)} rows, last {rows[-1:]}")
    return "10000 rows"


def case_large_result():
    with connect() as conn:
        n, total, width = 0, 0, 0
        for g, pad in conn.execute("SELECT g, repeat('x', 100) FROM generate_series(1, %s::int4) g",
                                   (100000,)):
            n, total, width = n + 1, total + g, width + len(pad)
        conn.commit()
    check((n, total, width) == (100000, 5000050000, 10000000), f"got {n} rows, sum {total}")
    return "100000 rows, 10 MB"


def case_large_param():
    text = "ab" * (2 * 1024 * 1024)
    blob = os.urandom(4 * 1024 * 1024)
    with connect() as conn:
        length, md5, back = conn.execute("SELECT length(%s::text), md5(%s::bytea), %s::bytea",
                                         (text, blob, blob)).fetchone()
        conn.commit()
    check(length == len(text), f"text length {length}")
    check(md5 == hashlib.md5(blob).hexdigest(), "bytea md5 differs")
    check(back == blob, "bytea echoed back differs")
    return "4 MB text, 4 MB bytea both ways"


def case_notice():
    notices = []
    with connect() as conn:
        conn.add_notice_handler(lambda d: notices.append((d.severity_nonlocalized, d.message_primary)))
        conn.execute("DO $$ BEGIN RAISE NOTICE 'matrix notice %', 42; RAISE WARNING 'matrix warning'; END $$")
        conn.commit()
    want = [("NOTICE", "matrix notice 42"), ("WARNING", "matrix warning")]
    check(notices == want, f"notices {notices}")
    return "NOTICE and WARNING received"


def case_cursor():
    with connect() as conn:
        # A named cursor is a server-side DECLARE in the current transaction.
        with conn.cursor(name="matrix_cursor") as cur:
            cur.execute("SELECT g FROM generate_series(1, %s::int4) g", (5000,))
            batches, total, n = 0, 0, 0
            while rows := cur.fetchmany(1000):
                batches += 1
                n += len(rows)
                total += sum(r[0] for r in rows)
        conn.commit()
    check((n, total) == (5000, 12502500), f"{n} rows, sum {total}")
    return f"5000 rows in {batches} fetches"


def case_cancel():
    with connect() as conn:
        timer = threading.Timer(0.5, conn.cancel)
        started = time.monotonic()
        timer.start()
        try:
            conn.execute("SELECT pg_sleep(30)")
            raise CaseFailed("pg_sleep(30) was not cancelled")
        except psycopg.errors.QueryCanceled:
            pass
        finally:
            timer.cancel()
        took = time.monotonic() - started
        conn.rollback()
        check(took < 10, f"cancel took {took:.1f} s")
        check(conn.execute("SELECT %s::int4", (7,)).fetchone()[0] == 7, "usable after cancel")
        conn.commit()
    return f"57014 after {took:.1f} s"


def case_many_connections():
    def body(i, conn):
        for n in range(5):
            got = conn.execute("SELECT %s::int4 + %s::int4", (i, n)).fetchone()[0]
            if got != i + n:
                raise CaseFailed(f"got {got}")
            conn.commit()

    summarize(run_clients(MANY_CONNECTIONS, body), MANY_CONNECTIONS)
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


def main():
    wanted = sys.argv[1:]
    unknown = set(wanted) - {name for name, _ in CASES}
    if unknown:
        print(f"unknown case(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    print(f"DRIVER psycopg {psycopg.__version__} (libpq {psycopg.pq.version()}, {psycopg.pq.__impl__})",
          flush=True)
    failed = 0
    for name, fn in CASES:
        if wanted and name not in wanted:
            continue
        outcome = {}

        def run():
            try:
                outcome["detail"] = fn()
            except Exception as e:  # noqa: BLE001
                outcome["error"] = f"{type(e).__name__}: {e}"
                if not isinstance(e, CaseFailed):
                    outcome["trace"] = traceback.format_exc()

        started = time.monotonic()
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(CASE_TIMEOUT_S)
        took = time.monotonic() - started
        if worker.is_alive():
            outcome["error"] = f"timed out after {CASE_TIMEOUT_S} s"
        if "error" in outcome:
            failed += 1
            print(f"CASE {name} FAIL {one_line(outcome['error'])} ({took:.2f} s)", flush=True)
            if "trace" in outcome:
                print(outcome["trace"], file=sys.stderr, flush=True)
        else:
            print(f"CASE {name} PASS {one_line(outcome['detail'])} ({took:.2f} s)", flush=True)
    sys.stdout.flush()
    sys.stderr.flush()
    # A timed-out case may have left a thread blocked in libpq: do not wait for it.
    os._exit(1 if failed else 0)


if __name__ == "__main__":
    sys.exit(main())
