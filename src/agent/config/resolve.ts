// Resolves the validated config into what a run needs: each entity's key chains, sides
// (system, mappings, transforms), compared fields, metrics and rules, its write block with
// hooks loaded, and the entities in dependency order. Checks what the schema cannot.
import { sortedFields } from '../../core/canonical.js';
import { parseTransforms, TransformSpecError, type CustomTransform } from '../../core/transforms.js';
import type { FieldMapping } from '../../collectors/mapper.js';
import { fieldsOf, MetricSpecError, parseMetric, type MetricDef } from '../../collectors/metrics.js';
import type { FieldRules } from '../../collectors/rules.js';
import { commonSideShape, type SideSpec } from '../../collectors/schema.js';
import { commonWriteShape } from '../../push/schema.js';
import { systemType, writableTypes, type WriteTarget } from '../../systems/registry.js';
import { newestWinsField } from '../../reconcile/report.js';
import type { Fail, PathPart } from '../../core/config-path.js';
import type { EntityConfig, ParityConfig, SideConfig, SystemConfig } from './schema.js';

export interface ResolvedSide extends SideSpec<SystemConfig, SideConfig> {
  /** A target with a write block: what its system's writer is created from. */
  writer?: WriteTarget;
}

export interface ResolvedEntity {
  name: string;
  /** Key fallback chains; one chain for an ordinary key. */
  keyChains: string[][];
  /** Every field of every chain. */
  keyFields: string[];
  /** Sorted compared fields, or null to take the source's columns (less the key) at run time. */
  compare: string[] | null;
  source: ResolvedSide;
  target: ResolvedSide;
  metrics: MetricDef[];
  rules: FieldRules;
  tolerances: Record<string, number>;
  /** Fields that hold files (`attachment: true` on either side): compared by content hash. */
  attachments: string[];
  config: EntityConfig;
}


