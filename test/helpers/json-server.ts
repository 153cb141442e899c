// A REST API nobody here wrote: json-server (npm), started as a child process on a loopback
// port with the records of a db.json in its memory (json-server-main.mjs), behind a fault
// layer (a plain forwarding proxy) that can answer 503 or 429 without passing a request on,
// or pass it on and then lose the answer.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { ROOT } from './cli.js';

/** ignore: answers 200 with the request's body as if applied, and applies nothing. */
export type Fault = 'pass' | 'lose' | '503' | '429' | '422' | 'ignore';

export interface FaultRequest {
  method: string;
  url: string;
  /** Mutating requests seen so far, this one included. */
  writes: number;
}

export interface JsonServer {
  /** The fault layer's URL: what parity is configured with. */
  url: string;
  /** json-server's own URL, behind no fault. */
  directUrl: string;
  dbFile: string;
  /** Decides each request's fault; `pass` by default. */
  decide: (r: FaultRequest) => Fault;
  /** Called once json-server applied a mutating request, before its answer goes back. */
  onApplied: (r: FaultRequest) => void;
  served: Record<Fault, number> & { lostCreates: number };
  /** The records of a collection as json-server holds them (read through its API, unfaulted). */
  records(collection: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitForAnswer(url: string, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`json-server exited: ${log()}`);
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`json-server did not answer at ${url}: ${log()}`);
}

export async function startJsonServer(dir: string, db: Record<string, unknown[]>): Promise<JsonServer> {
  const dbFile = path.join(dir, 'db.json');
  writeFileSync(dbFile, JSON.stringify(db));
  const port = await freePort();
  const main = path.join(ROOT, 'test/helpers/json-server-main.mjs');
  const child = spawn(process.execPath, [main, dbFile, String(port)], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const directUrl = `http://127.0.0.1:${port}`;
  await waitForAnswer(`${directUrl}/db`, child, () => output);

  let writes = 0;
  const agent = new http.Agent({ keepAlive: true });
  const server: JsonServer = {
    url: '',
    directUrl,
    dbFile,
    decide: () => 'pass',
    onApplied: () => undefined,
    served: { pass: 0, lose: 0, '503': 0, '429': 0, '422': 0, ignore: 0, lostCreates: 0 },
    async records(collection) {
      const r = await fetch(`${directUrl}/${collection}`);
      return (await r.json()) as Record<string, unknown>[];
    },
    async close() {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      proxy.closeAllConnections();
      agent.destroy();
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    },
  };
  const proxy = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const mutating = method !== 'GET' && method !== 'HEAD';
    if (mutating) writes++;
    const request: FaultRequest = { method, url: req.url ?? '/', writes };
    const fault = server.decide(request);
    server.served[fault]++;
    if (fault === '503') {
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"unavailable"}');
      return;
    }
    if (fault === 'ignore') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(Buffer.concat(chunks).toString() || '{}'));
      return;
    }
    if (fault === '422') {
      req.resume();
      res.writeHead(422, { 'content-type': 'application/json' }).end('{"error":"name is not allowed"}');
      return;
    }
    if (fault === '429') {
      req.resume();
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' }).end('{"error":"slow down"}');
      return;
    }
    const upstream = http.request(`${directUrl}${req.url}`, { method, headers: { ...req.headers, host: `127.0.0.1:${port}` }, agent }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        if (mutating) server.onApplied(request);
        if (fault === 'lose') {
          // Applied by json-server; the answer never reaches the client.
          if (method === 'POST') server.served.lostCreates++;
          req.socket.destroy();
          return;
        }
        res.writeHead(answer.statusCode ?? 500, answer.headers).end(Buffer.concat(chunks));
      });
    });
    upstream.on('error', () => req.socket.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()));
  server.url = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
  return server;
}

/** db.json as json-server last wrote it. */
export function readDb(file: string): Record<string, Record<string, unknown>[]> {
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>[]>;
}
