// The system contract: what one system type (sql, http, excel, csv…) tells the rest of parity
// about itself. Each type is one folder under src/systems/ exporting one SystemType; the
// registry lists them once. The agent never names a type: it asks the descriptor.
import type { z } from 'zod';
import type { CommonSideConfig, SideSpec } from '../collectors/schema.js';
import type { Collector } from '../collectors/types.js';
import type { Fail, PathPart } from '../core/config-path.js';
import type { ProbeResult } from '../core/record.js';
import type { CommonWriteConfig } from '../push/schema.js';
import type { Outbox, Pusher } from '../push/types.js';
import type { KnownSystem } from '../attachments/fetch.js';

export interface CollectorContext {
  keyChains: readonly (readonly string[])[];
  /** Relative file paths resolve against this folder (the config's). */
  baseDir: string;
  /** When the last completed run started (for an export's refresh.waitNewer). */
  lastRunAt?: Date | null;
  /** The system's runtime for this run (see SystemType.createRuntime). */
  runtime?: unknown;
}

/** What a system type can do, asked by the agent instead of naming types. */
export interface SystemCapabilities {
  /** Whether a side can read only what changed since a watermark (its `incremental` block). */
  canFilter(side: CommonSideConfig): boolean;
  /** Rows are nested documents: a field's source is a dotted path (`price.amount`). */
  nestedFields: boolean;
  /** Values may be binary (a BLOB): an attachment field that holds no URL holds the file itself. */
  binaryValues?: boolean;
  /** The system computes counts and checksums of key ranges itself: an entity with such a
   *  system on both sides is bisected (see src/reconcile/bisect.ts). */
  checksums?: boolean;
}

/** A target side to write, as its writer is given it. */
export interface WriteTarget {
  entity: string;
  side: SideSpec;
  keyChains: readonly (readonly string[])[];
  /** The compared fields when the config names them (null: the source's columns, at run time). */
  compare: readonly string[] | null;
  /** Fields that hold files: written by the writer's `uploader`, not with the record. */
  attachments: readonly string[];
  /** The write block, parsed by the writer's own schema (its defaults applied). */
  write: CommonWriteConfig & Record<string, unknown>;
  /** What the writer's `check` returned at load (hooks, say). */
  extras: unknown;
  /** How messages name the write block: "parity.yaml: entities.items.target.write". */
  where: string;
}

export interface PusherContext {
  baseDir: string;
  /** Pushers that send batches write them here first (durable, idempotent); absent for a probe. */
  outbox?: Outbox;
  runId?: string;
  runtime?: unknown;
}

export interface SystemWriter {
  /** The keys of the write block this type takes, with their defaults (common ones included). */
  schema: z.ZodType<CommonWriteConfig & Record<string, unknown>>;
  /** The type's own write keys, composed into the config schema. */
  shape: z.ZodRawShape;
  /** Checks what the schema cannot (a table to write, a hook module) and returns what the
   *  pusher needs of it. Fails the load through `fail`. */
  check(target: Omit<WriteTarget, 'extras' | 'where'>, baseDir: string, fail: Fail, at: PathPart[]): Promise<unknown>;
  create(target: WriteTarget, context: PusherContext): Pusher;
  /** Writes attachments into the target; absent: the type cannot take them (a config error). */
  uploader?(target: WriteTarget, context: PusherContext): AttachmentSink;
}

/** One file to write into the target, for one record's attachment field. */
export interface AttachmentUpload {
  /** The record's key (the local ID) and its key field values. */
  localId: string;
  keyValues: Record<string, unknown>;
  /** The target's ID of the record, from the sync ledger, when it answered one. */
  remoteId: string | undefined;
  field: string;
  body: Buffer;
  contentType: string | null;
}

/** Writes attachments into a target; `put` throws when the target did not take the file. */
export interface AttachmentSink {
  put(upload: AttachmentUpload, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** State the agent keeps per configured system and hands to its collectors and pushers. */
export interface SystemRuntime {
  /** The circuit breaker's state, for the status API; null when none was used yet. */
  readonly breakerState?: 'closed' | 'open' | 'half-open' | null;
  close(): void;
}

export interface SystemType {
  readonly type: string;
  /** The system block's schema: a strict object whose `type` is this literal. */
  readonly schema: z.ZodObject;
  /** The keys a side of this type takes besides the common ones (where it reads). */
  readonly sideShape: z.ZodRawShape;
  readonly capabilities: SystemCapabilities;
  /** Where the system is, for `parity list` (credentials are masked by the caller). */
  describe(system: { type: string }): string;
  /** Where a side reads, for `parity list`: a table, a path, a sheet; null when the system says it all. */
  describeSide(side: CommonSideConfig): string | null;
  /** Values of the system block that are secrets (masked wherever they would appear). */
  secrets(system: { type: string }): (string | undefined)[];
  /** Checks of a system block that its schema cannot express. */
  checkSystem?(system: { type: string }, at: PathPart[], fail: Fail): void;
  /** Checks of a side that its schema cannot express (a table or a query, a path). */
  checkSide(side: CommonSideConfig, system: { type: string }, at: PathPart[], systemAt: PathPart[], fail: Fail): void;
  /** What the agent keeps for the system across the entities of a run (auth, rate gate, breaker). */
  createRuntime?(name: string, system: { type: string }): Promise<SystemRuntime>;
  createCollector(side: SideSpec, context: CollectorContext): Collector;
  /** A system whose origin serves files (attachments) with its own credentials: how to fetch from it. */
  fileOrigin?(name: string, system: { type: string }, runtime?: unknown): KnownSystem;
  /** For `parity validate`: reaches the system; never throws. */
  probe(name: string, system: { type: string }, baseDir: string, runtime?: unknown): Promise<ProbeResult>;
  /** Absent: the type can only be read. */
  readonly writer?: SystemWriter;
}
