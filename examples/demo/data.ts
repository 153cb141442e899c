// Builds the demo's two systems: a small ERP in SQLite (items, customers, stock levels) and a
// drifted copy of it for the reference receiver (some records missing, some extra, some
// changed, some only formatted differently). Deterministic for a given seed.
import { Sequelize } from 'sequelize';
import type { SeedRecord } from '../receiver/server.js';

/** mulberry32: a small seeded PRNG, so every demo and test run sees the same drift. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ErpData {
  products: { sku: string; name: string; base_price: number; category: string; active: number }[];
  customers: { customer_no: number; name: string; email: string; country: string }[];
  stock_levels: { sku: string; warehouse: string; qty: number }[];
}

const CATEGORIES = ['tools', 'garden', 'kitchen', 'office', 'toys'];
const NOUNS = ['drill', 'hose', 'pan', 'stapler', 'kite', 'lamp', 'chair'];
const COUNTRIES = ['DE', 'FR', 'NL', 'BE', 'AT', 'CH'];
const WORDS = ['steel', 'oak', 'compact', 'deluxe', 'mini', 'pro', 'classic', 'eco', 'smart', 'heavy'];

export function buildErp(sizes = { products: 2000, customers: 1000, stockSkus: 1500 }, seed = 7): ErpData {
  const rnd = prng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const products = Array.from({ length: sizes.products }, (_, i) => ({
    sku: `SKU-${String(i + 1).padStart(5, '0')}`,
    name: `${pick(WORDS)} ${pick(NOUNS)} ${i + 1}`,
    base_price: Math.round(rnd() * 50000) / 100,
    category: pick(CATEGORIES),
    active: rnd() < 0.9 ? 1 : 0,
  }));
  const customers = Array.from({ length: sizes.customers }, (_, i) => ({
    customer_no: 10001 + i,
    name: `Customer ${i + 1}`,
    email: `customer${i + 1}@example.com`,
    country: pick(COUNTRIES),
  }));
  const stock_levels = products.slice(0, sizes.stockSkus).flatMap((p) =>
    ['WH-A', 'WH-B'].map((warehouse) => ({ sku: p.sku, warehouse, qty: Math.floor(rnd() * 500) })),
  );
  return { products, customers, stock_levels };
}

export async function writeErp(file: string, erp: ErpData): Promise<void> {
  const db = new Sequelize({ dialect: 'sqlite', storage: file, logging: false });
  try {
    await db.query('CREATE TABLE products (sku TEXT PRIMARY KEY, name TEXT NOT NULL, base_price REAL NOT NULL, category TEXT, active INTEGER NOT NULL)');
    await db.query('CREATE TABLE customers (customer_no INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT, country TEXT)');
    await db.query('CREATE TABLE stock_levels (sku TEXT NOT NULL, warehouse TEXT NOT NULL, qty INTEGER NOT NULL, PRIMARY KEY (sku, warehouse))');
    for (const [table, rows] of Object.entries(erp) as [string, Record<string, unknown>[]][]) {
      const columns = Object.keys(rows[0] ?? {});
      await db.transaction(async (transaction) => {
        for (let i = 0; i < rows.length; i += 500) {
          const chunk = rows.slice(i, i + 500);
          const placeholders = chunk.map(() => `(${columns.map(() => '?').join(', ')})`).join(', ');
          await db.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${placeholders}`, {
            replacements: chunk.flatMap((r) => columns.map((c) => r[c])),
            transaction,
          });
        }
      });
    }
  } finally {
    await db.close();
  }
}

export interface ShopData {
  items: SeedRecord[];
  customers: SeedRecord[];
  stock: SeedRecord[];
}

/** The shop's copy, drifted from the ERP the way real systems drift. */
export function driftedShop(erp: ErpData, seed = 11): ShopData {
  const rnd = prng(seed);
  const items: SeedRecord[] = [];
  for (const p of erp.products) {
    const r = rnd();
    if (!p.active) continue; // the shop lists active products only
    if (r < 0.015) continue; // never created in the shop
    let price = p.base_price.toFixed(2);
    let title = p.name;
    if (r < 0.025) price = (p.base_price + 1).toFixed(2); // a price change that never arrived
    else if (r < 0.03) title = `${p.name} (old)`;
    else if (r < 0.2) price = String(p.base_price); // "12.5" instead of "12.50": not a change
    items.push({ localId: p.sku, data: { sku: p.sku, title, price, category: p.category } });
  }
  for (let i = 1; i <= 8; i++) {
    const sku = `SKU-X${String(i).padStart(4, '0')}`;
    items.push({ localId: sku, data: { sku, title: `discontinued ${i}`, price: '9.99', category: 'toys' } });
  }
  const customers: SeedRecord[] = [];
  for (const c of erp.customers) {
    const r = rnd();
    if (r < 0.005) continue;
    const country = r < 0.01 ? 'LU' : c.country;
    // The shop upper-cases some e-mail addresses; the mapping lower-cases them, so they match.
    const email = r < 0.3 ? c.email.toUpperCase() : c.email;
    customers.push({ localId: String(c.customer_no), data: { customerNumber: String(c.customer_no), fullName: c.name, email, country } });
  }
  const stock: SeedRecord[] = [];
  for (const s of erp.stock_levels) {
    const r = rnd();
    if (r < 0.002) continue;
    const quantity = r < 0.03 ? s.qty + 1 + Math.floor(rnd() * 5) : s.qty;
    // The shop keys stock by the same composite key parity uses: [sku, warehouse].
    stock.push({ localId: JSON.stringify([s.sku, s.warehouse]), data: { sku: s.sku, warehouse: s.warehouse, quantity } });
  }
  return { items, customers, stock };
}
