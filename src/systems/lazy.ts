// Collectors, pushers and uploaders whose module is loaded when first used: a command loads
// only the client libraries of the systems it reads (a CSV compare never loads exceljs or
// axios). Each wrapper keeps its contract: the first call waits for the module.
import type { Collector, ReadOptions } from '../collectors/types.js';
import type { Page, Span } from '../core/record.js';
import type { Pusher } from '../push/types.js';
import type { AttachmentSink } from './types.js';

function once<T>(load: () => Promise<T>): { get: () => Promise<T>; loaded: () => T | null; started: () => Promise<T | null> } {
  let promise: Promise<T> | null = null;
  let value: T | null = null;
  return {
    get: () =>
      (promise ??= load().then((v) => {
        value = v;
        return v;
      })),
    loaded: () => value,
    /** What was loaded or is being loaded (for close), null when nothing was asked. */
    started: () => (promise ? promise.catch(() => null) : Promise.resolve(null)),
  };
}

export function lazyCollector(load: () => Promise<Collector>): Collector {
  const c = once(load);
  return {
    columns: async () => (await c.get()).columns(),
    async *read(options: ReadOptions): AsyncIterable<Page> {
      yield* (await c.get()).read(options);
    },
    /** Nothing when the collector cannot: the caller reads the side again in full. */
    async *readAt(options: ReadOptions, spans: readonly Span[]): AsyncIterable<Page> {
      const collector = await c.get();
      if (collector.readAt) yield* collector.readAt(options, spans);
    },
    probe: async () => (await c.get()).probe(),
    metrics: async (defs) => (await c.get()).metrics(defs),
    watermark: () => c.loaded()?.watermark() ?? null,
    segments: async (spec) => {
      const collector = await c.get();
      return collector.segments ? collector.segments(spec) : 'the system computes no segment checksums';
    },
    bytesRead: () => c.loaded()?.bytesRead?.() ?? 0,
    close: async () => {
      await (await c.started())?.close();
    },
  };
}

export function lazyPusher(load: () => Promise<Pusher>): Pusher {
  const p = once(load);
  return {
    probe: async () => (await p.get()).probe(),
    push: async (plan, run) => (await p.get()).push(plan, run),
    close: async () => {
      await (await p.started())?.close();
    },
  };
}

export function lazySink(load: () => Promise<AttachmentSink>): AttachmentSink {
  const s = once(load);
  return {
    put: async (upload, signal) => (await s.get()).put(upload, signal),
    close: async () => {
      await (await s.started())?.close();
    },
  };
}
