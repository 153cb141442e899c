// `npm run demo`: builds a small ERP in SQLite and a drifted webshop (the reference receiver),
// runs one reconciliation with examples/demo/parity.yaml through the real CLI, prints the
// Markdown summary and the report paths, and stops the receiver. Needs nothing but `npm ci`.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createReceiver } from '../receiver/server.js';
import { buildErp, driftedShop, writeErp } from './data.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const dataDir = path.join(here, '.data');

// A fresh ERP every time; the state store stays, so the HTML report's trend grows run by run.
mkdirSync(dataDir, { recursive: true });
rmSync(path.join(dataDir, 'erp.db'), { force: true });

const erp = buildErp();
await writeErp(path.join(dataDir, 'erp.db'), erp);
const shop = driftedShop(erp);
const token = randomBytes(16).toString('hex');
const receiver = await createReceiver({ token });
await receiver.seed('items', shop.items);
await receiver.seed('customers', shop.customers);
await receiver.seed('stock', shop.stock);
const { port, url } = await receiver.listen(0);
process.stdout.write(
  `demo: ERP (SQLite) with ${erp.products.length} products, ${erp.customers.length} customers, ${erp.stock_levels.length} stock levels\n` +
    `demo: webshop (reference receiver) on ${url} with a drifted copy\n\n`,
);

/** Runs the real CLI on the demo config, echoing its summary. */
async function parity(title: string): Promise<{ code: number; out: string }> {
  process.stdout.write(`==== ${title}\n`);
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/agent/main.ts'), 'run', '--config', path.join(here, 'parity.yaml')], {
    cwd: root,
    env: { ...process.env, DEMO_SHOP_PORT: String(port), DEMO_SHOP_TOKEN: token, PARITY_LOG_LEVEL: process.env.PARITY_LOG_LEVEL ?? 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    process.stdout.write(chunk);
  });
  const code: number = await new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  process.stdout.write('\n');
  return { code, out };
}

const first = await parity('run 1: compare the ERP with the shop, and push the difference');
const second = first.code === 0 ? await parity('run 2: compare again') : first;
await receiver.close();
const { code, out } = second;

const md = /^report: (.+\.md)$/m.exec(out)?.[1];
if (md) {
  process.stdout.write(`\n---- ${md} ----\n\n${readFileSync(path.resolve(root, md), 'utf8')}\n`);
}
process.exit(code);
