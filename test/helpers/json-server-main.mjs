// json-server (npm) serving a db.json as its CLI does (default middlewares, `id` as the ID),
// but holding the data in memory: the CLI rewrites the whole file after every write, which
// made the tests that push 5,000 records one request at a time wait on the disk.
// Usage: node json-server-main.mjs db.json PORT
import { readFileSync } from 'node:fs';
import jsonServer from 'json-server';

const [file, port] = process.argv.slice(2);
const app = jsonServer.create();
app.use(jsonServer.defaults({ logger: false }));
app.use(jsonServer.router(JSON.parse(readFileSync(file, 'utf8'))));
app.listen(Number(port), '127.0.0.1');
