// What a run in progress is doing, for the status API and the progress bars: the run
// orchestrator updates it as it goes; readers only look.
export interface RunProgress {
  runId: string;
  startedAt: string;
  trigger: string;
  mode: 'incremental' | 'full';
  /** The entity being worked on, or null between entities. */
  entity: string | null;
  phase: 'starting' | 'read' | 'sync' | 'verify' | 'report' | 'done';
  /** Records read so far in the current entity (both sides). */
  recordsRead: number;
  /** Push batches the target answered so far in this run. */
  batchesSent: number;
  entitiesDone: number;
  entitiesTotal: number;
}

export function newProgress(runId: string, trigger: string, mode: 'incremental' | 'full', entitiesTotal: number): RunProgress {
  return { runId, startedAt: new Date().toISOString(), trigger, mode, entity: null, phase: 'starting', recordsRead: 0, batchesSent: 0, entitiesDone: 0, entitiesTotal };
}
