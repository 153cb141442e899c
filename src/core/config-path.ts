// A place in the config: the path of keys and indexes, and how it is written in messages.
export type PathPart = string | number;

/** Fails the load with a message about the value at this path. */
export type Fail = (parts: readonly PathPart[], message: string, code?: 'PARITY_CONFIG_INVALID' | 'PARITY_CONFIG_UNSUPPORTED') => never;

export function formatPath(parts: readonly PathPart[]): string {
  return parts.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('') || '(top level)';
}
