// What the Node.js matrix programs share: running the cases, one bounded
// case at a time, and printing `CASE <name> PASS|FAIL|SKIP <detail>` lines.
import { readFileSync } from 'node:fs';

export const CASE_TIMEOUT_MS = 30000;

export class CaseFailed extends Error {}

// A case that the driver cannot express at all; the reason names the limitation.
export class CaseSkipped extends Error {}

export function check(cond, what) {
  if (!cond) throw new CaseFailed(what);
}

export function describe(e) {
  if (e instanceof CaseFailed) return `CaseFailed: ${e.message}`;
  const code = e && e.code ? ` ${e.code}` : '';
  return `${e && e.name ? e.name : 'Error'}${code}: ${e && e.message ? e.message : String(e)}`;
}

export function summarize(errors, n) {
  check(errors.length === 0, `${errors.length} of ${n} clients failed; first: ${errors[0] ?? ''}`);
}

// Settles every promise and returns the failures as "client i: ..." strings.
export async function clientErrors(promises) {
  const results = await Promise.allSettled(promises);
  return results.flatMap((r, i) => (r.status === 'rejected' ? [`client ${i}: ${describe(r.reason)}`] : []));
}

function oneLine(text) {
  return String(text).split(/\s+/).filter(Boolean).join(' ').slice(0, 600);
}

// cases: [[name, async () => detail], ...]. Exits the process: 0 when none failed.
export async function runCases(driverLine, cases) {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !cases.some(([name]) => name === w));
  if (unknown.length) {
    console.error(`unknown case(s): ${unknown.join(', ')}`);
    process.exit(2);
  }
  console.log(`DRIVER ${driverLine}`);
  let failed = 0;
  for (const [name, fn] of cases) {
    if (wanted.length && !wanted.includes(name)) continue;
    const started = performance.now();
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new CaseFailed(`timed out after ${CASE_TIMEOUT_MS / 1000} s`)),
                         CASE_TIMEOUT_MS);
    });
    let line;
    try {
      line = `PASS ${oneLine(await Promise.race([fn(), timeout]))}`;
    } catch (e) {
      if (e instanceof CaseSkipped) {
        line = `SKIP ${oneLine(e.message)}`;
      } else {
        failed++;
        line = `FAIL ${oneLine(describe(e))}`;
        if (!(e instanceof CaseFailed) && e && e.stack) console.error(e.stack);
      }
    } finally {
      clearTimeout(timer);
    }
    console.log(`CASE ${name} ${line} (${((performance.now() - started) / 1000).toFixed(2)} s)`);
  }
  // A timed-out case may still hold sockets: do not wait for them.
  process.exit(failed ? 1 : 0);
}

export const prefix = (driver) => `drv_${driver}_${process.pid}`;

// The installed version of an npm package (some export no ./package.json).
export function packageVersion(name) {
  return JSON.parse(readFileSync(new URL(`./node_modules/${name}/package.json`, import.meta.url))).version;
}
