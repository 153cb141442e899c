// `parity validate`: a setup test. One line per check: the config, the state store, each
// system reached, each table or endpoint found, each target checked for writing (a SQL
// target's unique index). Never throws for a system it cannot reach.
import type { ProbeResult } from '../collectors/index.js';
import { describeError } from '../core/errors.js';
import { plural } from '../core/text.js';
import { createCollector, systemType } from '../systems/registry.js';
import { SystemRuntimes } from './runtimes.js';
import { displayPath, type LoadedConfig } from './config/load.js';
import { DEFAULT_STATE_URL, StateStore } from './state/store.js';

export interface CheckLine extends ProbeResult {
  /** What was checked: "config", "state store", "system erp", "items.source". */
  subject: string;
  skipped?: boolean;
}

export async function validateConfig(loaded: LoadedConfig): Promise<CheckLine[]> {
  const lines: CheckLine[] = [];
  const c = loaded.config;
  lines.push({
    subject: 'config',
    ok: true,
    check: 'load',
    detail: `${displayPath(loaded.file)}: ${plural(Object.keys(c.systems).length, 'system')}, ${plural(loaded.entities.length, 'entity', 'entities')}`,
  });

  try {
    const store = await StateStore.open(c.state ?? DEFAULT_STATE_URL, loaded.dataDir);
    lines.push({ subject: 'state store', ok: true, check: 'open', detail: `${store.display} (migrations applied)` });
    await store.close();
  } catch (err) {
    lines.push({ subject: 'state store', ok: false, check: 'open', detail: describeError(err) });
  }

  const runtimes = await SystemRuntimes.create(c.systems);
  try {
    await probeSystems(loaded, runtimes, lines);
  } finally {
    runtimes.close();
  }
  return lines;
}

async function probeSystems(loaded: LoadedConfig, runtimes: SystemRuntimes, lines: CheckLine[]): Promise<void> {
  const reached = new Map<string, boolean>();
  for (const [name, system] of Object.entries(loaded.config.systems)) {
    const result = await systemType(system).probe(name, system, loaded.baseDir, runtimes.get(name));
    reached.set(name, result.ok);
    lines.push({ subject: `system ${name}`, ...result });
  }

  for (const entity of loaded.entities) {
    for (const side of [entity.source, entity.target]) {
      const subject = `${entity.name}.${side.role}`;
      if (!reached.get(side.systemName)) {
        lines.push({ subject, ok: false, skipped: true, check: 'not checked', detail: `system ${side.systemName} was not reached` });
        continue;
      }
      const collector = createCollector(side, { keyChains: entity.keyChains, baseDir: loaded.baseDir, runtime: runtimes.get(side.systemName) });
      try {
        for (const result of await collector.probe()) lines.push({ subject, ...result });
      } finally {
        await collector.close();
      }
    }
    const target = entity.target;
    if (target.writer && reached.get(target.systemName)) {
      // Without an outbox: a probe only reads.
      const pusher = systemType(target.system).writer!.create(target.writer, { baseDir: loaded.baseDir, runtime: runtimes.get(target.systemName) });
      try {
        for (const result of await pusher.probe()) lines.push({ subject: `${entity.name}.target`, ...result });
      } finally {
        await pusher.close();
      }
    }
  }
}

export function formatCheckLines(lines: readonly CheckLine[]): string {
  const width = Math.max(...lines.map((l) => l.subject.length));
  return lines
    .map((l) => `${l.skipped ? 'skip' : l.ok ? 'ok  ' : 'FAIL'}  ${l.subject.padEnd(width)}  ${l.check === 'open' || l.check === 'load' || l.check === 'connect' ? '' : `${l.check}: `}${l.detail}`)
    .join('\n');
}
