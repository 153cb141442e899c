// The system types parity knows, listed once. Adding a type is a folder under src/systems/
// exporting a SystemType, and one line here.
import { z } from 'zod';
import { commonSideShape } from '../collectors/schema.js';
import { commonWriteShape } from '../push/schema.js';
import { csvSystem } from './csv/index.js';
import { excelSystem } from './excel/index.js';
import { httpSystem } from './http/index.js';
import { sqlSystem } from './sql/index.js';
import type { CollectorContext, SystemType } from './types.js';
import type { SideSpec } from '../collectors/schema.js';
import type { Collector } from '../collectors/types.js';

export const SYSTEM_TYPES: readonly SystemType[] = [sqlSystem, httpSystem, excelSystem, csvSystem];

export type { SystemType, SystemWriter, SystemRuntime, WriteTarget, PusherContext, CollectorContext } from './types.js';

const byType = new Map(SYSTEM_TYPES.map((t) => [t.type, t]));

/** The descriptor of a configured system (its type was checked by the config schema). */
export function systemType(system: { type: string }): SystemType {
  const t = byType.get(system.type);
  if (!t) throw new Error(`no system type "${system.type}" is registered`);
  return t;
}

/** Creates the collector of a side; no I/O happens until it is used. */
export function createCollector(side: SideSpec, context: CollectorContext): Collector {
  return systemType(side.system).createCollector(side, context);
}

/** The types that can be written, for messages. */
export function writableTypes(): string[] {
  return SYSTEM_TYPES.filter((t) => t.writer).map((t) => t.type);
}

type SystemSchemas = [z.ZodObject, ...z.ZodObject[]];
/** A system block: one of the registered types, told apart by `type`. */
export const systemSchema = z.discriminatedUnion('type', SYSTEM_TYPES.map((t) => t.schema) as SystemSchemas) as unknown as z.ZodType<SystemConfig>;
export type SystemConfig = { type: string } & Record<string, unknown>;

/** Every key any type's side takes: the config is parsed with this; the keys that do not apply
 *  to the side's type are refused when the entity is resolved (SystemType.sideShape). */
export const sideKeysShape: z.ZodRawShape = Object.assign({}, ...SYSTEM_TYPES.map((t) => t.sideShape));
/** Every key any writer's block takes, likewise. */
export const writeKeysShape: z.ZodRawShape = Object.assign({}, ...SYSTEM_TYPES.flatMap((t) => (t.writer ? [t.writer.shape] : [])));

export const anyWriteSchema = z.strictObject({ ...commonWriteShape, batchSize: commonWriteShape.batchSize.optional(), ...writeKeysShape });
export const anySideSchema = z.strictObject({ ...commonSideShape, ...sideKeysShape, write: anyWriteSchema.optional() });
