// Real HTTP servers on ephemeral loopback ports for tests: the reference receiver, or any Hono app.
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import type { AddressInfo } from 'node:net';
import { afterAll } from 'vitest';

/** Serves `app` on 127.0.0.1 on a free port until the test file ends. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function serveApp(app: Hono<any>): Promise<string> {
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  afterAll(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
