// The driver matrix for node-postgres (npm pg, with pg-cursor and
// pg-copy-streams, its companions for cursors and COPY), default settings.
//
//   node node_pg_matrix.mjs [CASE...]
//
// Connects with the PG* environment (PGHOST, PGPORT, PGUSER, PGPASSWORD,
// PGDATABASE), runs every case (or the named ones) and prints one line per
// case, `CASE <name> PASS|FAIL|SKIP <detail>`. Exits 0 only when none failed.
// node-postgres prepares a query server-side when it has a name
// ({name, text, values}) and then, per connection, only binds it again.
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline as streamPipeline } from 'node:stream/promises';

import pg from 'pg';
import Cursor from 'pg-cursor';
import copyStreams from 'pg-copy-streams';

import { CaseFailed, check, clientErrors, describe, packageVersion, prefix, runCases, summarize } from './matrix_runner.mjs';

const REUSE_CLIENTS = 4, REUSE_RUNS = 12;
const SAME_NAME_CLIENTS = 20, SAME_NAME_RUNS = 8;
const MANY_CONNECTIONS = 40;
const PREFIX = prefix('node_pg');

async function connect(options = {}) {
  const client = new pg.Client(options); // everything else from the PG* environment
  await client.connect();
  return client;
}

// Runs body(i, client) on n clients at once, all connected first; returns the errors.
async function runClients(n, body) {
  const connected = await Promise.allSettled(Array.from({ length: n }, () => connect()));
  const clients = connected.filter((r) => r.status === 'fulfilled').map((r) => r.value);
  try {
    const refused = connected.flatMap((r, i) => (r.status === 'rejected' ? [`connect ${i}: ${describe(r.reason)}`] : []));
    if (refused.length) return refused;
    return await clientErrors(clients.map((c, i) => body(i, c)));
  } finally {
    await Promise.allSettled(clients.map((c) => c.end()));
  }
}

