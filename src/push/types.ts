// The push contract: what a system's pusher is given and answers, what goes on the wire,
// and the durable outbox a pusher may write through. The agent's state store implements
// Outbox; push never imports the agent.
import type { Logger } from 'pino';
import type { NormalizedRecord, ProbeResult, SyncCounts } from '../core/record.js';

export type PushOp = 'upsert' | 'delete';

/** One record of a batch, as DESIGN's wire format sends it. */
export interface PushRecord {
  localId: string;
  op: PushOp;
  hash?: string;
  data?: Record<string, unknown>;
}

/** Per-record answer of the target. */
export type RecordStatus = 'created' | 'updated' | 'unchanged' | 'deleted' | 'rejected';

export interface RecordOutcome {
  localId: string;
  status: RecordStatus;
  /** The hash that was sent (null for a delete). */
  hash: string | null;
  remoteId?: string | undefined;
  error?: string | undefined;
}

/** A batch frozen in the outbox before it is sent: re-sending it sends these exact bytes. */
export interface OutboxBatch {
  batchId: string;
  entity: string;
  system: string;
  idempotencyKey: string;
  /** The request body, as sent. */
  payload: string;
  records: number;
  attempts: number;
  notBefore: Date | null;
}

/**
 * The durable outbox. Rules: a batch is added before it is sent; `complete` records the
 * target's answer (the sync ledger) and marks the batch done in one transaction, so a crash
 * between sending and recording re-sends the batch with its original key, and the target
 * answers it again without applying it twice.
 */
export interface Outbox {
  /** Batches of the entity not yet answered, oldest first. */
  pending(entity: string): Promise<OutboxBatch[]>;
  add(batch: OutboxBatch): Promise<void>;
  /** Adds many batches in one transaction: all or none. */
  addAll(batches: readonly OutboxBatch[]): Promise<void>;
  complete(batch: OutboxBatch, outcomes: readonly RecordOutcome[], runId: string): Promise<void>;
  retryLater(batch: OutboxBatch, error: string, notBefore: Date | null): Promise<void>;
  quarantine(batch: OutboxBatch, reason: string): Promise<void>;
  /** Records the target rejected, by local ID, with the hash that was rejected. */
  rejected(entity: string): Promise<Map<string, string>>;
  /** The target's IDs of these records, as its answers gave them (the sync ledger). */
  remoteIds(entity: string, localIds: readonly string[]): Promise<Map<string, string>>;
}

/** What the run decided to send to one entity's target. */
export interface PushPlan {
  /** Source records the target lacks (exists: false) or holds in another version. */
  upserts: { record: NormalizedRecord; exists: boolean }[];
  /** Target records the source lacks (only when the write block deletes). */
  deletes: NormalizedRecord[];
  /** The compared fields: what an upsert writes besides the key. */
  compareFields: string[];
}

export interface PushResult extends SyncCounts {
  /** Records the target refused, with its reason. */
  rejections: { localId: string; error: string }[];
  /** Whole batches the target refused (quarantined, not re-sent until they change), with the reason. */
  quarantined: string[];
  /** The records of those batches, each with its batch's reason. */
  quarantinedRecords: { localId: string; error: string }[];
  /** Why part of the push waits for a later run (a breaker open, a connection lost), or null. */
  deferred: string | null;
  /** Each key the target now holds as sent: the hash it should show, or null for a delete. */
  delivered: Map<string, string | null>;
}

export interface PushRun {
  log: Logger;
  /** Aborts what is in flight (a shutdown past its deadline, an entity past its time). */
  signal?: AbortSignal | undefined;
  /** When it returns true (the agent drains), nothing new is sent: the rest stays for a later run. */
  draining?: (() => boolean) | undefined;
  /** Called after each batch or chunk the target answered. */
  onBatch?: (() => void) | undefined;
}

/**
 * Writes one entity's difference into its target. Rules: `push` never throws for a record the
 * target refuses (it is a rejection) or for a failure that says nothing about the records
 * (they stay pending, `deferred` says why); it throws for what the user must fix (a missing
 * table or index). `probe` is for `parity validate` and never throws.
 */
export interface Pusher {
  probe(): Promise<ProbeResult[]>;
  push(plan: PushPlan, run: PushRun): Promise<PushResult>;
  close(): Promise<void>;
}

export function emptyPushResult(): PushResult {
  return { created: 0, updated: 0, deleted: 0, unchanged: 0, rejected: 0, pending: 0, rejections: [], quarantined: [], quarantinedRecords: [], deferred: null, delivered: new Map() };
}
