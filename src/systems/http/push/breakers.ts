// The circuit breakers by system name, for the status API and metrics (a small module, so
// that reading their states does not load the HTTP client).
export interface BreakerLike {
  opened: boolean;
  halfOpen: boolean;
}

export const breakersByName = new Map<string, BreakerLike>();

/** Each system's breaker state. */
export function breakerStates(): Record<string, 'closed' | 'open' | 'half-open'> {
  const out: Record<string, 'closed' | 'open' | 'half-open'> = {};
  for (const [name, b] of breakersByName) out[name] = b.opened ? 'open' : b.halfOpen ? 'half-open' : 'closed';
  return out;
}
