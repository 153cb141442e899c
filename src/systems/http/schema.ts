// Config schema of an HTTP system (a paginated REST API) and of an entity side read from it.
import { z } from 'zod';
import { httpAuthSchema } from '../../core/http-auth-schema.js';
import { commonSideShape, type SideSpec } from '../../collectors/schema.js';
import { commonWriteShape } from '../../push/schema.js';

export const httpSystemSchema = z.strictObject({
  type: z.literal('http'),
  baseUrl: z.string().url(),
  auth: httpAuthSchema.default({ type: 'none' }),
  headers: z.record(z.string(), z.string()).default({}),
  query: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  /** The longest one request may take, the whole body included. */
  timeoutMs: z.number().int().positive().default(15000),
  /** none: a redirect fails the request. same-origin: redirects within baseUrl's origin are followed. */
  followRedirects: z.enum(['none', 'same-origin']).default('none'),
  /** Pages one read may fetch before it is taken for a loop. */
  maxPages: z.number().int().positive().default(100_000),
  maxResponseBytes: z.number().int().positive().default(50 * 1024 * 1024),
  rateLimit: z.strictObject({ perSecond: z.number().positive() }).optional(),
  /** Push batches in flight to this system at once. */
  concurrency: z.number().int().min(1).max(32).optional(),
  retry: z
    .strictObject({
      retries: z.number().int().min(0).default(5),
      baseMs: z.number().int().positive().default(500),
      maxMs: z.number().int().positive().default(30000),
    })
    .optional(),
  breaker: z
    .strictObject({
      errorThresholdPercentage: z.number().min(1).max(100).default(50),
      resetTimeoutMs: z.number().int().positive().default(30000),
      volumeThreshold: z.number().int().min(1).default(10),
    })
    .optional(),
});
export type HttpSystemConfig = z.infer<typeof httpSystemSchema>;

export const paginationSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('page'),
    pageParam: z.string().default('page'),
    sizeParam: z.string().default('per_page'),
    size: z.number().int().positive().default(100),
    startPage: z.number().int().min(0).default(1),
    hasMore: z.string().optional(),
  }),
  z.strictObject({
    type: z.literal('offset'),
    offsetParam: z.string().default('offset'),
    limitParam: z.string().default('limit'),
    size: z.number().int().positive().default(100),
  }),
  z.strictObject({
    type: z.literal('cursor'),
    cursorParam: z.string().default('cursor'),
    nextCursor: z.string(),
    sizeParam: z.string().optional(),
    size: z.number().int().positive().default(100),
  }),
  z.strictObject({
    type: z.literal('link'),
    sizeParam: z.string().optional(),
    size: z.number().int().positive().default(100),
  }),
]);
export type PaginationConfig = z.infer<typeof paginationSchema>;

const scalar = z.union([z.string(), z.number(), z.boolean()]);

/** Where an HTTP side reads: a list endpoint, the list in its body, how it pages. */
export const httpSideShape = {
  path: z.string().min(1).optional(),
  list: z.string().optional(),
  pagination: paginationSchema.optional(),
  params: z.record(z.string(), scalar).optional(),
};
const httpSideSchema = z.strictObject({ ...commonSideShape, ...httpSideShape });
export type HttpSideConfig = z.infer<typeof httpSideSchema>;
export type HttpSideSpec = SideSpec<HttpSystemConfig, HttpSideConfig>;

/** One request of a per-record target: its method and path ({remoteId} and {localId} are
 *  replaced by the record's, URL-encoded). */
const requestShape = z.strictObject({
  method: z.enum(['POST', 'PUT', 'PATCH', 'DELETE']),
  path: z.string().min(1),
});
export type PerRecordRequest = z.infer<typeof requestShape>;

/** An HTTP target's write block: `batch` POSTs DESIGN's wire format to a sync endpoint;
 *  `per-record` sends one create, update or delete request per record (most SaaS APIs). */
export const httpWriteShape = {
  mode: z.enum(['batch', 'per-record']).optional(),
  /** The sync endpoint (batch mode). */
  path: z.string().optional(),
  /** `./hooks.ts#name`, a function that shapes the request body for another dialect. */
  request: z.string().optional(),
  /** `./hooks.ts#name`, a function that reads the answer of another dialect into results. */
  response: z.string().optional(),
  /** Per-record mode: the request that creates a record (its answer holds the remote ID). */
  create: requestShape.optional(),
  /** Per-record mode: the request that replaces a record, by its remote ID. */
  update: requestShape.optional(),
  /** none, soft or hard (batch mode: the op the receiver is told); per-record mode: the
   *  request that deletes a record by its remote ID (deletes are off without one). */
  delete: z.union([z.enum(['none', 'soft', 'hard']), requestShape]).default('none'),
  /** Per-record mode: the field of the target's records that holds their ID (`id`, `item_id`). */
  remoteId: z.string().min(1).optional(),
  /** Per-record mode: where a record created in the answer of a create or update request is
   *  (a dotted path, `item`); the whole body when absent. */
  result: z.string().min(1).optional(),
  /** Per-record mode: how to find a record by its key before creating it again after an answer
   *  was lost: GET path?param=<key>, the records in `list` (the side's list when absent). */
  lookup: z.strictObject({ path: z.string().min(1), param: z.string().min(1), list: z.string().optional() }).optional(),
  /** The request that writes one attachment (the file as the body): {remoteId}, {localId} and
   *  {field} are replaced by the record's ID, its key and the field's name. */
  upload: z.strictObject({ method: z.enum(['PUT', 'POST', 'PATCH']), path: z.string().min(1) }).optional(),
};
export const httpWriteSchema = z.strictObject({ ...commonWriteShape, batchSize: commonWriteShape.batchSize.default(100), ...httpWriteShape, mode: httpWriteShape.mode.default('batch') });
export type HttpWriteConfig = z.infer<typeof httpWriteSchema>;