export function resolveEntities(config: ParityConfig, custom: Record<string, CustomTransform>, fail: Fail): ResolvedEntity[] {
  const out: ResolvedEntity[] = [];
  for (const [name, entity] of Object.entries(config.entities)) {
    const at = ['entities', name];
    if (!entity.key && !entity.keys) fail(at, 'needs a key (key: [field] or key: [a, b])');
    if (entity.key && entity.keys) fail([...at, 'keys'], 'use either "key" or "keys", not both');
    const keyChains = entity.keys ?? [typeof entity.key === 'string' ? [entity.key] : entity.key!];
    const keyFields = [...new Set(keyChains.flat())];
    for (const f of keyFields) if (f.includes(':') || f.includes('+')) fail([...at, entity.keys ? 'keys' : 'key'], `key field "${f}" may not contain ":" or "+"`);

    const sides = (['source', 'target'] as const).map((role) => resolveSide(config, entity, role, [...at, role], keyFields, custom, fail));
    const [source, target] = sides as [ResolvedSide, ResolvedSide];

    let compare: string[] | null = null;
    if (entity.compare) {
      for (const side of sides) {
        if (!side.mappings) continue;
        const mapped = new Set(side.mappings.map((m) => m.name));
        const missing = entity.compare.filter((f) => !mapped.has(f));
        if (missing.length) fail([...at, side.role, 'fields'], `compare field ${missing.map((f) => `"${f}"`).join(', ')} is not mapped (add ${missing[0]}: <column>)`);
      }
      compare = sortedFields(entity.compare.filter((f) => !keyFields.includes(f)));
    } else if (source.mappings || target.mappings) {
      const names = (s: ResolvedSide) => (s.mappings ? new Set(s.mappings.map((m) => m.name)) : null);
      const s = names(source);
      const t = names(target);
      const both = [...(s ?? t!)].filter((f) => (s ? s.has(f) : true) && (t ? t.has(f) : true));
      compare = sortedFields(both.filter((f) => !keyFields.includes(f)));
    }
    for (const dep of entity.dependsOn) {
      if (!config.entities[dep]) fail([...at, 'dependsOn'], `unknown entity "${dep}"`);
      if (dep === name) fail([...at, 'dependsOn'], 'an entity cannot depend on itself');
    }
    const metrics = Object.entries(entity.metrics ?? {}).map(([metricName, spec]) => {
      let def: MetricDef;
      try {
        def = parseMetric(metricName, spec);
      } catch (err) {
        if (err instanceof MetricSpecError) fail([...at, 'metrics', metricName], err.message);
        throw err;
      }
      for (const side of sides) {
        const unmapped = side.mappings ? fieldsOf(def!).filter((f) => !side.mappings!.some((m) => m.name === f)) : [];
        if (unmapped.length) fail([...at, 'metrics', metricName], `uses field "${unmapped[0]}", which ${side.role} does not map (add it to entities.${name}.${side.role}.fields)`);
      }
      return def!;
    });
    const mapped = (f: string) => sides.every((side) => !side.mappings || side.mappings.some((m) => m.name === f));
    const newest = newestWinsField(entity.conflict);
    if (newest && !mapped(newest)) fail([...at, 'conflict'], `"${newest}" is not a field of this entity (map it on both sides)`);
    if (entity.window && !mapped(entity.window.field)) fail([...at, 'window', 'field'], `"${entity.window.field}" is not a field of this entity (map it on both sides)`);
    const named: [string, string[]][] = [
      ['tolerance', Object.keys(entity.tolerance ?? {})],
      ['precision', Object.keys(entity.precision ?? {})],
      ['validate', Object.keys(entity.validate ?? {})],
      ['emptyIsNull', Array.isArray(entity.emptyIsNull) ? entity.emptyIsNull : []],
    ];
    for (const [option, fields] of named) {
      const unknown = fields.find((f) => !mapped(f));
      if (unknown) fail([...at, option], `"${unknown}" is not a field of this entity (map it in fields)`);
    }
    for (const [field, rule] of Object.entries(entity.validate ?? {})) {
      if (rule.pattern !== undefined) {
        try {
          new RegExp(rule.pattern);
        } catch (err) {
          fail([...at, 'validate', field, 'pattern'], `not a valid regular expression: ${(err as Error).message}`);
        }
      }
    }
    const attachments = sortedFields(sides.flatMap((side) => Object.entries(side.config.fields ?? {}).filter(([, spec]) => typeof spec === 'object' && spec.attachment).map(([f]) => f)));
    for (const f of attachments) {
      const where = [...at, sides.find((side) => typeof side.config.fields?.[f] === 'object')!.role, 'fields', f];
      if (keyFields.includes(f)) fail(where, `key field "${f}" cannot be an attachment`);
      if (!mapped(f)) fail(where, `attachment "${f}" is not a field of the other side (map it on both sides)`);
      if (compare && !compare.includes(f)) fail(where, `attachment "${f}" is not compared (add it to compare)`);
    }
    const rules: FieldRules = { emptyIsNull: entity.emptyIsNull, precision: entity.precision ?? {}, validate: entity.validate ?? {} };
    out.push({ name, keyChains, keyFields, compare, source, target, metrics, rules, tolerances: entity.tolerance ?? {}, attachments, config: entity });
  }
  return out;
}

