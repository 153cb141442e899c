// Keeps secrets out of every line parity prints or stores: known secret values are
// registered once at config load, and credentials in URLs are masked wherever they appear.

const MASK = '***';
const secrets = new Set<string>();

/** Registers a value that must never be shown. Very short values are ignored: masking
 *  "1" or "a" everywhere would garble output without protecting anything. */
export function registerSecret(value: string | undefined | null): void {
  if (typeof value === 'string' && value.length >= 4) secrets.add(value);
}

/** Forgets every registered secret (tests load several configs in one process). */
export function clearSecrets(): void {
  secrets.clear();
}

const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)([^/\s:@]*):([^/\s@]*)@/gi;

export function redact(text: string): string {
  let out = text.replace(URL_CREDENTIALS, (_m, scheme: string, user: string) => `${scheme}${user}:${MASK}@`);
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join(MASK);
  }
  return out;
}

/** A URL safe to show: credentials and secret query values masked. */
export function redactUrl(url: string): string {
  return redact(url);
}
