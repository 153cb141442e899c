// `parity status`: asks the running agent (the config's server address) and falls back to the
// state store when no agent answers.
import axios from 'axios';
import { describeError } from '../core/errors.js';
import type { LoadedConfig } from './config/load.js';
import { DEFAULT_SERVER } from './config/schema.js';
import { DEFAULT_STATE_URL, StateStore } from './state/store.js';

export async function agentStatus(loaded: LoadedConfig): Promise<Record<string, unknown>> {
  const server = loaded.config.server ?? DEFAULT_SERVER;
  const host = server.host === '0.0.0.0' || server.host === '::' ? '127.0.0.1' : server.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${server.port}`;
  let reason: string;
  try {
    const res = await axios.get(`${url}/status`, { timeout: 2000, headers: server.token ? { Authorization: `Bearer ${server.token}` } : {}, validateStatus: () => true });
    if (res.status === 200) return { source: 'agent', url, ...(res.data as Record<string, unknown>) };
    reason = `the agent at ${url} answered ${res.status}`;
  } catch (err) {
    reason = `no agent answers at ${url}: ${describeError(err)}`;
  }
  const store = await StateStore.open(loaded.config.state ?? DEFAULT_STATE_URL, loaded.dataDir);
  try {
    const [run] = await store.listRuns(1);
    return {
      source: 'state-store',
      reason,
      lastRun: run ? { runId: run.id, status: run.status, health: run.healthScore === null ? null : { score: run.healthScore, status: run.healthStatus }, finishedAt: run.finishedAt?.toISOString() ?? null, error: run.error } : null,
      outboxPending: await store.pendingCount(),
    };
  } finally {
    await store.close();
  }
}
