import { existsSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ADMIN_TOKEN } from '../functions/runtime/config.js';
import { freePort, type SpawnedScript, spawnScript, waitFor } from './support/runtime.js';
import { isCI } from './support/services.js';

/** Debian's Chromium, installed by `.ci/run`; never downloaded. */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
const WEB_DIST = path.resolve('web/dist/index.html');
/** Where CI keeps the screenshot of a healed incident. */
export const ARTIFACTS = path.resolve('artifacts/browser');

const ready = existsSync(CHROMIUM) && existsSync(WEB_DIST);
if (!ready && !isCI) {
  console.warn(
    `browser tests skipped: ${existsSync(CHROMIUM) ? '' : `${CHROMIUM} is missing (apt-get install -y chromium); `}${existsSync(WEB_DIST) ? '' : 'web/dist is not built (npm run build:web)'}`,
  );
}

describe.skipIf(!ready && !isCI)('Dashboard in Chromium, against the local runtime', () => {
  let runtime: SpawnedScript;
  let url: string;
  let browser: Browser;

  beforeAll(async () => {
    // Under CI a missing browser or build is a failure that says what is missing.
    expect(existsSync(CHROMIUM), `${CHROMIUM} (install Debian's chromium)`).toBe(true);
    expect(existsSync(WEB_DIST), 'web/dist/index.html (run npm run build:web)').toBe(true);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    // `npm start` without its web build step (the suite runs after `npm run build:web`).
    runtime = spawnScript('infra/local/main.ts', {
      PORT: String(port),
      REDIS_URL: '',
      DATABASE_URL: '',
      AWS_ENDPOINT_URL_DYNAMODB: '',
      PROBE_INTERVAL_MS: '3600000',
    });
    await waitFor(
      'the runtime to answer',
      async () => ((await fetch(`${url}/healthz`).catch(() => undefined))?.ok ? true : undefined),
      90_000,
    );
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    runtime?.child.kill('SIGTERM');
    await runtime?.exited;
  });

  /** Injects the flagship fault from the Scenarios page, giving the admin token once. */
  async function injectFromScenarios(page: Page) {
    await page.goto(`${url}/#/scenarios`);
    await page
      .getByRole('button', { name: /Inject/ })
      .first()
      .click();
    const dialog = page.getByRole('dialog', { name: 'Sign in for admin actions' });
    if (await dialog.isVisible().catch(() => false)) {
      await page.getByLabel('Admin token').fill(DEMO_ADMIN_TOKEN);
      await page.getByRole('button', { name: 'Use token' }).click();
    }
  }

  it('shows an injected fault heal live, then its diff', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${url}/#/`);
    await injectFromScenarios(page);
    await page.goto(`${url}/#/`);

    const healed = page.getByText(/Healed in \d+\.\d{2} s/).first();
    await healed.waitFor({ timeout: 10_000 });
    const card = page.getByRole('article', { name: /dropped-field/ }).first();
    await expect(card.getByRole('status', { name: 'Status: healed' }).count()).resolves.toBe(1);
    const timeline = card.getByRole('list', { name: 'Timeline' });
    for (const stage of ['rca', 'patch', 'guard', 'verify', 'heal']) {
      await expect(timeline.getByText(stage, { exact: true }).count()).resolves.toBeGreaterThan(0);
    }
    await page.screenshot({ path: path.join(ARTIFACTS, 'healed-incident.png'), fullPage: true });

    await card.getByRole('link').first().click();
    const diff = page.getByRole('figure', { name: 'Patch diff' });
    await diff.waitFor({ timeout: 10_000 });
    await expect(diff.textContent()).resolves.toContain('return_policy: item.return_policy,');
    await page.screenshot({ path: path.join(ARTIFACTS, 'incident-diff.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('loses no step when the stream is killed mid-incident and reconnects', async () => {
    // The page talks to the runtime through a TCP proxy the test controls, so it can cut every
    // connection (the SSE one included) abruptly and refuse new ones for a while.
    const proxy = await startProxy(Number(new URL(url).port));
    const page = await browser.newPage();
    try {
      await page.goto(`${proxy.url}/#/`);
      await page.getByRole('status', { name: 'Stream connected' }).waitFor({ timeout: 15_000 });
      const reset = await fetch(`${url}/api/scenarios/reset`, {
        method: 'POST',
        headers: { authorization: `Bearer ${DEMO_ADMIN_TOKEN}` },
      });
      expect(reset.status).toBe(200);
      const listed = async () =>
        (
          (await (await fetch(`${url}/api/incidents?limit=100`)).json()) as {
            incidents: Array<{ id: string; status: string }>;
          }
        ).incidents;
      const before = new Set((await listed()).map((i) => i.id));
      const inject = await fetch(`${url}/api/scenarios/return-policy-sync/inject`, {
        method: 'POST',
        headers: { authorization: `Bearer ${DEMO_ADMIN_TOKEN}` },
      });
      expect(inject.status).toBe(202);
      // Mid-incident: once it is open, the stream dies and stays down while the heal runs.
      const opened = await waitFor(
        'the new incident to open',
        async () => (await listed()).find((i) => !before.has(i.id)),
        10_000,
        10,
      );
      proxy.cut();
      await page.getByRole('status', { name: /Stream (reconnecting|disconnected)/ }).waitFor({
        timeout: 10_000,
      });
      await waitFor(
        'the incident to heal',
        async () =>
          (await listed()).find((i) => i.id === opened.id)?.status === 'healed' ? true : undefined,
        20_000,
      );
      proxy.resume();
      await page.getByRole('status', { name: 'Stream connected' }).waitFor({ timeout: 20_000 });

      // Every step the server recorded for the incident is on its card, none missing.
      const { steps } = (await (await fetch(`${url}/api/incidents/${opened.id}`)).json()) as {
        steps: Array<{ stage: string }>;
      };
      const card = page.getByRole('article', { name: new RegExp(`Incident ${opened.id}`) });
      await card.getByText(/Healed in \d+\.\d{2} s/).waitFor({ timeout: 10_000 });
      const timeline = card.getByRole('list', { name: 'Timeline' }).getByRole('listitem');
      await expect.poll(() => timeline.count(), { timeout: 10_000 }).toBe(steps.length);
      expect(proxy.cuts()).toBeGreaterThan(0);
    } finally {
      await page.close();
      await proxy.close();
    }
  }, 90_000);
});

/**
 * A loopback TCP proxy to `port`: `cut()` destroys every open connection and refuses new ones
 * until `resume()`, like a network that drops.
 */
async function startProxy(port: number) {
  const sockets = new Set<net.Socket>();
  let refusing = false;
  let cutCount = 0;
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(port, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    cut() {
      refusing = true;
      cutCount += sockets.size;
      for (const socket of sockets) socket.destroy();
    },
    resume() {
      refusing = false;
    },
    cuts: () => cutCount,
    close: () =>
      new Promise<void>((done) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => done());
      }),
  };
}
