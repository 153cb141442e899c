// Starts the reference receiver: `npm run receiver -- --port 8788 --db receiver.db`.
// The token, if any, comes from RECEIVER_TOKEN (never from the command line, where ps shows it).
import { parseArgs } from 'node:util';
import { createReceiver } from './server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    db: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write('usage: receiver [--port N] [--db FILE]   (RECEIVER_TOKEN=… turns on bearer auth)\n');
  process.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`receiver: --port must be a port number, got "${values.port}"\n`);
  process.exit(2);
}
const receiver = await createReceiver({ dbPath: values.db, token: process.env.RECEIVER_TOKEN || undefined });
const { url } = await receiver.listen(port);
process.stdout.write(`receiver listening on ${url}\n`);
const stop = () => void receiver.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
