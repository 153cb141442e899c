// How a side's rows become an entity's records: the mapper a run reads each side with.
import { dottedGetter, plainGetter } from '../collectors/mapper.js';
import { RecordMapper } from '../collectors/index.js';
import { fieldsOf } from '../collectors/metrics.js';
import { systemType } from '../systems/registry.js';
import { newestWinsField } from '../reconcile/report.js';
import type { ResolvedEntity, ResolvedSide } from './config/load.js';

/** `extra`: fields to keep on the records besides the key and the compared ones (a --filter's). */
export function mapperFor(side: ResolvedSide, entity: ResolvedEntity, compareFields: string[], extra: readonly string[] = []): RecordMapper {
  return new RecordMapper({
    keyChains: entity.keyChains,
    compareFields,
    mappings: side.mappings,
    getter: systemType(side.system).capabilities.nestedFields ? dottedGetter : plainGetter,
    extraFields: [...entity.metrics.flatMap(fieldsOf), ...[newestWinsField(entity.config.conflict) ?? []].flat(), ...extra],
    rules: entity.rules,
  });
}
