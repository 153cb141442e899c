// Loads parity.yaml: parse (YAML or JSON), interpolate ${VAR}, validate with the schema,
// refuse what is not built yet, register the secrets, and resolve the entities into what the
// run needs (resolve.ts). Every error names file, line and path (locate.ts).
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isAlias, LineCounter, parseDocument, visit, type Alias, type Document } from 'yaml';
import { registerSecret } from '../../core/redact.js';
import { loadCustomTransforms, type CustomTransform } from '../../core/transforms.js';
import { interpolateEnv } from './env.js';
import { ConfigError, describeIssue, displayPath, locate, pickIssue, valueAt, type ConfigErrorCode } from './locate.js';
import { formatPath, type PathPart } from '../../core/config-path.js';
import { orderByDependencies, resolveEntities, resolveWrite, type ResolvedEntity } from './resolve.js';
import { configSchema, type ParityConfig } from './schema.js';
import { unsupportedPaths } from './unsupported.js';
import { parseSchedule, validTimezone } from '../schedule.js';
import { systemType } from '../../systems/registry.js';

export { ConfigError, displayPath, resolveConfigPath } from './locate.js';

/** A config is a page of YAML; anything this large is a data file passed by mistake. */
const MAX_CONFIG_BYTES = 1024 * 1024;
export { formatPath, type PathPart } from '../../core/config-path.js';
export type { ResolvedEntity, ResolvedSide } from './resolve.js';

export interface LoadedConfig {
  file: string;
  /** Relative paths in the config resolve against this folder. */
  baseDir: string;
  /** Relative state, report and log paths resolve against this folder: $PARITY_DATA_DIR
   *  when set, else the config's folder. */
  dataDir: string;
  config: ParityConfig;
  /** Entities in dependency order (prerequisites first). */
  entities: ResolvedEntity[];
  /** Variables a state-only load found unset (see LoadOptions.stateOnly). */
  unset: string[];
}

export interface LoadOptions {
  /** For commands that only read the state store and the reports (list, runs, report,
   *  status): a variable missing under systems, entities, alerts or server.token is taken as
   *  "0" (noted in `unset`) instead of failing: those commands never reach a system. */
  stateOnly?: boolean;
}

/** Where a missing variable may stand in as a placeholder for a state-only command. */
const NOT_NEEDED_FOR_STATE = (at: readonly PathPart[]) => ['systems', 'entities', 'alerts'].includes(String(at[0])) || (at[0] === 'server' && at[1] === 'token');

export async function loadConfig(configPath: string, env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): Promise<LoadedConfig> {
  const file = path.resolve(configPath);
  const shown = displayPath(file);
  if (!existsSync(file)) {
    throw new ConfigError(`${shown}: config file not found (pass --config PATH or set PARITY_CONFIG)`, 'PARITY_CONFIG_NOT_FOUND');
  }
  const stat = statSync(file);
  if (stat.isDirectory()) throw new ConfigError(`${shown}: is a folder, not a config file (pass --config PATH to the parity.yaml in it)`);
  if (stat.size > MAX_CONFIG_BYTES) {
    throw new ConfigError(`${shown}: ${(stat.size / 1024 / 1024).toFixed(1)} MB is more than a config file can be (${MAX_CONFIG_BYTES / 1024 / 1024} MB): check that --config names parity.yaml, not a data file`);
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

  const raw: unknown = toJS(doc, lines, shown);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail([], 'the config must be a mapping (version, systems, entities, …)');

  const unset = new Set<string>();
  const interpolated = interpolateEnv(raw, env, (parts, variable) => {
    if (options.stateOnly && NOT_NEEDED_FOR_STATE(parts)) {
      unset.add(variable);
      // No token at all rather than a made-up one: `parity status` then asks without one.
      return parts[0] === 'server' ? '' : '0';
    }
    return fail(parts, `environment variable ${variable} is not set (set it, or write \${${variable}:-default})`, 'PARITY_ENV_MISSING');
  });
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
  for (const [name, system] of Object.entries(config.systems)) systemType(system).checkSystem?.(system, ['systems', name], fail);
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
  const where = (parts: readonly PathPart[]) => `${locate(shown, doc, lines, parts)}: ${formatPath(parts)}`;
  for (const entity of entities) await resolveWrite(entity, path.dirname(file), fail, where);
  registerConfigSecrets(config);

  const dataDir = env.PARITY_DATA_DIR ? path.resolve(env.PARITY_DATA_DIR) : path.dirname(file);
  return { file, baseDir: path.dirname(file), dataDir, config, entities: orderByDependencies(entities, config, fail), unset: [...unset] };
}

/** The document as plain values; an alias without its anchor is a YAML error at its line. */
function toJS(doc: Document, lines: LineCounter, shown: string): unknown {
  const anchors = new Set<string>();
  let dangling: Alias | null = null;
  // Document order: an alias refers to an anchor set before it.
  visit(doc, {
    Node(_, node) {
      if (isAlias(node)) {
        if (!anchors.has(node.source) && !dangling) dangling = node;
      } else if (node.anchor) anchors.add(node.anchor);
    },
  });
  const alias = dangling as Alias | null;
  if (alias) {
    const at = alias.range ? lines.linePos(alias.range[0]) : null;
    throw new ConfigError(`${shown}${at ? `:${at.line}:${at.col}` : ''}: invalid YAML: the alias *${alias.source} has no anchor &${alias.source} before it (define the anchor first, or write the value out)`);
  }
  return doc.toJS();
}

/** Secrets written into the config itself (not from the environment) are masked too. */
function registerConfigSecrets(config: ParityConfig): void {
  registerSecret(config.server?.token);
  registerSecret(config.alerts?.webhook);
  for (const system of Object.values(config.systems)) for (const secret of systemType(system).secrets(system)) registerSecret(secret);
}