async function withTable(name, ddl, body) {
  const client = await connect();
  const table = `${PREFIX}_${name}`;
  try {
    await client.query(`CREATE TABLE ${table} (${ddl})`);
    return await body(client, table);
  } finally {
    try {
      if (client.getTransactionStatus() !== 'I') await client.query('ROLLBACK');
      await client.query(`DROP TABLE IF EXISTS ${table}`);
    } finally {
      await client.end();
    }
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
  const client = await connect();
  let row;
  try {
    const r = await client.query({
      text: 'SELECT $1::int2 AS i2, $2::int4 AS i4, $3::int8 AS i8, $4::float8 AS f8, $5::numeric AS num,' +
        ' $6::text AS t, $7::bool AS b, $8::bytea AS by, $9::date::text AS d, $10::timestamptz AS ts,' +
        ' $11::interval::text AS iv, $12::uuid AS u, $13::jsonb AS j, $14::int4[] AS ia, $15::text[] AS ta,' +
        ' $16::text AS n',
      values: [12345, -2000000000, '9000000000000000000', 3.25, '12345678901234567890.123456789', text, true,
        bytes, '2024-02-29', ts, '3 days 02:00:00', '12345678-1234-5678-1234-567812345678', json,
        [1, 2, 3, null], ['a', 'b,c', 'd"e', ''], null],
    });
    row = r.rows[0];
  } finally {
    await client.end();
  }
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
  // One named query through a pool (default size 10): every pooled client
  // prepares "matrix_reuse" once and then only binds it. Odd runs are in an
  // explicit transaction, even runs on their own.
  const pool = new pg.Pool();
  const text = 'SELECT $1::int4 + $2::int4 AS s, $3::text AS t /* matrix-reuse */';
  const prepared = [];
  try {
    const errors = await clientErrors(Array.from({ length: REUSE_CLIENTS }, async (_, i) => {
      for (let n = 0; n < REUSE_RUNS; n++) {
        const values = [1000 + n, i, `r${n}`];
        let r;
        if (n % 2) {
          const client = await pool.connect();
          try {
            await client.query('BEGIN');
            r = await client.query({ name: 'matrix_reuse', text, values });
            if (n === REUSE_RUNS - 1) // in the transaction: the same server connection
              prepared.push((await client.query("SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement LIKE '%matrix-reuse%'")).rows[0].n);
            await client.query('COMMIT');
          } finally {
            client.release();
          }
        } else {
          r = await pool.query({ name: 'matrix_reuse', text, values });
        }
        if (r.rows[0].s !== 1000 + n + i || r.rows[0].t !== `r${n}`) throw new CaseFailed(`run ${n}: got ${JSON.stringify(r.rows[0])}`);
      }
    }));
    summarize(errors, REUSE_CLIENTS);
    check(prepared.length === REUSE_CLIENTS && prepared.every((p) => p > 0), `not prepared on the server: ${JSON.stringify(prepared)}`);
    return `${REUSE_CLIENTS} concurrent loops x ${REUSE_RUNS} runs over ${pool.totalCount} pooled clients, prepared server-side`;
  } finally {
    await pool.end();
  }
}

async function caseSameNameManyClients() {
  const errors = await runClients(SAME_NAME_CLIENTS, async (i, client) => {
    for (let n = 0; n < SAME_NAME_RUNS; n++) {
      const r = await client.query({ name: 'q1', text: 'SELECT $1::int4 * 2 AS v, $2::text AS c /* matrix-same-name */', values: [n, `c${i}`] });
      if (r.rows[0].v !== n * 2 || r.rows[0].c !== `c${i}`) throw new CaseFailed(`run ${n}: got ${JSON.stringify(r.rows[0])}`);
    }
  });
  summarize(errors, SAME_NAME_CLIENTS);
  return `${SAME_NAME_CLIENTS} clients x ${SAME_NAME_RUNS} runs of "q1"`;
}

async function casePipeline() {
  // node-postgres sends one query at a time unless the client is made with
  // pipeline: true (its opt-in pipelining, like psycopg's conn.pipeline()).
  const client = await connect({ pipeline: true });
  const table = `${PREFIX}_pipe`;
  try {
    await client.query(`CREATE TABLE ${table} (id int, v text)`);
    const selects = Array.from({ length: 50 }, (_, i) => client.query({ name: 'matrix_pipe', text: 'SELECT $1::int4 * 3 AS v', values: [i] }));
    const inserts = Array.from({ length: 20 }, (_, i) => client.query(`INSERT INTO ${table} VALUES ($1, $2)`, [i, `v${i}`]));
    const count = client.query(`SELECT count(*)::int AS n, sum(id)::int AS s FROM ${table}`);
    const got = (await Promise.all(selects)).map((r) => r.rows[0].v);
    await Promise.all(inserts);
    const c = (await count).rows[0];
    check(JSON.stringify(got) === JSON.stringify(Array.from({ length: 50 }, (_, i) => i * 3)), `pipelined results ${got.slice(0, 5)}...`);
    check(c.n === 20 && c.s === 190, `pipelined insert then count: ${JSON.stringify(c)}`);
  } finally {
    try {
      await client.query(`DROP TABLE IF EXISTS ${table}`);
    } finally {
      await client.end();
    }
  }
  return '71 queries pipelined, 50 of them one named statement';
}

async function caseTransactions() {
  return withTable('tx', 'id int', async (client, table) => {
    const other = await connect();
    try {
      const insert = (v) => client.query({ name: 'matrix_tx_insert', text: `INSERT INTO ${table} VALUES ($1)`, values: [v] });
      await client.query('BEGIN');
      await insert(1);
      await client.query('COMMIT');
      await client.query('BEGIN');
      await insert(2);
      await client.query('ROLLBACK');
      await client.query('BEGIN');
      await insert(3);
      await client.query('SAVEPOINT s1');
      await insert(4);
      await client.query('ROLLBACK TO SAVEPOINT s1');
      await client.query('COMMIT');
      const seen = (await other.query(`SELECT id FROM ${table} ORDER BY id`)).rows.map((r) => r.id);
      check(JSON.stringify(seen) === '[1,3]', `another connection sees ${JSON.stringify(seen)}, wanted [1,3]`);
    } finally {
      await other.end();
    }
    return 'committed rows seen elsewhere, rolled back ones not';
  });
}

async function caseErrorRecovery() {
  return withTable('err', 'id int PRIMARY KEY', async (client, table) => {
    const insert = () => client.query({ name: 'matrix_err_insert', text: `INSERT INTO ${table} VALUES ($1)`, values: [1] });
    const div = (n) => client.query({ name: 'matrix_div', text: 'SELECT 100 / $1::int4 AS v', values: [n] });
    await client.query('BEGIN');
    await insert();
    await expectCode('22012', 'division by zero', div(0));
    await expectCode('25P02', 'a statement after the error', client.query('SELECT 1'));
    await client.query('ROLLBACK');
    for (let n = 1; n < 8; n++) {
      const v = (await div(n)).rows[0].v;
      check(v === Math.floor(100 / n), `100 / ${n} = ${v}`);
    }
    const count = (await client.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;
    check(count === 0, `rolled back insert is there (${count} rows)`);
    await insert();
    await expectCode('23505', 'duplicate key', insert());
    check((await client.query('SELECT 42 AS v')).rows[0].v === 42, 'usable after unique violation');
    return '22012 then 25P02, rollback, 23505, connection usable';
  });
}

async function caseCopyIn() {
  return withTable('copyin', 'id int, v text', async (client, table) => {
    const lines = [];
    for (let i = 0; i < 10000; i++) lines.push(`${i}\trow\\t${i}\n`);
    await streamPipeline(Readable.from(lines), client.query(copyStreams.from(`COPY ${table} (id, v) FROM STDIN`)));
    const r = (await client.query(`SELECT count(*)::int AS n, sum(id)::int AS s, max(v) AS m FROM ${table}`)).rows[0];
    check(r.n === 10000 && r.s === 49995000 && r.m === 'row\t9999', `after COPY: ${JSON.stringify(r)}`);
    return '10000 rows';
  });
}

async function caseCopyOut() {
  const client = await connect();
  const chunks = [];
  try {
    await streamPipeline(client.query(copyStreams.to("COPY (SELECT g, 'v' || g FROM generate_series(1, 10000) g) TO STDOUT")),
      new Writable({ write(chunk, _enc, done) { chunks.push(chunk); done(); } }));
  } finally {
    await client.end();
  }
  const lines = Buffer.concat(chunks).toString().split('\n').filter(Boolean);
  check(lines.length === 10000 && lines[9999] === '10000\tv10000', `${lines.length} lines, last ${lines.at(-1)}`);
  return '10000 rows';
}

async function caseLargeResult() {
  const client = await connect();
  let rows;
  try {
    rows = (await client.query("SELECT g, repeat('x', 100) AS pad FROM generate_series(1, $1::int4) g", [100000])).rows;
  } finally {
    await client.end();
  }
  const total = rows.reduce((a, r) => a + r.g, 0);
  const width = rows.reduce((a, r) => a + r.pad.length, 0);
  check(rows.length === 100000 && total === 5000050000 && width === 10000000, `got ${rows.length} rows, sum ${total}`);
  return '100000 rows, 10 MB';
}

async function caseLargeParam() {
  const text = 'ab'.repeat(2 * 1024 * 1024);
  const blob = randomBytes(4 * 1024 * 1024);
  const client = await connect();
  let r;
  try {
    r = (await client.query('SELECT length($1::text) AS len, md5($2::bytea) AS md5, $2::bytea AS back', [text, blob])).rows[0];
  } finally {
    await client.end();
  }
  check(r.len === text.length, `text length ${r.len}`);
  check(r.md5 === createHash('md5').update(blob).digest('hex'), 'bytea md5 differs');
  check(Buffer.compare(r.back, blob) === 0, 'bytea echoed back differs');
  return '4 MB text, 4 MB bytea both ways';
}

async function caseNotice() {
  const notices = [];
  const client = await connect();
  try {
    client.on('notice', (m) => notices.push(`${m.severity} ${m.message}`));
    await client.query("DO $$ BEGIN RAISE NOTICE 'matrix notice %', 42; RAISE WARNING 'matrix warning'; END $$");
  } finally {
    await client.end();
  }
  check(JSON.stringify(notices) === JSON.stringify(['NOTICE matrix notice 42', 'WARNING matrix warning']), `notices ${JSON.stringify(notices)}`);
  return 'NOTICE and WARNING received';
}

async function caseCursor() {
  // pg-cursor reads a portal in batches (Execute with a row limit).
  const client = await connect();
  let n = 0, total = 0, batches = 0;
  try {
    await client.query('BEGIN');
    const cursor = client.query(new Cursor('SELECT g FROM generate_series(1, $1::int4) g', [5000]));
    for (let rows = await cursor.read(1000); rows.length; rows = await cursor.read(1000)) {
      batches++;
      n += rows.length;
      total += rows.reduce((a, r) => a + r.g, 0);
    }
    await cursor.close();
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
  check(n === 5000 && total === 12502500, `${n} rows, sum ${total}`);
  return `5000 rows in ${batches} reads`;
}

async function caseCancel() {
  const client = await connect();
  try {
    const started = performance.now();
    const query = new pg.Query('SELECT pg_sleep(30)');
    const done = new Promise((resolve, reject) => {
      query.on('end', resolve);
      query.on('error', reject);
    });
    client.query(query);
    // Client#cancel opens its own connection and sends a CancelRequest with
    // the key the running client got at startup.
    setTimeout(() => new pg.Client().cancel(client, query), 500);
    await expectCode('57014', 'pg_sleep(30)', done);
    const took = (performance.now() - started) / 1000;
    check(took < 10, `cancel took ${took.toFixed(1)} s`);
    check((await client.query('SELECT $1::int4 AS v', [7])).rows[0].v === 7, 'usable after cancel');
    return `57014 after ${took.toFixed(1)} s`;
  } finally {
    await client.end();
  }
}

async function caseManyConnections() {
  const errors = await runClients(MANY_CONNECTIONS, async (i, client) => {
    for (let n = 0; n < 5; n++) {
      const v = (await client.query('SELECT $1::int4 + $2::int4 AS v', [i, n])).rows[0].v;
      if (v !== i + n) throw new CaseFailed(`got ${v}`);
    }
  });
  summarize(errors, MANY_CONNECTIONS);
  return `${MANY_CONNECTIONS} connections at once`;
}

const version = packageVersion('pg');
await runCases(`node-postgres ${version} (Node.js ${process.versions.node})`, [
  ['types', caseTypes], ['reuse', caseReuse], ['same_name_many_clients', caseSameNameManyClients],
  ['pipeline', casePipeline], ['transactions', caseTransactions], ['error_recovery', caseErrorRecovery],
  ['copy_in', caseCopyIn], ['copy_out', caseCopyOut], ['large_result', caseLargeResult],
  ['large_param', caseLargeParam], ['notice', caseNotice], ['cursor', caseCursor], ['cancel', caseCancel],
  ['many_connections', caseManyConnections],
]);
