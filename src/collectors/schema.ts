// Config schema of the read part of an entity's side that every system type shares, and
// what a collector is given about its side. Each system type's own keys are in its folder
// (src/systems/<type>/schema.ts); the registry composes them.
import { z } from 'zod';
import type { FieldMapping } from './mapper.js';

export const fieldSpecSchema = z.union([
  z.string().min(1),
  z.strictObject({
    from: z.string().min(1).optional(),
    transform: z.string().optional(),
    /** The field holds a file (a URL, or a blob): compared by the content's hash, copied on push. */
    attachment: z.boolean().optional(),
  }),
]);

/** A file system's refresh: a command that updates the export before it is read (in the
 *  config's folder), then, with waitNewer, a wait until the file is newer than the last run. */
export const refreshSchema = z.strictObject({
  command: z.string().min(1),
  timeoutS: z.number().positive().default(120),
  waitNewer: z.boolean().default(false),
});

/** The keys every side takes, whatever its system; each system type adds where it reads
 *  (a table, a path, a sheet) in its own schema. The push stage adds `write`. */
export const commonSideShape = {
  system: z.string().min(1),
  fields: z.record(z.string(), fieldSpecSchema).optional(),
  incremental: z.strictObject({ field: z.string().min(1), param: z.string().optional() }).optional(),
};
const commonSideSchema = z.strictObject(commonSideShape);
export type CommonSideConfig = z.infer<typeof commonSideSchema>;

/** What a collector needs to know about its side, resolved from the config. */
export interface SideSpec<S extends { type: string } = { type: string }, C extends CommonSideConfig = CommonSideConfig> {
  role: 'source' | 'target';
  systemName: string;
  system: S;
  config: C;
  /** null when the side has no `fields`: its columns are the entity's field names. */
  mappings: FieldMapping[] | null;
}
