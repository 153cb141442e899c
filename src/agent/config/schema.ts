// The config file's schema (DESIGN, "Config file"). Config types are inferred from it.
// Systems, sides and write blocks are composed from the registered system types.
import { z } from 'zod';
import type { CommonSideConfig } from '../../collectors/schema.js';
import type { CommonWriteConfig } from '../../push/schema.js';
import { anySideSchema, systemSchema } from '../../systems/registry.js';
import { DEFAULT_BANDS } from '../../reconcile/score.js';

/** Where the status API listens when the config has no `server` block. */
export const DEFAULT_SERVER = { host: '127.0.0.1', port: 8787, token: undefined as string | undefined };

const name = z.string().regex(/^[A-Za-z_][\w.-]*$/, 'use letters, digits, "_", "-" or "."');

/** A side as parsed: the common keys typed, its type's own keys checked and used by its type. */
export type SideConfig = CommonSideConfig & { write?: (CommonWriteConfig & Record<string, unknown>) | undefined } & Record<string, unknown>;
export const sideSchema = anySideSchema as unknown as z.ZodType<SideConfig>;

const count = z.number().int().min(0);

export const entitySchema = z.strictObject({
  key: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  keys: z.array(z.array(z.string().min(1)).min(1)).min(1).optional(),
  source: sideSchema,
  target: sideSchema,
  compare: z.array(z.string().min(1)).min(1).optional(),
  metrics: z.record(z.string(), z.union([z.string().min(1), z.strictObject({ expr: z.string().min(1), by: z.string().min(1).optional() })])).optional(),
  thresholds: z
    .strictObject({ missing: count.optional(), changed: count.optional(), extra: count.optional(), matchBelow: z.number().min(0).max(100).optional() })
    .optional(),
  safety: z.strictObject({ maxDeleteRatio: z.number().min(0).max(1).optional(), maxSourceDrop: z.number().min(0).max(1).optional() }).optional(),
  dependsOn: z.array(z.string()).default([]),
  conflict: z
    .string()
    .regex(/^(source-wins|report-only|newest-wins\(\s*[\w.]+\s*\))$/, 'use source-wins, report-only or newest-wins(<field>)')
    .default('source-wins'),
  tolerance: z.record(z.string(), z.number().min(0)).optional(),
  /** Empty text counts as null: for every field (true) or these. */
  emptyIsNull: z.union([z.boolean(), z.array(z.string().min(1))]).default(false),
  /** Dates compared at this precision. */
  precision: z.record(z.string(), z.enum(['day', 'hour', 'minute', 'second', 'millisecond'])).optional(),
  validate: z
    .record(
      z.string(),
      z.strictObject({
        required: z.boolean().optional(),
        pattern: z.string().optional(),
        min: z.number().optional(),
        max: z.number().optional(),
        oneOf: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1).optional(),
      }),
    )
    .optional(),
  weight: z.number().positive().default(1),
  /** A rolling window: only records whose `field` is within the `last` days (d), hours (h) or
   *  weeks (w) are compared; `param`, when set, sends the window's start to HTTP sides. */
  window: z
    .strictObject({ field: z.string().min(1), last: z.string().regex(/^\d+[hdw]$/, 'a length such as 90d, 12h or 8w'), param: z.string().min(1).optional() })
    .optional(),
  /** Both sides SQL tables: compare counts and checksums of key ranges in the databases and
   *  read only the ranges that differ (false: always read every record). */
  bisection: z.boolean().default(true),
  /** A differing segment is cut into this many parts… */
  bisectionFactor: z.number().int().min(2).max(1000).default(32),
  /** …until it holds at most this many rows; then its rows are read and diffed. */
  bisectionThreshold: z.number().int().positive().default(10_000),
  /** The largest attachment compared or copied; a larger one is reported, not copied. */
  maxAttachmentBytes: z.number().int().positive().default(20 * 1024 * 1024),
  /** The longest the entity may take, read to push; past it, it fails and the run goes on. */
  maxDurationS: z.number().positive().default(3600),
});

const bandsSchema = z
  .strictObject({ perfect: z.number().min(0).max(100).default(DEFAULT_BANDS.perfect), good: z.number().min(0).max(100).default(DEFAULT_BANDS.good), warning: z.number().min(0).max(100).default(DEFAULT_BANDS.warning) })
  .refine((b) => b.perfect >= b.good && b.good >= b.warning, 'bands must satisfy perfect >= good >= warning');

export const configSchema = z.strictObject({
  version: z.literal(1, { error: 'version must be 1' }),
  state: z.string().min(1).optional(),
  reports: z
    .strictObject({
      dir: z.string().min(1).default('reports'),
      retentionDays: z.number().int().min(0).default(30),
      formats: z.array(z.enum(['json', 'md', 'html'])).min(1).default(['json', 'md', 'html']),
    })
    .default({ dir: 'reports', retentionDays: 30, formats: ['json', 'md', 'html'] }),
  /** Each run's JSON log lines also go to a file in `dir`: one file a day, or one a run. */
  logs: z
    .strictObject({
      dir: z.string().min(1).default('logs'),
      retentionDays: z.number().int().min(0).default(30),
      rotate: z.enum(['day', 'run']).default('day'),
    })
    .optional(),
  server: z
    .strictObject({ host: z.string().default(DEFAULT_SERVER.host), port: z.number().int().min(0).max(65535).default(DEFAULT_SERVER.port), token: z.string().optional() })
    .optional(),
  schedule: z
    .strictObject({ incremental: z.string().optional(), full: z.string().optional(), timezone: z.string().default('UTC'), runOnStart: z.boolean().optional() })
    .optional(),
  alerts: z
    .strictObject({ webhook: z.string().optional(), on: z.array(z.enum(['critical', 'degraded', 'failed', 'recovered'])).default(['critical', 'failed', 'recovered']) })
    .optional(),
  /** The daemon: how long an entity's lease lasts, how long shutdown may wait for the current batch. */
  agent: z.strictObject({ leaseTtlS: z.number().positive().default(30), shutdownTimeoutS: z.number().positive().default(30) }).default({ leaseTtlS: 30, shutdownTimeoutS: 30 }),
  health: z.strictObject({ bands: bandsSchema.default(DEFAULT_BANDS) }).default({ bands: DEFAULT_BANDS }),
  transforms: z.string().optional(),
  /** Environment variables whose values may be shown (a port, a host name). Every other value
   *  taken from the environment is masked wherever it would appear. */
  public: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name')).default([]),
  systems: z.record(name, systemSchema),
  entities: z.record(name, entitySchema),
});

export type ParityConfig = z.infer<typeof configSchema>;
export type { SystemConfig } from '../../systems/registry.js';
export type EntityConfig = z.infer<typeof entitySchema>;
export type Bands = ParityConfig['health']['bands'];