function resolveSide(config: ParityConfig, entity: EntityConfig, role: 'source' | 'target', at: PathPart[], keyFields: string[], custom: Record<string, CustomTransform>, fail: Fail): ResolvedSide {
  const side = entity[role];
  const system = config.systems[side.system];
  if (!system) {
    const known = Object.keys(config.systems);
    fail([...at, 'system'], `unknown system "${side.system}"${known.length ? ` (systems: ${known.join(', ')})` : ''}`);
  }
  const sys = system!;
  const type = systemType(sys);
  const own = new Set([...Object.keys(commonSideShape), 'write', ...Object.keys(type.sideShape)]);
  for (const k of Object.keys(side)) {
    if (side[k] !== undefined && !own.has(k)) {
      fail([...at, k], `"${k}" does not apply to ${sys.type} system "${side.system}" (use ${Object.keys(type.sideShape).join(', ') || 'fields, incremental'})`);
    }
  }
  type.checkSide(side, sys, at, ['systems', side.system], fail);

  let mappings: FieldMapping[] | null = null;
  if (side.fields) {
    mappings = Object.entries(side.fields).map(([name, spec]) => {
      const from = typeof spec === 'string' ? spec : spec.from ?? name;
      const text = typeof spec === 'string' ? '' : spec.transform ?? '';
      try {
        return { name, from, transforms: parseTransforms(text, custom) };
      } catch (err) {
        if (err instanceof TransformSpecError) fail([...at, 'fields', name, 'transform'], err.message);
        throw err;
      }
    });
    const mapped = new Set(mappings.map((m) => m.name));
    for (const k of keyFields) {
      if (!mapped.has(k)) fail([...at, 'fields'], `key field "${k}" is not in the mapping (add ${k}: <column>)`);
    }
  }
  return { role, systemName: side.system, system: sys, config: side, mappings };
}

/** Checks a target's write block against its system's writer: its own keys and defaults
 *  (parsed by the writer's schema), and what the writer checks itself (a table, hooks). */
export async function resolveWrite(entity: ResolvedEntity, baseDir: string, fail: Fail, where: (parts: readonly PathPart[]) => string): Promise<void> {
  const { target } = entity;
  const write = target.config.write;
  if (!write) return;
  const at = ['entities', entity.name, 'target', 'write'];
  const writer = systemType(target.system).writer;
  if (!writer) return fail(at, `not supported yet: pushing to a ${target.system.type} target (${writableTypes().join(' and ')} targets can be written)`, 'PARITY_CONFIG_UNSUPPORTED');
  const own = new Set([...Object.keys(commonWriteShape), ...Object.keys(writer.shape)]);
  const others = writableTypes().filter((t) => t !== target.system.type);
  for (const k of Object.keys(write)) {
    if (write[k] !== undefined && !own.has(k)) fail([...at, k], `"${k}" does not apply to a ${target.system.type} target${others.length ? ` (it is a key of ${others.join(', ')} targets)` : ''}`);
  }
  const parsed = writer.schema.safeParse(write);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    fail([...at, ...(issue.path as PathPart[])], issue.message);
  }
  const spec = { entity: entity.name, side: target, keyChains: entity.keyChains, compare: entity.compare, attachments: entity.attachments, write: parsed.data! };
  if (entity.attachments.length && !writer.uploader) fail(at, `a ${target.system.type} target cannot take attachments (${entity.attachments.join(', ')}): remove attachment: true, or write without a write block`, 'PARITY_CONFIG_UNSUPPORTED');
  const extras = await writer.check(spec, baseDir, fail, at);
  target.writer = { ...spec, extras, where: where(at) };
}

/** Prerequisites first; a cycle is a config error naming it. Order is otherwise the file's. */
export function orderByDependencies(entities: ResolvedEntity[], config: ParityConfig, fail: Fail): ResolvedEntity[] {
  const byName = new Map(entities.map((e) => [e.name, e]));
  const done = new Set<string>();
  const visiting: string[] = [];
  const out: ResolvedEntity[] = [];
  const visit = (name: string) => {
    if (done.has(name)) return;
    const at = visiting.indexOf(name);
    if (at >= 0) {
      const cycle = [...visiting.slice(at), name];
      fail(['entities', cycle[0]!, 'dependsOn'], `dependency cycle: ${cycle.join(' -> ')}`);
    }
    visiting.push(name);
    for (const dep of config.entities[name]?.dependsOn ?? []) visit(dep);
    visiting.pop();
    done.add(name);
    out.push(byName.get(name)!);
  };
  for (const e of entities) visit(e.name);
  return out;
}
