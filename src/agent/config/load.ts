// Loads parity.yaml: parse (YAML or JSON), interpolate ${VAR}, validate with the schema,
// check what the schema cannot (names that refer to each other), refuse what is not built
// yet, and resolve the entities into what the run needs. Every error names file, line, path.
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import type { z } from 'zod';
import { ParityError } from '../../core/errors.js';
import { registerSecret } from '../../core/redact.js';
import { loadCustomTransforms, parseTransforms, TransformSpecError, type CustomTransform } from '../../core/transforms.js';
import { sortedFields } from '../../core/canonical.js';
import type { FieldMapping } from '../../collectors/mapper.js';
import { fieldsOf, MetricSpecError, parseMetric, type MetricDef } from '../../collectors/metrics.js';
import type { SideSpec } from '../../collectors/schema.js';
import type { FieldRules } from '../../collectors/rules.js';
import { configSchema, type EntityConfig, type ParityConfig, type SideConfig, type SystemConfig } from './schema.js';
import { interpolateEnv } from './env.js';
import { unsupportedPaths } from './unsupported.js';
import { parseSchedule, validTimezone } from '../schedule.js';
import { exportedFunction, importUserModule } from '../../core/modules.js';
import type { PushHooks } from '../../push/http/hooks.js';
import { checkQuery, singleStatement } from '../../collectors/sql/statement.js';
import { parseDatabaseUrl, type SqlDialect } from '../../core/sql.js';

export type PathPart = string | number;

export interface ResolvedSide extends SideSpec {
  config: SideConfig;
  /** The target's request hooks (`write.request`, `write.response`), loaded. */
  hooks?: PushHooks;
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
  config: EntityConfig;
}

export interface LoadedConfig {
  file: string;
  /** Relative paths in the config resolve against this folder. */
  baseDir: string;
  config: ParityConfig;
  /** Entities in dependency order (prerequisites first). */
  entities: ResolvedEntity[];
}

type ConfigErrorCode = 'PARITY_CONFIG_INVALID' | 'PARITY_CONFIG_NOT_FOUND' | 'PARITY_CONFIG_UNSUPPORTED' | 'PARITY_ENV_MISSING';

export class ConfigError extends ParityError {
  constructor(message: string, code: ConfigErrorCode = 'PARITY_CONFIG_INVALID') {
    super(code, message);
  }
}

export function formatPath(parts: readonly PathPart[]): string {
  return parts.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('') || '(top level)';
}

/** Where a path is in the file, as "file:line", falling back to the nearest parent that exists. */
function locate(file: string, doc: Document | undefined, lines: LineCounter | undefined, parts: readonly PathPart[]): string {
  if (!doc || !lines) return file;
  for (let n = parts.length; n >= 0; n--) {
    const node = doc.getIn(parts.slice(0, n), true);
    if (isNode(node) && node.range) {
      // For a key that exists, point at its value's line; the pair's key line is one earlier at most.
      return `${file}:${lines.linePos(node.range[0]).line}`;
    }
  }
  return file;
}

/** A path as the user would type it: relative below the working folder, absolute elsewhere. */
export function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

export function resolveConfigPath(explicit?: string): string {
  return path.resolve(explicit || process.env.PARITY_CONFIG || 'parity.yaml');
}

