// Loads a user's module named in the config (custom transforms, request hooks): JavaScript
// directly, TypeScript through tsx when the compiled CLI runs.
import { pathToFileURL } from 'node:url';

export async function importUserModule(file: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw err;
    const { tsImport } = await import('tsx/esm/api');
    return (await tsImport(pathToFileURL(file).href, import.meta.url)) as Record<string, unknown>;
  }
}

/** An exported function of a module, by name (named exports first, then the default export's). */
export function exportedFunction(mod: Record<string, unknown>, name: string): ((...args: never[]) => unknown) | undefined {
  const direct = mod[name];
  if (typeof direct === 'function') return direct as never;
  const fromDefault = typeof mod.default === 'object' && mod.default !== null ? (mod.default as Record<string, unknown>)[name] : undefined;
  return typeof fromDefault === 'function' ? (fromDefault as never) : undefined;
}
