// The driver matrix for postgres.js (npm postgres), default settings.
//
//   node postgresjs_matrix.mjs [CASE...]
//
// Connects with the PG* environment (PGHOST, PGPORT, PGUSER, PGPASSWORD,
// PGDATABASE), runs every case (or the named ones) and prints one line per
// case, `CASE <name> PASS|FAIL|SKIP <detail>`. Exits 0 only when none failed.
// postgres.js prepares every tagged-template query as a named statement
// (prepare: true) and pipelines the queries waiting for one connection.
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline as streamPipeline } from 'node:stream/promises';

import postgres from 'postgres';

import { CaseFailed, check, clientErrors, describe, packageVersion, prefix, runCases, summarize } from './matrix_runner.mjs';

const REUSE_CLIENTS = 4, REUSE_RUNS = 12;
const SAME_NAME_CLIENTS = 20, SAME_NAME_RUNS = 8;
const MANY_CONNECTIONS = 40;
const PREFIX = prefix('postgresjs');

// A pool (postgres.js's default: up to 10 connections, opened lazily) from
// the PG* environment. The notice handler is where postgres.js delivers
// notices (by default it logs them); capturing them changes nothing else.
const open = (onnotice) => postgres(onnotice ? { onnotice } : {});

async function withSql(body, onnotice) {
  const sql = open(onnotice);
  try {
    return await body(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function withTable(name, ddl, body) {
  return withSql(async (sql) => {
    const table = `${PREFIX}_${name}`;
    await sql.unsafe(`CREATE TABLE ${table} (${ddl})`);
    try {
      return await body(sql, sql(table), table);
    } finally {
      await sql.unsafe(`DROP TABLE IF EXISTS ${table}`);
    }
  });
}

// Runs body(i, sql) on n single-connection clients at once (each its own
// postgres() instance, connected before any runs); returns the errors.
async function runClients(n, body) {
  const clients = Array.from({ length: n }, () => open());
  try {
    const connected = await Promise.allSettled(clients.map((sql) => sql`SELECT 1`));
    const refused = connected.flatMap((r, i) => (r.status === 'rejected' ? [`connect ${i}: ${describe(r.reason)}`] : []));
    if (refused.length) return refused;
    return await clientErrors(clients.map((sql, i) => body(i, sql)));
  } finally {
    await Promise.allSettled(clients.map((sql) => sql.end({ timeout: 5 })));
  }
}

async function expectCode(code, what, promise) {
  try {
    await promise;
  } catch (e) {
    if (e.code === code) return;
    throw e;
  }
  throw new CaseFailed(`${what} did not fail with ${code}`);
}

// ---------------------------------------------------------------- cases

async function caseTypes() {
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const text = "héllo ✓ 日本 'quoted' \\ back";
  const ts = new Date(Date.UTC(2024, 1, 29, 12, 34, 56, 789));
  const json = { a: [1, 2, { b: null }], c: 'd' };
  const [row] = await withSql((sql) => sql`
    SELECT ${12345}::int2 AS i2, ${-2000000000}::int4 AS i4, ${'9000000000000000000'}::int8 AS i8,
           ${3.25}::float8 AS f8, ${'12345678901234567890.123456789'}::numeric AS num, ${text}::text AS t,
           ${true}::bool AS b, ${bytes}::bytea AS by, ${'2024-02-29'}::date::text AS d, ${ts}::timestamptz AS ts,
           ${'3 days 02:00:00'}::interval::text AS iv, ${'12345678-1234-5678-1234-567812345678'}::uuid AS u,
           ${sql.json(json)}::jsonb AS j, ${[1, 2, 3, null]}::int4[] AS ia,
           ${['a', 'b,c', 'd"e', '']}::text[] AS ta, ${null}::text AS n`);
  const want = {
    i2: 12345, i4: -2000000000, i8: '9000000000000000000', f8: 3.25, num: '12345678901234567890.123456789',
    t: text, b: true, d: '2024-02-29', iv: '3 days 02:00:00', u: '12345678-1234-5678-1234-567812345678',
    ia: [1, 2, 3, null], ta: ['a', 'b,c', 'd"e', ''], n: null,
  };
  for (const [k, v] of Object.entries(want))
    check(JSON.stringify(row[k]) === JSON.stringify(v), `${k}: sent ${JSON.stringify(v)}, got ${JSON.stringify(row[k])}`);
  check(Buffer.compare(row.by, bytes) === 0, 'bytea');
  check(row.ts.getTime() === ts.getTime(), `timestamptz ${row.ts.toISOString()}`);
  check(JSON.stringify(row.j) === JSON.stringify(json), `jsonb ${JSON.stringify(row.j)}`);
  return '16 types round-tripped';
}

async function caseReuse() {
  // One query text through one pool: prepared once per pooled connection.
  // Odd runs are in a transaction, even runs on their own.
  return withSql(async (sql) => {
    const prepared = [];
    const run = (q, a, b, t) => q`SELECT ${a}::int4 + ${b}::int4 AS s, ${t}::text AS t /* matrix-reuse */`;
    summarize(await clientErrors(Array.from({ length: REUSE_CLIENTS }, async (_, i) => {
      for (let n = 0; n < REUSE_RUNS; n++) {
        const [r] = n % 2 === 0 ? await run(sql, 1000 + n, i, `r${n}`) : await sql.begin(async (tx) => {
          const rows = await run(tx, 1000 + n, i, `r${n}`);
          if (n === REUSE_RUNS - 1) // in the transaction: the same server connection
            prepared.push((await tx`SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement LIKE '%matrix-reuse%'`)[0].n);
          return rows;
        });
        if (r.s !== 1000 + n + i || r.t !== `r${n}`) throw new CaseFailed(`run ${n}: got ${JSON.stringify(r)}`);
      }
    })), REUSE_CLIENTS);
    check(prepared.length === REUSE_CLIENTS && prepared.every((p) => p > 0), `not prepared on the server: ${JSON.stringify(prepared)}`);
    return `${REUSE_CLIENTS} concurrent loops x ${REUSE_RUNS} runs, prepared server-side`;
  });
}

async function caseSameNameManyClients() {
  // postgres.js names statements with a random prefix per connection, so the
  // names differ; the query text and the small pool behind them do not.
  summarize(await runClients(SAME_NAME_CLIENTS, async (i, sql) => {
    for (let n = 0; n < SAME_NAME_RUNS; n++) {
      const [r] = await sql`SELECT ${n}::int4 * 2 AS v, ${`c${i}`}::text AS c /* matrix-same-name */`;
      if (r.v !== n * 2 || r.c !== `c${i}`) throw new CaseFailed(`run ${n}: got ${JSON.stringify(r)}`);
    }
  }), SAME_NAME_CLIENTS);
  return `${SAME_NAME_CLIENTS} clients x ${SAME_NAME_RUNS} runs of one statement`;
}

async function casePipeline() {
  return withTable('pipe', 'id int, v text', async (sql, t) => {
    // Queries waiting for one connection go out without waiting for answers:
    // on a reserved connection (each its own transaction) and in a transaction.
    const reserved = await sql.reserve();
    let got;
    try {
      got = (await Promise.all(Array.from({ length: 50 }, (_, i) => reserved`SELECT ${i}::int4 * 3 AS v`))).map(([r]) => r.v);
    } finally {
      reserved.release();
    }
    check(JSON.stringify(got) === JSON.stringify(Array.from({ length: 50 }, (_, i) => i * 3)), `pipelined results ${got.slice(0, 5)}...`);
    const results = await sql.begin((tx) => [
      ...Array.from({ length: 20 }, (_, i) => tx`INSERT INTO ${t} VALUES (${i}, ${`v${i}`})`),
      tx`SELECT count(*)::int AS n, sum(id)::int AS s FROM ${t}`,
    ]);
    const [c] = results.at(-1);
    check(c.n === 20 && c.s === 190, `pipelined insert then count: ${JSON.stringify(c)}`);
    return '50 queries pipelined on a reserved connection, 21 in a transaction';
  });
}

async function caseTransactions() {
  return withTable('tx', 'id int', async (sql, t) => {
    await sql.begin((tx) => tx`INSERT INTO ${t} VALUES (${1})`);
    await expectCode('matrix', 'rollback', sql.begin(async (tx) => {
      await tx`INSERT INTO ${t} VALUES (${2})`;
      throw Object.assign(new Error('roll back'), { code: 'matrix' });
    }));
    await sql.begin(async (tx) => {
      await tx`INSERT INTO ${t} VALUES (${3})`;
      await tx.savepoint(async (sp) => {
        await sp`INSERT INTO ${t} VALUES (${4})`;
        throw Object.assign(new Error('roll back to savepoint'), { code: 'matrix' });
      }).catch((e) => { if (e.code !== 'matrix') throw e; });
    });
    const seen = await withSql(async (other) => (await other`SELECT id FROM ${other(`${PREFIX}_tx`)} ORDER BY id`).map((r) => r.id));
    check(JSON.stringify(seen) === '[1,3]', `another connection sees ${JSON.stringify(seen)}, wanted [1,3]`);
    return 'committed rows seen elsewhere, rolled back ones not';
  });
}

async function caseErrorRecovery() {
  return withTable('err', 'id int PRIMARY KEY', async (sql, t) => {
    await expectCode('matrix', 'rollback', sql.begin(async (tx) => {
      await tx`INSERT INTO ${t} VALUES (${1})`;
      await expectCode('22012', 'division by zero', tx`SELECT 1 / ${0}::int4`);
      await expectCode('25P02', 'a statement after the error', tx`SELECT 1`);
      throw Object.assign(new Error('roll back'), { code: 'matrix' });
    }));
    for (let n = 1; n < 8; n++) {
      const [r] = await sql`SELECT 100 / ${n}::int4 AS v`;
      check(r.v === Math.floor(100 / n), `100 / ${n} = ${r.v}`);
    }
    const [c] = await sql`SELECT count(*)::int AS n FROM ${t}`;
    check(c.n === 0, `rolled back insert is there (${c.n} rows)`);
    await sql`INSERT INTO ${t} VALUES (${1})`;
    await expectCode('23505', 'duplicate key', sql`INSERT INTO ${t} VALUES (${1})`);
    check((await sql`SELECT 42 AS v`)[0].v === 42, 'usable after unique violation');
    return '22012 then 25P02, rollback, 23505, connection usable';
  });
}

async function caseCopyIn() {
  return withTable('copyin', 'id int, v text', async (sql, t) => {
    const lines = [];
    for (let i = 0; i < 10000; i++) lines.push(`${i}\trow\\t${i}\n`);
    await streamPipeline(Readable.from(lines), await sql`COPY ${t} (id, v) FROM STDIN`.writable());
    const [r] = await sql`SELECT count(*)::int AS n, sum(id)::int AS s, max(v) AS m FROM ${t}`;
    check(r.n === 10000 && r.s === 49995000 && r.m === 'row\t9999', `after COPY: ${JSON.stringify(r)}`);
    return '10000 rows';
  });
}

async function caseCopyOut() {
  const chunks = [];
  await withSql(async (sql) => streamPipeline(
    await sql`COPY (SELECT g, 'v' || g FROM generate_series(1, 10000) g) TO STDOUT`.readable(),
    new Writable({ write(chunk, _enc, done) { chunks.push(chunk); done(); } })));
  const lines = Buffer.concat(chunks).toString().split('\n').filter(Boolean);
  check(lines.length === 10000 && lines[9999] === '10000\tv10000', `${lines.length} lines, last ${lines.at(-1)}`);
  return '10000 rows';
}

async function caseLargeResult() {
  const rows = await withSql((sql) => sql`SELECT g, repeat('x', 100) AS pad FROM generate_series(1, ${100000}::int4) g`);
  const total = rows.reduce((a, r) => a + r.g, 0);
  const width = rows.reduce((a, r) => a + r.pad.length, 0);
  check(rows.length === 100000 && total === 5000050000 && width === 10000000, `got ${rows.length} rows, sum ${total}`);
  return '100000 rows, 10 MB';
}

async function caseLargeParam() {
  const text = 'ab'.repeat(2 * 1024 * 1024);
  const blob = randomBytes(4 * 1024 * 1024);
  const [r] = await withSql((sql) => sql`SELECT length(${text}::text) AS len, md5(${blob}::bytea) AS md5, ${blob}::bytea AS back`);
  check(r.len === text.length, `text length ${r.len}`);
  check(r.md5 === createHash('md5').update(blob).digest('hex'), 'bytea md5 differs');
  check(Buffer.compare(r.back, blob) === 0, 'bytea echoed back differs');
  return '4 MB text, 4 MB bytea both ways';
}

async function caseNotice() {
  const notices = [];
  await withSql((sql) => sql`DO $$ BEGIN RAISE NOTICE 'matrix notice %', 42; RAISE WARNING 'matrix warning'; END $$`,
    (n) => notices.push(`${n.severity} ${n.message}`));
  check(JSON.stringify(notices) === JSON.stringify(['NOTICE matrix notice 42', 'WARNING matrix warning']), `notices ${JSON.stringify(notices)}`);
  return 'NOTICE and WARNING received';
}

async function caseCursor() {
  // .cursor(n) reads a portal n rows at a time (Execute with a row limit).
  let n = 0, total = 0, batches = 0;
  await withSql((sql) => sql.begin(async (tx) => {
    for await (const rows of tx`SELECT g FROM generate_series(1, ${5000}::int4) g`.cursor(1000)) {
      batches++;
      n += rows.length;
      total += rows.reduce((a, r) => a + r.g, 0);
    }
  }));
  check(n === 5000 && total === 12502500, `${n} rows, sum ${total}`);
  return `5000 rows in ${batches} reads`;
}

async function caseCancel() {
  return withSql(async (sql) => {
    const started = performance.now();
    const query = sql`SELECT pg_sleep(30)`;
    setTimeout(() => query.cancel(), 500);
    await expectCode('57014', 'pg_sleep(30)', query);
    const took = (performance.now() - started) / 1000;
    check(took < 10, `cancel took ${took.toFixed(1)} s`);
    check((await sql`SELECT ${7}::int4 AS v`)[0].v === 7, 'usable after cancel');
    return `57014 after ${took.toFixed(1)} s`;
  });
}

async function caseManyConnections() {
  summarize(await runClients(MANY_CONNECTIONS, async (i, sql) => {
    for (let n = 0; n < 5; n++) {
      const [r] = await sql`SELECT ${i}::int4 + ${n}::int4 AS v`;
      if (r.v !== i + n) throw new CaseFailed(`got ${r.v}`);
    }
  }), MANY_CONNECTIONS);
  return `${MANY_CONNECTIONS} connections at once`;
}

const version = packageVersion('postgres');
await runCases(`postgres.js ${version} (Node.js ${process.versions.node})`, [
  ['types', caseTypes], ['reuse', caseReuse], ['same_name_many_clients', caseSameNameManyClients],
  ['pipeline', casePipeline], ['transactions', caseTransactions], ['error_recovery', caseErrorRecovery],
  ['copy_in', caseCopyIn], ['copy_out', caseCopyOut], ['large_result', caseLargeResult],
  ['large_param', caseLargeParam], ['notice', caseNotice], ['cursor', caseCursor], ['cancel', caseCancel],
  ['many_connections', caseManyConnections],
]);
