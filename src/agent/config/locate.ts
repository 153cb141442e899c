// Where the config is, and how its errors are worded: file and line of a path, the most
// specific of zod's issues in plain words.
import path from 'node:path';
import { isNode, type Document, type LineCounter } from 'yaml';
import type { z } from 'zod';
import { ParityError } from '../../core/errors.js';
import type { PathPart } from '../../core/config-path.js';

export type ConfigErrorCode = 'PARITY_CONFIG_INVALID' | 'PARITY_CONFIG_NOT_FOUND' | 'PARITY_CONFIG_UNSUPPORTED' | 'PARITY_ENV_MISSING';

export class ConfigError extends ParityError {
  constructor(message: string, code: ConfigErrorCode = 'PARITY_CONFIG_INVALID') {
    super(code, message);
  }
}

/** Where a path is in the file, as "file:line", falling back to the nearest parent that exists. */
export function locate(file: string, doc: Document | undefined, lines: LineCounter | undefined, parts: readonly PathPart[]): string {
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

export type Issue = z.core.$ZodIssue;

/** The most specific issue: for a union, the branch's own issue rather than "invalid input". */
export function pickIssue(issues: readonly Issue[]): Issue {
  const first = issues[0]!;
  if (first.code === 'invalid_union' && 'errors' in first && first.errors.length > 0) {
    // The branch that took the value's kind (text, or a mapping) says what is wrong inside it.
    const took = first.errors.filter((branch) => branch.length > 0 && !(branch[0]!.code === 'invalid_type' && branch[0]!.path.length === 0));
    const branch = first.errors.length === 1 ? first.errors[0]! : took.length === 1 ? took[0]! : null;
    if (branch && branch.length > 0) {
      const inner = pickIssue(branch);
      return { ...inner, path: [...first.path, ...inner.path] };
    }
  }
  return first;
}

export function valueAt(root: unknown, parts: readonly PathPart[]): unknown {
  let v = root;
  for (const p of parts) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[p as string];
  }
  return v;
}

/** zod's type names as a config's reader says them. */
const KIND_WORDS: Record<string, string> = { record: 'a mapping', object: 'a mapping', array: 'a list', string: 'text', number: 'a number', boolean: 'true or false', null: 'null' };

export function describeIssue(issue: Issue, value: unknown): string {
  const shown = typeof value === 'string' ? `"${value}"` : JSON.stringify(value);
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (check the spelling: README.md, "Configuration", lists every key)`;
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
      const expected = KIND_WORDS[issue.expected] ?? issue.expected;
      return received === 'undefined' ? `required (${expected})` : `expected ${expected}${received ? `, got ${KIND_WORDS[received] ?? received}` : ''}`;
    }
    case 'invalid_format':
      // A pattern the schema explains itself ("use source-wins, …") says so; others name the format.
      if (issue.format === 'regex' && issue.message && !issue.message.startsWith('Invalid')) return `${shown} is not valid: ${issue.message}`;
      return `${shown} is not a valid ${issue.format === 'url' ? 'URL' : issue.format}`;
    case 'invalid_value':
      return `${shown} is not allowed (use ${issue.values.map((v) => String(v)).join(', ')})`;
    default:
      return issue.message;
  }
}
