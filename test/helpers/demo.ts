// The demo's world in a temporary folder, for whole-program tests: an ERP in SQLite built by
// the demo's generator, the reference receiver on a loopback port holding a drifted copy,
// and the demo's config beside them (reports in the folder).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildErp, driftedShop, writeErp, type ErpData, type ShopData } from '../../examples/demo/data.js';
import { createReceiver, type Receiver } from '../../examples/receiver/server.js';
import { ROOT } from './cli.js';

export interface DemoWorld {
  receiver: Receiver;
  /** The environment the demo's config needs (the receiver's port and token). */
  env: Record<string, string>;
  config: string;
  erp: ErpData;
  shop: ShopData;
}

export async function demoWorld(dir: string, token: string, sizes: { products: number; customers: number; stockSkus: number }, seeds: [number, number], edit: (config: string) => string = (c) => c): Promise<DemoWorld> {
  mkdirSync(path.join(dir, '.data'), { recursive: true });
  const erp = buildErp(sizes, seeds[0]);
  const shop = driftedShop(erp, seeds[1]);
  await writeErp(path.join(dir, '.data/erp.db'), erp);
  const receiver = await createReceiver({ token });
  await receiver.seed('items', shop.items);
  await receiver.seed('customers', shop.customers);
  await receiver.seed('stock', shop.stock);
  const { port } = await receiver.listen(0);
  const config = path.join(dir, 'parity.yaml');
  writeFileSync(config, edit(readFileSync(path.join(ROOT, 'examples/demo/parity.yaml'), 'utf8').replace('dir: ../../reports', 'dir: reports')));
  return { receiver, env: { DEMO_SHOP_PORT: String(port), DEMO_SHOP_TOKEN: token }, config, erp, shop };
}
