// The push contract: what the push stage writes to a target, and the durable outbox it
// writes through. The agent's state store implements Outbox; push never imports the agent.

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
}
