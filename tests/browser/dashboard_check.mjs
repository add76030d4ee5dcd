// Opens the pgsluice dashboard in Debian's Chromium and checks that it works:
//
//   node dashboard_check.mjs URL SCREENSHOT_PATH [--user U --password P] [--hold SECONDS]
//
// Waits until the page has polled /api/status at least 5 times, drawn chart
// points and shows a client key with a throughput above zero; fails on any
// console error, page error or request to a host other than the dashboard's
// own or loopback. Saves a full-page screenshot, prints one line of JSON and
// exits 0 on success, 1 with a reason otherwise, within 60 s in every case.
//
// --hold SECONDS (default 0) keeps the page open, polling as an operator's
// would, for that long once it is ready (bench/admin_overhead.sh uses it as
// load on the admin port). It prints "dashboard_check: ready ..." on stderr
// when the hold starts, adds hold_s and samples_during_hold to the JSON, fails
// if the page polled fewer than once every two seconds meanwhile, and extends
// the time limit by SECONDS.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HARD_LIMIT_MS = 57000;   // the whole run, Node's own start-up included
const READY_TIMEOUT_MS = 35000;
const MIN_SAMPLES = 5;
const MAX_HOLD_S = 3600;
const started = Date.now() - Math.round(process.uptime() * 1000);

const summary = { ok: false, url: null, samples: 0, series_points: 0, keys_with_throughput: 0,
                  console_errors: [], foreign_requests: [], screenshot: null, screenshot_bytes: 0 };
let browser = null;
let profileDir = null;

function finish(ok, reason) {
  summary.ok = ok;
  if (reason) summary.reason = reason;
  summary.elapsed_ms = Date.now() - started;
  console.log(JSON.stringify(summary));
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  process.exit(ok ? 0 : 1);
}

function parseArgs(argv) {
  const positional = [];
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--user' || argv[i] === '--password' || argv[i] === '--hold') {
      if (i + 1 >= argv.length) finish(false, `${argv[i]} needs a value`);
      opts[argv[i].slice(2)] = argv[++i];
    } else {
      positional.push(argv[i]);
    }
  }
  if (positional.length !== 2) {
    finish(false, 'usage: dashboard_check.mjs URL SCREENSHOT_PATH [--user U --password P] [--hold SECONDS]');
  }
  if ((opts.user === undefined) !== (opts.password === undefined)) finish(false, '--user and --password go together');
  let hold = 0;
  if (opts.hold !== undefined) {
    hold = Number(opts.hold);
    if (!/^[0-9]+(\.[0-9]+)?$/.test(opts.hold) || !(hold <= MAX_HOLD_S)) {
      finish(false, `--hold wants a number of seconds from 0 to ${MAX_HOLD_S}`);
    }
  }
  return { url: positional[0], screenshot: positional[1], ...opts, hold };
}

// The page may talk to its own origin and nothing else; data: URLs stay inside it.
function isLocal(requestUrl, pageHost) {
  let u;
  try { u = new URL(requestUrl); } catch { return false; }
  if (u.protocol === 'data:' || u.protocol === 'blob:' || u.protocol === 'about:') return true;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return host === pageHost || host === 'localhost' || host === '::1' || /^127\./.test(host);
}

const args = parseArgs(process.argv.slice(2));
summary.url = args.url;
summary.screenshot = args.screenshot;
const holdMs = Math.round(args.hold * 1000);
const hardLimitMs = HARD_LIMIT_MS + holdMs;
const hardTimer = setTimeout(() => {
  // Do not wait for a browser that hangs: the process exit takes Chromium with it.
  if (browser) browser.close().catch(() => {});
  finish(false, `gave up after ${hardLimitMs} ms`);
}, Math.max(0, hardLimitMs - (Date.now() - started)));
hardTimer.unref();

async function main() {
  // Imported here, not at the top, so that the time limit covers loading it.
  const { chromium } = await import('playwright-core');
  const pageHost = new URL(args.url).hostname.replace(/^\[|\]$/g, '');
  profileDir = mkdtempSync(join(tmpdir(), 'pgsluice-chromium-'));
  browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 800 },
    httpCredentials: args.user !== undefined ? { username: args.user, password: args.password } : undefined,
    timeout: 20000,
  });
  const page = browser.pages()[0] || await browser.newPage();
  page.on('console', msg => { if (msg.type() === 'error') summary.console_errors.push(msg.text()); });
  page.on('pageerror', err => summary.console_errors.push(`page error: ${err.message}`));
  page.on('request', req => { if (!isLocal(req.url(), pageHost)) summary.foreign_requests.push(req.url()); });

  const response = await page.goto(args.url, { waitUntil: 'load', timeout: 15000 });
  if (!response || !response.ok()) throw new Error(`GET ${args.url}: ${response ? 'HTTP ' + response.status() : 'no response'}`);

  let notReady = null;
  try {
    await page.waitForFunction(min => {
      const d = window.pgsluiceDashboard;
      if (!d || d.samples < min || !(d.seriesPoints() > 0)) return false;
      return [...document.querySelectorAll('td[data-throughput]')].some(td => Number(td.dataset.throughput) > 0);
    }, MIN_SAMPLES, { timeout: READY_TIMEOUT_MS, polling: 250 });
  } catch (err) {
    notReady = err;
  }
  // The hold: the page keeps polling on its own; count what it did meanwhile.
  let holdShort = false;
  if (!notReady && holdMs > 0) {
    const samplesAtReady = await page.evaluate(() => window.pgsluiceDashboard.samples);
    process.stderr.write(`dashboard_check: ready after ${samplesAtReady} samples and ` +
                         `${Date.now() - started} ms; holding the page open for ${args.hold} s\n`);
    await page.waitForTimeout(holdMs);
    summary.hold_s = args.hold;
    summary.samples_during_hold = await page.evaluate(() => window.pgsluiceDashboard.samples) - samplesAtReady;
    holdShort = summary.samples_during_hold < Math.floor(args.hold / 2);
  }
  // What the page got to, whether it got there or not.
  Object.assign(summary, await page.evaluate(() => {
    const d = window.pgsluiceDashboard;
    return {
      samples: d ? d.samples : 0,
      series_points: d ? d.seriesPoints() : 0,
      keys_with_throughput: [...document.querySelectorAll('td[data-throughput]')]
        .filter(td => Number(td.dataset.throughput) > 0).length,
      connection: document.getElementById('conn-state')?.textContent || '',
    };
  }));

  await page.screenshot({ path: args.screenshot, fullPage: true, timeout: 10000 });
  summary.screenshot_bytes = statSync(args.screenshot).size;
  await browser.close();
  browser = null;

  if (notReady) {
    return finish(false, `not ready within ${READY_TIMEOUT_MS} ms: want >= ${MIN_SAMPLES} samples, ` +
                         'chart points and a key with throughput > 0');
  }
  if (summary.console_errors.length) return finish(false, 'console errors on the page');
  if (summary.foreign_requests.length) return finish(false, 'the page made requests to another host');
  if (holdShort) {
    return finish(false, `the page polled only ${summary.samples_during_hold} times while held open ${args.hold} s`);
  }
  finish(true);
}

main().catch(err => {
  const reason = String(err && err.message || err).split('\n')[0];
  const done = () => finish(false, reason);
  if (browser) browser.close().then(done, done); else done();
});
