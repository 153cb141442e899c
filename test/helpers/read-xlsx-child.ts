// Reads an xlsx with the Excel collector in its own process and prints the records read and
// the peak heap (sampled per page, after a forced GC), for the bounded-memory test.
import { ExcelCollector } from '../../src/systems/excel/collector.js';
import { RecordMapper } from '../../src/collectors/mapper.js';

const [file] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc!;
const collector = new ExcelCollector({
  side: { role: 'source', systemName: 'd365', system: { type: 'excel', path: file! }, config: { system: 'd365', sheet: 'Parts' }, mappings: [{ name: 'sku', from: 'SKU', transforms: [] }, { name: 'name', from: 'Name', transforms: [] }, { name: 'price', from: 'Price', transforms: [] }] },
  baseDir: '/',
});
const mapper = new RecordMapper({ keyChains: [['sku']], compareFields: ['name', 'price'], mappings: [{ name: 'sku', from: 'SKU', transforms: [] }, { name: 'name', from: 'Name', transforms: [] }, { name: 'price', from: 'Price', transforms: [] }] });
gc();
const base = process.memoryUsage().heapUsed;
let peak = 0;
let records = 0;
let pages = 0;
for await (const page of collector.read({ mapper })) {
  records += page.records.length;
  if (++pages % 5 === 0) {
    gc();
    peak = Math.max(peak, process.memoryUsage().heapUsed - base);
  }
}
process.stdout.write(`${JSON.stringify({ records, peakMb: peak / 1048576 })}\n`);
