// Opens a page in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core from web/node_modules) and reports what a person would
// notice: console errors, page errors, the requests it made, whether it got
// ready, the value of checks run in the page, and a screenshot.
//
//   node tests/browser/check_page.mjs --url file:///tmp/report.html \
//     --wait 'window.dsimReport && window.dsimReport.ready' \
//     --eval '({charts: document.querySelectorAll(".chart canvas").length})' \
//     --screenshot out/report.png
//
// Options:
//   --url URL          the page (file:// or http://); required
//   --wait EXPR        a JS expression polled in the page until truthy
//                      (e.g. "the dashboard's values advanced"); default: load
//   --eval EXPR        a JS expression evaluated after --wait; its value
//                      (JSON-serialisable) is reported as "eval"
//   --screenshot FILE  a full-page PNG (of an SVG document: the viewport),
//                      written after --eval
//   --allow URLPREFIX  a request that may be made besides the page itself
//                      (repeatable; for http:// pages the page's own origin
//                      is allowed as well)
//   --timeout MS       for load and --wait (default 15000)
//   --width/--height   the viewport (default 1280 x 900)
// Env: DSIM_CHROMIUM (default /usr/bin/chromium), DSIM_WEB_DIR (where
// node_modules/playwright-core is; default web/ of this checkout).
//
// Prints one JSON object on stdout:
//   {url, ok, ready, console_errors, page_errors, requests, disallowed_requests,
//    failed_requests, eval, load_ms, ready_ms, screenshot}
// and exits 0 when the page got ready with no console or page error and no
// disallowed request (ok), 1 when it did not, 2 on a usage or launch error.
import { createRequire } from 'node:module';
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const webDir = process.env.DSIM_WEB_DIR || path.join(here, '..', '..', 'web');
const require = createRequire(path.join(webDir, 'package.json'));

function usage(message) {
  process.stderr.write(`check_page: ${message}\n`);
  process.exit(2);
}

const opts = { allow: [], timeout: 15000, width: 1280, height: 900 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const key = argv[i];
  const value = argv[i + 1];
  if (value === undefined) usage(`${key} needs a value`);
  i += 1;
  switch (key) {
    case '--url': opts.url = value; break;
    case '--wait': opts.wait = value; break;
    case '--eval': opts.eval = value; break;
    case '--screenshot': opts.screenshot = value; break;
    case '--allow': opts.allow.push(value); break;
    case '--timeout': opts.timeout = Number(value); break;
    case '--width': opts.width = Number(value); break;
    case '--height': opts.height = Number(value); break;
    default: usage(`unknown option ${key}`);
  }
}
if (!opts.url) usage('--url is required');

let chromium;
try {
  ({ chromium } = require('playwright-core'));
} catch (e) {
  usage(`playwright-core is not installed in ${webDir}/node_modules (run scripts/setup.sh): ${e.message}`);
}

const executablePath = process.env.DSIM_CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(executablePath)) usage(`no Chromium at ${executablePath} (run scripts/setup.sh)`);

const pageUrl = new URL(opts.url).href;
const origin = new URL(pageUrl).protocol.startsWith('http') ? new URL(pageUrl).origin : null;
function allowed(url) {
  if (url === pageUrl || url.startsWith('data:') || url.startsWith('blob:')) return true;
  if (origin && url.startsWith(origin + '/')) return true;
  return opts.allow.some((prefix) => url.startsWith(prefix));
}

const result = {
  url: pageUrl, ok: false, ready: false, console_errors: [], page_errors: [], requests: [],
  disallowed_requests: [], failed_requests: [], eval: null, load_ms: null, ready_ms: null,
  screenshot: null,
};

let browser;
try {
  browser = await chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
} catch (e) {
  usage(`cannot launch ${executablePath}: ${e.message}`);
}
try {
  const context = await browser.newContext({ viewport: { width: opts.width, height: opts.height } });
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') result.console_errors.push(m.text()); });
  page.on('pageerror', (e) => result.page_errors.push(String(e)));
  page.on('request', (r) => {
    result.requests.push(r.url());
    if (!allowed(r.url())) result.disallowed_requests.push(r.url());
  });
  page.on('requestfailed', (r) => result.failed_requests.push(`${r.url()}: ${r.failure()?.errorText}`));

  const start = Date.now();
  await page.goto(pageUrl, { waitUntil: 'load', timeout: opts.timeout });
  result.load_ms = Date.now() - start;
  if (opts.wait) {
    // Polled from here with page.evaluate (the DevTools protocol), not with
    // waitForFunction: that one evaluates the string inside the page, which
    // a Content-Security-Policy without 'unsafe-eval' (the report's, the
    // dashboard's) forbids.
    try {
      const deadline = Date.now() + opts.timeout;
      while (!(await page.evaluate(opts.wait))) {
        if (Date.now() > deadline) throw new Error(`timed out after ${opts.timeout} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      result.ready = true;
    } catch (e) {
      result.page_errors.push(`--wait did not become true: ${e.message.split('\n')[0]}`);
    }
  } else {
    result.ready = true;
  }
  result.ready_ms = Date.now() - start;
  if (opts.eval) {
    try {
      result.eval = await page.evaluate(opts.eval);
    } catch (e) {
      result.page_errors.push(`--eval failed: ${e.message.split('\n')[0]}`);
    }
  }
  if (opts.screenshot) {
    fs.mkdirSync(path.dirname(path.resolve(opts.screenshot)), { recursive: true });
    // A whole HTML page; an SVG document (which has no page to scroll) as
    // the viewport shows it.
    const svg = await page.evaluate(() => document.documentElement instanceof SVGElement);
    await page.screenshot({ path: opts.screenshot, fullPage: !svg });
    result.screenshot = path.resolve(opts.screenshot);
  }
} catch (e) {
  result.page_errors.push(String(e.message || e).split('\n')[0]);
} finally {
  await browser.close();
}
result.ok = result.ready && result.console_errors.length === 0 && result.page_errors.length === 0 &&
            result.disallowed_requests.length === 0;
process.stdout.write(JSON.stringify(result, null, 1) + '\n');
process.exit(result.ok ? 0 : 1);
