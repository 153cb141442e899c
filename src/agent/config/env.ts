// ${VAR} and ${VAR:-default} in parsed string values (never in the raw text, so a value
// can never inject YAML). Every value taken from the environment is reported back, so that
// all but those the config declares public are masked everywhere.
import type { PathPart } from '../../core/config-path.js';

const PATTERN = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
export interface Interpolated {
  value: unknown;
  /** Every value taken from the environment, with its variable's name. */
  fromEnv: { variable: string; value: string }[];
}

export function interpolateEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  /** Throws (a config error), or returns what to put in the variable's place. */
  onMissing: (path: PathPart[], variable: string) => string,
): Interpolated {
  const fromEnv: Interpolated['fromEnv'] = [];
  const walk = (v: unknown, at: PathPart[]): unknown => {
    if (typeof v === 'string') {
      return v.replace(PATTERN, (_m, variable: string, fallback: string | undefined) => {
        const found = env[variable];
        if (found !== undefined && found !== '') {
          fromEnv.push({ variable, value: found });
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
  return { value: walk(value, []), fromEnv };
}
