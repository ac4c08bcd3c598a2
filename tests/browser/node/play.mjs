// The browser driver of the browser tier and `make demo --check`: one headless Debian Chromium for the whole
// run, one fresh browser context per case. Reads one JSON case per line on stdin:
//   {"id": "...", "url": "http://127.0.0.1:.../shaka.html?...", "timeoutMs": 20000, "minTime": 2.5}
// and writes one JSON result per line on stdout:
//   {"id", "outcome": "played" | "error" | "timeout", "currentTime", "totalVideoFrames", "framesPresented",
//    "errors": [...], "requests": [...], "console": [...], "ms"}
// "played" means: currentTime > minTime, decoded frames > 0, presented frames > 0, and no player error.
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-default-apps', '--disable-extensions',
    '--no-first-run', '--autoplay-policy=no-user-gesture-required', '--mute-audio',
  ],
});
const write = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
write({ ready: true, browser: browser.version() });

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function play(c) {
  const started = Date.now();
  const context = await browser.newContext();
  const page = await context.newPage();
  const consoleLines = [];
  page.on('console', (m) => { if (consoleLines.length < (c.consoleLines ?? 50)) consoleLines.push(`${m.type()}: ${m.text()}`.slice(0, 500)); });
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`.slice(0, 500)));
  page.on('requestfailed', (r) => consoleLines.push(`requestfailed: ${r.method()} ${r.url().split('?')[0]} ${r.failure() && r.failure().errorText}`.slice(0, 500)));
  const minTime = c.minTime ?? 2.5;
  const deadline = started + (c.timeoutMs ?? 20000);
  let evidence = null;
  let outcome = 'timeout';
  try {
    await page.goto(c.url, { waitUntil: 'load', timeout: c.timeoutMs ?? 20000 });
    while (Date.now() < deadline) {
      evidence = await page.evaluate(() => {
        const v = document.getElementById('video');
        const q = v.getVideoPlaybackQuality();
        return {
          currentTime: v.currentTime,
          totalVideoFrames: q.totalVideoFrames,
          droppedVideoFrames: q.droppedVideoFrames,
          framesPresented: window.lab.framesPresented,
          errors: window.lab.errors.slice(),
          requests: window.lab.requests.slice(),
          state: window.lab.state,
          buffered: Array.from({ length: v.buffered.length }, (_, i) => [v.buffered.start(i), v.buffered.end(i)]),
        };
      });
      if (evidence.errors.length) { outcome = 'error'; break; }
      if (evidence.currentTime > minTime && evidence.totalVideoFrames > 0 && evidence.framesPresented > 0) {
        outcome = 'played';
        break;
      }
      await sleep(100);
    }
    if (outcome !== 'error' && c.grace) { // a played case: give a late error the chance to show
      await sleep(c.grace);
      const late = await page.evaluate(() => window.lab.errors.slice());
      if (late.length) { outcome = 'error'; evidence.errors = late; }
    }
  } catch (e) {
    outcome = 'error';
    evidence = { ...(evidence || {}), errors: [...((evidence && evidence.errors) || []), `driver: ${e.message}`.slice(0, 500)] };
  } finally {
    await context.close().catch(() => {});
  }
  return { id: c.id, outcome, ...(evidence || {}), console: consoleLines, ms: Date.now() - started };
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  let c;
  try { c = JSON.parse(line); } catch (e) { write({ outcome: 'error', errors: [`bad case line: ${e.message}`] }); continue; }
  write(await play(c));
}
await browser.close();
