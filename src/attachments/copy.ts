// What the diff says about an entity's attachments (which files the target lacks or holds in
// another version), and the copy of those files into the target once the records are pushed:
// fetched from the source, written through the target's uploader, counted. A copy that fails
// is not recorded anywhere: the next run finds the file still differing and copies it then,
// so a crash between the record and its file loses nothing.
import pLimit from 'p-limit';
import type { NormalizedRecord } from '../core/record.js';
import { describeError } from '../core/errors.js';
import type { ChangedRecord } from '../reconcile/types.js';
import type { AttachmentSink } from '../systems/types.js';
import { digestOf, shownUrl } from './fetch.js';
import { isDigest, sourceValueField, TOO_LARGE, type AttachmentResolver, type SideCoverage } from './resolve.js';

export interface AttachmentFieldReport {
  field: string;
  source: SideCoverage;
  target: SideCoverage;
  /** Records whose source has a file the target lacks (the record itself may be missing too). */
  missing: number;
  /** Records where both sides have a file and the content differs. */
  different: number;
  /** Files written into the target by this run. */
  copied: number;
  /** Files that differ but were not copied: too large, unreadable, or the upload failed. */
  notCopied: number;
}

export interface AttachmentReport {
  fields: AttachmentFieldReport[];
  /** Files fetched in full this run, and files a server said had not changed (304). */
  downloaded: number;
  revalidated: number;
  /** The first reasons a file could not be read or copied. */
  problems: string[];
}

export interface AttachmentCopy {
  key: string;
  keyValues: Record<string, unknown>;
  field: string;
  /** What the source holds: a URL, or a blob's base64 (a SQL source). */
  value: string;
  blob: boolean;
}

export interface AttachmentPlan {
  report: AttachmentReport;
  copies: AttachmentCopy[];
  resolver: AttachmentResolver;
}

const MAX_PROBLEMS = 20;

/** `changed`: the changed records whose source version wins (the push sends them). */
export function planAttachments(resolver: AttachmentResolver, missing: readonly NormalizedRecord[], changed: readonly ChangedRecord[], keyFields: readonly string[], sourceBlobs: boolean): AttachmentPlan {
  const report: AttachmentReport = {
    fields: resolver.fields.map((field) => ({ field, source: resolver.coverage.source[field]!, target: resolver.coverage.target[field]!, missing: 0, different: 0, copied: 0, notCopied: 0 })),
    downloaded: 0,
    revalidated: 0,
    problems: [...resolver.problems],
  };
  const copies: AttachmentCopy[] = [];
  const consider = (source: NormalizedRecord, target: NormalizedRecord | null) => {
    report.fields.forEach((r) => {
      const s = source.fields[r.field];
      const t = target ? target.fields[r.field] : null;
      if (s === null || s === undefined || s === t) return;
      if (t === null || t === undefined) r.missing++;
      else r.different++;
      if (isDigest(s)) {
        const value = String(source.fields[sourceValueField(r.field)] ?? '');
        copies.push({ key: source.key, keyValues: Object.fromEntries(keyFields.map((f) => [f, source.fields[f]])), field: r.field, value, blob: sourceBlobs && !/^https?:\/\//i.test(value) });
      } else {
        r.notCopied++;
        if (report.problems.length < MAX_PROBLEMS) report.problems.push(`${source.key} ${r.field}: not copied, ${s === TOO_LARGE ? `larger than maxAttachmentBytes (${resolver.fetcher.maxBytes} bytes)` : 'the source file could not be read'}`);
      }
    });
  };
  for (const r of missing) consider(r, null);
  for (const c of changed) consider(c.source, c.target);
  return { report, copies, resolver };
}

/**
 * Copies the files of the records the push delivered. `delivered` holds the keys the target
 * took; `remoteIds` the target's IDs of them. Counts into the plan's report.
 */
export async function copyAttachments(plan: AttachmentPlan, sink: AttachmentSink, delivered: ReadonlySet<string>, remoteIds: ReadonlyMap<string, string>, signal?: AbortSignal): Promise<void> {
  const byField = new Map(plan.report.fields.map((r) => [r.field, r]));
  const limit = pLimit(4);
  const fail = (copy: AttachmentCopy, reason: string) => {
    byField.get(copy.field)!.notCopied++;
    if (plan.report.problems.length < MAX_PROBLEMS) plan.report.problems.push(`${copy.key} ${copy.field}: not copied, ${reason}`);
  };
  await Promise.all(
    plan.copies.map((copy) =>
      limit(async () => {
        if (signal?.aborted) return;
        if (!delivered.has(copy.key)) return fail(copy, 'the record was not written to the target in this run');
        let body: Buffer;
        let contentType: string | null = null;
        if (copy.blob) {
          body = Buffer.from(copy.value, 'base64');
        } else {
          const got = await plan.resolver.fetcher.body(copy.value, signal);
          if (got.status === 'too-large') return fail(copy, `larger than maxAttachmentBytes (${plan.resolver.fetcher.maxBytes} bytes)`);
          if (got.status === 'unreadable') return fail(copy, got.error);
          body = got.body!;
          contentType = got.contentType;
        }
        try {
          await sink.put({ localId: copy.key, keyValues: copy.keyValues, remoteId: remoteIds.get(copy.key), field: copy.field, body, contentType }, signal);
          byField.get(copy.field)!.copied++;
        } catch (err) {
          fail(copy, `${digestOf(body).slice(0, 19)}… from ${copy.blob ? 'a blob' : shownUrl(copy.value)}: ${describeError(err)}`);
        }
      }),
    ),
  );
}