export async function loadConfig(configPath: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  const file = path.resolve(configPath);
  const shown = displayPath(file);
  if (!existsSync(file)) {
    throw new ConfigError(`${shown}: config file not found (pass --config PATH or set PARITY_CONFIG)`, 'PARITY_CONFIG_NOT_FOUND');
  }
  const text = readFileSync(file, 'utf8');
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const at = lines.linePos(e.pos[0]);
    const where = `${shown}:${at.line}:${at.col}`;
    const first = e.message.split('\n')[0];
    throw new ConfigError(`${where}: invalid YAML: ${first}`);
  }
  const fail = (parts: readonly PathPart[], message: string, code?: ConfigErrorCode): never => {
    throw new ConfigError(`${locate(shown, doc, lines, parts)}: ${formatPath(parts)}: ${message}`, code);
  };

  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail([], 'the config must be a mapping (version, systems, entities, …)');

  const interpolated = interpolateEnv(raw, env, (parts, variable) =>
    fail(parts, `environment variable ${variable} is not set (set it, or write \${${variable}:-default})`, 'PARITY_ENV_MISSING'),
  );
  // Masked from here on, so that not even a config error can show one.
  const declaredPublic = (raw as { public?: unknown }).public;
  const publicVars = new Set(Array.isArray(declaredPublic) ? declaredPublic.map(String) : []);
  for (const { variable, value } of interpolated.fromEnv) if (!publicVars.has(variable)) registerSecret(value);

  const parsed = configSchema.safeParse(interpolated.value);
  if (!parsed.success) {
    const issue = pickIssue(parsed.error.issues);
    fail(issue.path as PathPart[], describeIssue(issue, valueAt(interpolated.value, issue.path as PathPart[])));
  }
  const config = parsed.data!;

  const unsupported = unsupportedPaths(config);
  if (unsupported.length > 0) {
    const [first] = unsupported;
    fail(first!.path, `not supported yet: ${formatPath(first!.path)}${first!.detail ? ` (${first!.detail})` : ''}`, 'PARITY_CONFIG_UNSUPPORTED');
  }

  if (config.schedule) {
    const tz = config.schedule.timezone;
    if (!validTimezone(tz)) fail(['schedule', 'timezone'], `unknown timezone "${tz}" (use an IANA name such as UTC or Europe/Berlin)`);
    for (const k of ['incremental', 'full'] as const) {
      const text = config.schedule[k];
      if (text === undefined) continue;
      const spec = parseSchedule(text, tz);
      if (typeof spec === 'string') fail(['schedule', k], spec);
    }
  }
  if (config.alerts?.webhook) {
    try {
      const u = new URL(config.alerts.webhook);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http');
    } catch {
      fail(['alerts', 'webhook'], 'is not an http(s) URL');
    }
  }
  for (const [name, system] of Object.entries(config.systems)) {
    if (system.type === 'http' && system.auth.type === 'token-endpoint') {
      const a = system.auth;
      const password = a.username !== undefined && a.password !== undefined;
      const client = a.clientId !== undefined && a.clientSecret !== undefined;
      if (password === client) fail(['systems', name, 'auth'], 'a token-endpoint needs either username and password, or clientId and clientSecret');
    }
  }
  let custom: Record<string, CustomTransform> = {};
  if (config.transforms) {
    const modulePath = path.resolve(path.dirname(file), config.transforms);
    if (!existsSync(modulePath)) fail(['transforms'], `module ${config.transforms} not found (looked for ${modulePath})`);
    try {
      custom = await loadCustomTransforms(modulePath);
    } catch (err) {
      fail(['transforms'], `module ${config.transforms} could not be loaded: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
  const entities = resolveEntities(config, custom, fail);
  for (const entity of entities) await resolveWrite(entity, path.dirname(file), fail);
  registerConfigSecrets(config);

  return { file, baseDir: path.dirname(file), config, entities: orderByDependencies(entities, config, fail) };
}

type Issue = z.core.$ZodIssue;

/** The most specific issue: for a union, the branch's own issue rather than "invalid input". */
function pickIssue(issues: readonly Issue[]): Issue {
  const first = issues[0]!;
  if (first.code === 'invalid_union' && 'errors' in first && first.errors.length > 0) {
    const nested = first.errors.flat();
    if (nested.length > 0 && first.errors.length === 1) {
      const inner = pickIssue(nested);
      return { ...inner, path: [...first.path, ...inner.path] };
    }
  }
  return first;
}

function valueAt(root: unknown, parts: readonly PathPart[]): unknown {
  let v = root;
  for (const p of parts) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[p as string];
  }
  return v;
}

function describeIssue(issue: Issue, value: unknown): string {
  const shown = typeof value === 'string' ? `"${value}"` : JSON.stringify(value);
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (check the spelling against DESIGN's config)`;
    case 'invalid_union':
      if ('note' in issue && issue.note === 'No matching discriminator') {
        const discriminator = 'discriminator' in issue ? String(issue.discriminator) : 'type';
        const options = 'options' in issue && Array.isArray(issue.options) ? ` (use ${issue.options.join(', ')})` : '';
        const given = typeof value === 'object' && value !== null ? valueAt(value, [discriminator]) : value;
        return given === undefined ? `needs "${discriminator}"${options}` : `unknown ${discriminator} "${String(given)}"${options}`;
      }
      return issue.message;
    case 'invalid_type': {
      const received = /received (\w+)/.exec(issue.message)?.[1];
      return received === 'undefined' ? `required (${issue.expected})` : `expected ${issue.expected}${received ? `, got ${received}` : ''}`;
    }
    case 'invalid_format':
      return `${shown} is not a valid ${issue.format === 'url' ? 'URL' : issue.format}`;
    case 'invalid_value':
      return `${shown} is not allowed (use ${issue.values.map((v) => String(v)).join(', ')})`;
    default:
      return issue.message;
  }
}

/** Secrets written into the config itself (not from the environment) are masked too. */
function registerConfigSecrets(config: ParityConfig): void {
  registerSecret(config.server?.token);
  registerSecret(config.alerts?.webhook);
  for (const system of Object.values(config.systems)) {
    if (system.type === 'http') {
      const a = system.auth;
      if (a.type === 'bearer') registerSecret(a.token);
      if (a.type === 'header') registerSecret(a.value);
      if (a.type === 'token-endpoint') {
        registerSecret(a.password);
        registerSecret(a.clientSecret);
      }
      if (a.type === 'oauth2-refresh') {
        registerSecret(a.clientSecret);
        registerSecret(a.refreshToken);
      }
    }
    if (system.type === 'sql') {
      // The password runs to the last "@" before the host, and may be written with any number of slashes.
      const m = /^[a-z][a-z0-9+.-]*:\/*[^:/@]*:([^\s/]+)@/i.exec(system.url);
      if (m) {
        registerSecret(m[1]!);
        try {
          registerSecret(decodeURIComponent(m[1]!));
        } catch {
          // Not percent-encoded as a whole: the raw form is registered.
        }
      }
    }
  }
}

type Fail = (parts: readonly PathPart[], message: string) => never;

function resolveEntities(config: ParityConfig, custom: Record<string, CustomTransform>, fail: Fail): ResolvedEntity[] {
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
    const newest = /^newest-wins\(\s*([\w.]+)\s*\)$/.exec(entity.conflict)?.[1];
    if (newest && !mapped(newest)) fail([...at, 'conflict'], `"${newest}" is not a field of this entity (map it on both sides)`);
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
    const rules: FieldRules = { emptyIsNull: entity.emptyIsNull, precision: entity.precision ?? {}, validate: entity.validate ?? {} };
    out.push({ name, keyChains, keyFields, compare, source, target, metrics, rules, tolerances: entity.tolerance ?? {}, config: entity });
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
  const allowed: Record<SystemConfig['type'], (keyof SideConfig)[]> = {
    sql: ['table', 'where', 'query', 'pageBy'],
    http: ['path', 'list', 'pagination', 'params'],
    excel: ['sheet', 'headerRow'],
    csv: ['headerRow'],
  };
  const locationKeys: (keyof SideConfig)[] = ['table', 'where', 'query', 'pageBy', 'path', 'list', 'pagination', 'params', 'sheet', 'headerRow'];
  for (const k of locationKeys) {
    if (side[k] !== undefined && !allowed[sys.type].includes(k)) {
      fail([...at, k], `"${k}" does not apply to ${sys.type} system "${side.system}" (use ${allowed[sys.type].join(', ')})`);
    }
  }
  if (sys.type === 'sql' && !side.table && !side.query) fail(at, `a sql side needs "table" (or "query")`);
  if (sys.type === 'sql' && side.table && side.query) fail([...at, 'query'], `use either "table" or "query", not both`);
  if (sys.type === 'sql') checkSqlText(sys.url, side, [...at], ['systems', side.system, 'url'], fail);
  if (sys.type === 'http' && !side.path) fail(at, `an http side needs "path" (the list endpoint, e.g. /items)`);

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

/** A SQL side's `where:` and `query:` are one statement each, in the system's dialect. */
function checkSqlText(url: string, side: SideConfig, at: PathPart[], urlAt: PathPart[], fail: Fail): void {
  let dialect: SqlDialect;
  try {
    dialect = parseDatabaseUrl(url, '.').dialect;
  } catch (err) {
    return fail(urlAt, err instanceof ParityError ? err.message : String(err));
  }
  if (side.where !== undefined) {
    const checked = singleStatement(side.where, dialect);
    if (checked.problem !== undefined) fail([...at, 'where'], `${checked.problem} (a where clause is one condition)`);
  }
  if (side.query !== undefined) {
    const checked = checkQuery(side.query, dialect);
    if (checked.problem !== undefined) fail([...at, 'query'], checked.problem);
  }
}

/** Checks a target's write block against its system and loads its request hooks. */
async function resolveWrite(entity: ResolvedEntity, baseDir: string, fail: Fail): Promise<void> {
  const { target } = entity;
  const write = target.config.write;
  if (!write) return;
  const at = ['entities', entity.name, 'target', 'write'];
  if (target.system.type === 'http') {
    if (!write.path) fail(at, 'an http target needs "path" to sync into (the sync endpoint, e.g. /sync/items)');
    for (const k of ['table', 'softDeleteColumn', 'softDeleteValue'] as const) if (write[k] !== undefined) fail([...at, k], `"${k}" applies to SQL targets only`);
    const hooks: PushHooks = {};
    for (const k of ['request', 'response'] as const) {
      const spec = write[k];
      if (spec === undefined) continue;
      const m = /^(.+)#([A-Za-z_$][\w$]*)$/.exec(spec);
      if (!m) fail([...at, k], `"${spec}" is not a hook (use ./hooks.ts#functionName)`);
      const modulePath = path.resolve(baseDir, m![1]!);
      if (!existsSync(modulePath)) fail([...at, k], `module ${m![1]} not found (looked for ${modulePath})`);
      let fn: unknown;
      try {
        fn = exportedFunction(await importUserModule(modulePath), m![2]!);
      } catch (err) {
        fail([...at, k], `module ${m![1]} could not be loaded: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      }
      if (typeof fn !== 'function') fail([...at, k], `module ${m![1]} exports no function "${m![2]}"`);
      hooks[k] = fn as never;
    }
    target.hooks = hooks;
  } else if (target.system.type === 'sql') {
    if (write.path !== undefined) fail([...at, 'path'], '"path" applies to HTTP targets only (a SQL target takes "table")');
    for (const k of ['request', 'response'] as const) if (write[k] !== undefined) fail([...at, k], 'request hooks shape HTTP requests; a SQL target writes rows');
    if (!write.table && !target.config.table) fail(at, 'a SQL target read through "query" needs write.table: the table to write');
    if (entity.keyChains.length > 1) fail(['entities', entity.name, 'keys'], 'a SQL target is written by one key (the unique index the upsert uses), not a fallback chain');
    const dotted = target.mappings?.find((m) => m.from.includes('.') && entity.keyFields.includes(m.name));
    if (dotted) fail(['entities', entity.name, 'target', 'fields', dotted.name], `"${dotted.from}" is not a column of the table`);
  }
}

/** Prerequisites first; a cycle is a config error naming it. Order is otherwise the file's. */
function orderByDependencies(entities: ResolvedEntity[], config: ParityConfig, fail: Fail): ResolvedEntity[] {
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
