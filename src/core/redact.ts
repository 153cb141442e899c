// Keeps secrets out of every line parity prints or stores: known secret values are
// registered once at config load and masked in every form they travel in (raw, URL-encoded,
// form-encoded, JSON-escaped, base64), and credentials in URLs are masked whatever their shape.

const MASK = '***';
const secrets = new Set<string>();
let pattern: RegExp | null = null;

/** Shorter forms are not registered: masking "1" or "ab" everywhere would garble output
 *  without protecting anything. */
const MIN_LENGTH = 4;
/** A base64 run shorter than this says too little about the secret to be worth masking. */
const MIN_BASE64 = 8;

/** The forms a value takes on its way through URLs, forms, JSON and auth headers. */
function formsOf(value: string): string[] {
  const forms = new Set<string>([value]);
  const uri = encodeURIComponent(value);
  forms.add(uri);
  forms.add(uri.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()));
  forms.add(new URLSearchParams({ v: value }).toString().slice(2));
  forms.add(JSON.stringify(value).slice(1, -1));
  // Base64 of the value alone, and of the value inside a longer text (a Basic auth pair):
  // at each of the three byte alignments, the whole 3-byte groups encode the same way.
  const bytes = Buffer.from(value, 'utf8');
  forms.add(bytes.toString('base64'));
  forms.add(bytes.toString('base64url'));
  for (let skip = 0; skip < 3; skip++) {
    const inner = bytes.subarray(skip, skip + Math.floor((bytes.length - skip) / 3) * 3);
    const encoded = inner.toString('base64');
    if (encoded.length >= MIN_BASE64) {
      forms.add(encoded);
      forms.add(inner.toString('base64url'));
    }
  }
  return [...forms].filter((f) => f.length >= MIN_LENGTH);
}

/** Registers a value that must never be shown, in all its forms. */
export function registerSecret(value: string | undefined | null): void {
  if (typeof value !== 'string' || value.length < MIN_LENGTH) return;
  const before = secrets.size;
  for (const form of formsOf(value)) secrets.add(form);
  if (secrets.size !== before) pattern = null;
}

/** Forgets every registered secret (tests load several configs in one process). */
export function clearSecrets(): void {
  secrets.clear();
  pattern = null;
}

/** One alternation of every form, longest first, so a longer form is masked whole. */
function secretPattern(): RegExp | null {
  if (secrets.size === 0) return null;
  pattern ??= new RegExp([...secrets].sort((a, b) => b.length - a.length).map((s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|'), 'g');
  return pattern;
}

// scheme:[//]user:password@host, with any number of slashes and a password that may hold a
// raw "@" (the last "@" before the host ends it).
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/*)([^/\s:@]*):([^\s/]*)@/gi;

export function redact(text: string): string {
  let out = text.replace(URL_CREDENTIALS, (_m, scheme: string, user: string) => `${scheme}${user}:${MASK}@`);
  const re = secretPattern();
  if (re) out = out.replace(re, MASK);
  return out;
}

/** A URL safe to show: credentials and secret query values masked. */
export function redactUrl(url: string): string {
  return redact(url);
}
