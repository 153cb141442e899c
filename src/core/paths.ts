// Dotted paths into JSON bodies ("data.records", "page_context.has_more_page").

export function readPath(body: unknown, path: string | undefined): unknown {
  if (!path) return body;
  let v: unknown = body;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}
