// Entry point of the `parity` command. It exits explicitly once the command is done, so an
// idle keep-alive socket or pool can never hold a cron job open.
import { main } from './cli.js';

const code = await main(process.argv.slice(2));
process.exit(code);
