// The runtime of each configured system (auth, rate gate, breaker), created once by the agent
// and handed to every collector and pusher of that system: a daemon keeps them across runs,
// so a breaker that opened stays open for its reset time.
import { systemType, type SystemConfig, type SystemRuntime } from '../systems/registry.js';

export class SystemRuntimes {
  private constructor(private readonly byName: Map<string, SystemRuntime>) {}

  static async create(systems: Record<string, SystemConfig>): Promise<SystemRuntimes> {
    const byName = new Map<string, SystemRuntime>();
    for (const [name, system] of Object.entries(systems)) {
      const runtime = await systemType(system).createRuntime?.(name, system);
      if (runtime) byName.set(name, runtime);
    }
    return new SystemRuntimes(byName);
  }

  get(name: string): SystemRuntime | undefined {
    return this.byName.get(name);
  }

  /** Each system's breaker that was used. */
  breakerStates(): Record<string, 'closed' | 'open' | 'half-open'> {
    const out: Record<string, 'closed' | 'open' | 'half-open'> = {};
    for (const [name, r] of this.byName) if (r.breakerState) out[name] = r.breakerState;
    return out;
  }

  close(): void {
    for (const r of this.byName.values()) r.close();
  }
}
