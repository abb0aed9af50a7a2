import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProbes, signalsOf } from '../functions/probe/run-probes.js';
import { shopTarget } from '../functions/shop/manifest.js';
import { freePort } from './support/runtime.js';

const listen = (server: Server, port: number) =>
  new Promise<void>((done) => server.listen(port, '127.0.0.1', () => done()));

describe('Probes', () => {
  let hanging: Server;
  let hangingPort: number;
  let broken: Server;
  let brokenPort: number;

  beforeAll(async () => {
    // Accepts connections and never answers: a dependency that hangs.
    hanging = createServer(() => undefined);
    hangingPort = await freePort();
    await listen(hanging, hangingPort);
    // Answers 200 with a product record that lacks return_policy.
    broken = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ sku: 'SKU-1001', title: 'x' }));
    });
    brokenPort = await freePort();
    await listen(broken, brokenPort);
  });
  afterAll(() => {
    hanging.closeAllConnections();
    hanging.close();
    broken.close();
  });

  it('turns a target that refuses connections into a DependencyDown signal, not a crash', async () => {
    const closedPort = await freePort();
    const { calls, findings } = await runProbes(shopTarget, ['SKU-1001'], {
      baseUrl: `http://127.0.0.1:${closedPort}`,
      timeoutMs: 500,
      now: new Date(),
    });

    expect(calls).toBe(2);
    expect(findings.map((f) => f.kind)).toEqual(['DependencyDown', 'DependencyDown']);
    expect(findings[0]?.reason).toMatch(/^unreachable: /);
    const signals = signalsOf('demo-shop', findings);
    expect(signals.map((s) => s.kind)).toEqual(['DependencyDown', 'DependencyDown']);
    expect(signals.map((s) => s.request?.path).sort()).toEqual([
      '/shop/products/SKU-1001',
      '/shop/returns/eligibility',
    ]);
  });

  it('reports a target that does not answer in time as DependencyDown', async () => {
    const { findings } = await runProbes(shopTarget, ['SKU-1001'], {
      baseUrl: `http://127.0.0.1:${hangingPort}`,
      timeoutMs: 200,
      now: new Date(),
    });

    expect(findings.every((f) => f.kind === 'DependencyDown')).toBe(true);
    expect(findings[0]?.reason).toBe('no answer within 200 ms');
  });

  it('names the contract field a 200 answer breaks, with the request captured', async () => {
    const { findings } = await runProbes(shopTarget, ['SKU-1001'], {
      baseUrl: `http://127.0.0.1:${brokenPort}`,
      timeoutMs: 1_000,
      now: new Date(),
    });

    const read = findings.find((f) => f.probe === 'product-read');
    expect(read).toMatchObject({
      kind: 'ProbeFailure',
      request: { method: 'GET', path: '/shop/products/SKU-1001' },
      response: { status: 200 },
    });
    expect(read?.field).toBeDefined();
    const [signal] = signalsOf(
      'demo-shop',
      findings.filter((f) => f.probe === 'product-read'),
    );
    expect(signal).toMatchObject({ kind: 'ProbeFailure', skus: ['SKU-1001'], sku_count: 1 });
  });
});
