// ${VAR} and ${VAR:-default} in parsed string values (never in the raw text, so a value
// can never inject YAML). Values of variables whose names look secret are reported back
// so they can be redacted everywhere.
import type { PathPart } from './load.js';

const PATTERN = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|PASS|KEY|CREDENTIAL|AUTH/i;

export interface Interpolated {
  value: unknown;
  /** Values taken from variables whose names look like secrets. */
  fromSecretVars: string[];
}

export function interpolateEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  onMissing: (path: PathPart[], variable: string) => never,
): Interpolated {
  const fromSecretVars: string[] = [];
  const walk = (v: unknown, at: PathPart[]): unknown => {
    if (typeof v === 'string') {
      return v.replace(PATTERN, (_m, variable: string, fallback: string | undefined) => {
        const found = env[variable];
        if (found !== undefined && found !== '') {
          if (SECRET_NAME.test(variable)) fromSecretVars.push(found);
          return found;
        }
        if (fallback !== undefined) return fallback;
        return onMissing(at, variable);
      });
    }
    if (Array.isArray(v)) return v.map((item, i) => walk(item, [...at, i]));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) out[k] = walk(item, [...at, k]);
      return out;
    }
    return v;
  };
  return { value: walk(value, []), fromSecretVars };
}
