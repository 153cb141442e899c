// Bad configs, each a small change to a good one: what a user gets wrong on the first day.
// Each case: what it is, the change (a replacement in BASE, or text appended to a section),
// and what its one-line error must say (the path, and the words that tell what to do).
export const BASE = `version: 1
state: sqlite:state.db
systems:
  erp: { type: sql, url: "sqlite:erp.db" }
  shop:
    type: http
    baseUrl: http://127.0.0.1:9/v1
    auth: { type: bearer, token: "\${SHOP_TOKEN}" }
  sheet: { type: excel, path: stock.xlsx }
  export: { type: csv, path: export.csv }
entities:
  items:
    key: [sku]
    source:
      system: erp
      table: products
      fields: { sku: sku, name: name, price: { from: base_price, transform: decimal(2) } }
    target:
      system: shop
      path: /items
      list: items
      fields: { sku: sku, name: title, price: { from: price, transform: decimal(2) } }
      write: { path: /sync/items }
  stock:
    key: [sku, warehouse]
    dependsOn: [items]
    source: { system: sheet, sheet: Stock, fields: { sku: SKU, warehouse: WH, qty: Qty } }
    target: { system: export, fields: { sku: sku, warehouse: wh, qty: qty } }
`;

export interface BadConfig {
  name: string;
  /** [from, to] replacements applied to BASE in order; or the whole text. */
  edit: [string, string][] | string;
  /** What the line must contain (after the file and line). */
  says: (string | RegExp)[];
}

const r = (name: string, from: string, to: string, ...says: (string | RegExp)[]): BadConfig => ({ name, edit: [[from, to]], says });
const whole = (name: string, text: string, ...says: (string | RegExp)[]): BadConfig => ({ name, edit: text, says });
const ITEMS_SRC = '      table: products\n';

export const BAD_CONFIGS: BadConfig[] = [
  // The file as a whole
  whole('empty file', '', 'the config must be a mapping'),
  whole('a list, not a mapping', '- a\n- b\n', 'the config must be a mapping'),
  whole('a scalar', 'hello\n', 'the config must be a mapping'),
  whole('tabs for indentation', 'version: 1\nsystems:\n\terp: {}\n', 'invalid YAML'),
  whole('an unclosed flow mapping', 'version: 1\nsystems: { erp: { type: sql\n', 'invalid YAML'),
  whole('a duplicate key', 'version: 1\nversion: 1\n', 'invalid YAML'),
  whole('an alias without its anchor', BASE.replace('table: products', 'table: *tbl'), 'the alias *tbl has no anchor'),
  whole('invalid JSON-ish quotes', 'version: 1\nsystems: { erp: "unterminated }\n', 'invalid YAML'),
  r('no version', 'version: 1\n', '', 'version'),
  r('version 2', 'version: 1', 'version: 2', 'version: 2 is not allowed (use 1)'),
  r('version as text', 'version: 1', 'version: "1"', 'version: "1" is not allowed (use 1)'),
  r('an unknown top-level key', 'version: 1', 'version: 1\nreport: {}', 'report'),
  r('no systems', /* systems block removed */ 'systems:\n', 'sistems:\n', 'systems: required (a mapping)'),
  r('no entities', 'entities:\n', 'entitys:\n', 'entities: required (a mapping)'),
  // Systems
  r('an unknown system type', 'type: sql', 'type: oracle', 'systems.erp.type', 'unknown type "oracle"'),
  r('a system without a type', '{ type: sql, url: "sqlite:erp.db" }', '{ url: "sqlite:erp.db" }', 'systems.erp'),
  r('a database URL with an unknown scheme', 'url: "sqlite:erp.db"', 'url: "oracle://u@h/x"', 'systems.erp.url', 'unknown database scheme'),
  r('an empty database URL', 'url: "sqlite:erp.db"', 'url: ""', 'systems.erp.url'),
  r('a pageSize of 0', 'url: "sqlite:erp.db" }', 'url: "sqlite:erp.db", pageSize: 0 }', 'systems.erp.pageSize'),
  r('a pageSize too large', 'url: "sqlite:erp.db" }', 'url: "sqlite:erp.db", pageSize: 1000000 }', 'systems.erp.pageSize'),
  r('a negative statement timeout', 'url: "sqlite:erp.db" }', 'url: "sqlite:erp.db", statementTimeoutS: -1 }', 'systems.erp.statementTimeoutS'),
  r('an unknown SQL system key', 'url: "sqlite:erp.db" }', 'url: "sqlite:erp.db", password: x }', 'systems.erp', 'password'),
  r('a baseUrl that is not a URL', 'baseUrl: http://127.0.0.1:9/v1', 'baseUrl: shop.example', 'systems.shop.baseUrl'),
  r('an unknown auth type', 'auth: { type: bearer, token: "${SHOP_TOKEN}" }', 'auth: { type: kerberos }', 'systems.shop.auth'),
  r('bearer without a token', 'auth: { type: bearer, token: "${SHOP_TOKEN}" }', 'auth: { type: bearer }', 'systems.shop.auth.token'),
  r('a header auth without a name', 'auth: { type: bearer, token: "${SHOP_TOKEN}" }', 'auth: { type: header, value: "${SHOP_TOKEN}" }', 'systems.shop.auth.name'),
  r('a token endpoint with neither credential', 'auth: { type: bearer, token: "${SHOP_TOKEN}" }', 'auth: { type: token-endpoint, url: "http://127.0.0.1:9/token" }', 'systems.shop.auth', 'either username and password, or clientId and clientSecret'),
  r('a token endpoint with both credentials', 'auth: { type: bearer, token: "${SHOP_TOKEN}" }', 'auth: { type: token-endpoint, url: "http://127.0.0.1:9/token", username: u, password: "${SHOP_TOKEN}", clientId: c, clientSecret: "${SHOP_TOKEN}" }', 'systems.shop.auth', 'either username and password'),
  r('a missing environment variable', '${SHOP_TOKEN}', '${SHOP_TOKEN_NOT_SET}', 'systems.shop.auth.token', 'SHOP_TOKEN_NOT_SET is not set'),
  r('a timeout of 0', 'baseUrl: http://127.0.0.1:9/v1', 'baseUrl: http://127.0.0.1:9/v1\n    timeoutMs: 0', 'systems.shop.timeoutMs'),
  r('a negative rate limit', 'baseUrl: http://127.0.0.1:9/v1', 'baseUrl: http://127.0.0.1:9/v1\n    rateLimit: { perSecond: -2 }', 'systems.shop.rateLimit.perSecond'),
  r('a concurrency of 100', 'baseUrl: http://127.0.0.1:9/v1', 'baseUrl: http://127.0.0.1:9/v1\n    concurrency: 100', 'systems.shop.concurrency'),
  r('followRedirects: always', 'baseUrl: http://127.0.0.1:9/v1', 'baseUrl: http://127.0.0.1:9/v1\n    followRedirects: always', 'systems.shop.followRedirects'),
  r('retries as text', 'baseUrl: http://127.0.0.1:9/v1', 'baseUrl: http://127.0.0.1:9/v1\n    retry: { retries: many }', 'systems.shop.retry.retries'),
  r('an unknown breaker key', 'baseUrl: http://127.0.0.1:9/v1', 'baseUrl: http://127.0.0.1:9/v1\n    breaker: { threshold: 5 }', 'systems.shop.breaker', 'threshold'),
  r('a volumeThreshold of 0', 'baseUrl: http://127.0.0.1:9/v1', 'baseUrl: http://127.0.0.1:9/v1\n    breaker: { volumeThreshold: 0 }', 'systems.shop.breaker.volumeThreshold'),
  r('headers as a list', 'baseUrl: http://127.0.0.1:9/v1', 'baseUrl: http://127.0.0.1:9/v1\n    headers: [a, b]', 'systems.shop.headers'),
  r('an Excel system without a path', 'sheet: { type: excel, path: stock.xlsx }', 'sheet: { type: excel }', 'systems.sheet.path'),
  r('an Excel refresh without a command', 'sheet: { type: excel, path: stock.xlsx }', 'sheet: { type: excel, path: stock.xlsx, refresh: { timeoutS: 5 } }', 'systems.sheet.refresh.command'),
  r('a CSV encoding nobody has', 'export: { type: csv, path: export.csv }', 'export: { type: csv, path: export.csv, encoding: ebcdic }', 'systems.export.encoding'),
  r('a CSV quote of two characters', 'export: { type: csv, path: export.csv }', 'export: { type: csv, path: export.csv, quote: "\'\'" }', 'systems.export.quote'),
  r('a system name with a space', '  erp: { type: sql', '  "e r p": { type: sql', 'systems'),
  // Entities: keys and sides
  r('an entity without a key', '    key: [sku]\n    source:\n', '    source:\n', 'entities.items', 'needs a key'),
  r('both key and keys', '    key: [sku]\n', '    key: [sku]\n    keys: [[sku]]\n', 'entities.items.keys', 'not both'),
  r('an empty key list', 'key: [sku]\n', 'key: []\n', 'entities.items.key'),
  r('a key with a colon', 'key: [sku]\n', 'key: ["s:ku"]\n', 'entities.items.key', 'may not contain'),
  r('an unknown system', '      system: erp\n', '      system: erpp\n', 'entities.items.source.system', 'unknown system "erpp"'),
  r('a side without a system', '      system: erp\n', '', 'entities.items.source.system'),
  r('a SQL side without a table', ITEMS_SRC, '', 'entities.items.source', 'needs "table"'),
  r('a SQL side with table and query', ITEMS_SRC, ITEMS_SRC + '      query: SELECT * FROM products\n', 'entities.items.source.query', 'not both'),
  r('an HTTP key on a SQL side', ITEMS_SRC, ITEMS_SRC + '      list: items\n', 'entities.items.source.list', 'does not apply to sql system'),
  r('a SQL key on an HTTP side', '      path: /items\n', '      path: /items\n      table: items\n', 'entities.items.target.table', 'does not apply to http system'),
  r('an Excel key on a CSV side', 'target: { system: export, fields', 'target: { system: export, sheet: One, fields', 'entities.stock.target.sheet', 'does not apply to csv system'),
  r('an HTTP side without a path', '      path: /items\n', '', 'entities.items.target', 'needs "path"'),
  r('a where with a second statement', ITEMS_SRC, ITEMS_SRC + '      where: "1=1; DROP TABLE products"\n', 'entities.items.source.where'),
  r('a query that writes', ITEMS_SRC, '      query: "DELETE FROM products RETURNING sku"\n', 'entities.items.source.query'),
  r('two statements in a query', ITEMS_SRC, '      query: "SELECT 1; SELECT 2"\n', 'entities.items.source.query'),
  r('a header row of 0', 'sheet: Stock,', 'sheet: Stock, headerRow: 0,', 'entities.stock.source.headerRow'),
  r('a sheet number of 0', 'sheet: Stock,', 'sheet: 0,', 'entities.stock.source.sheet'),
  r('an unknown pagination type', '      list: items\n', '      list: items\n      pagination: { type: infinite }\n', 'entities.items.target.pagination'),
  r('a cursor pagination without nextCursor', '      list: items\n', '      list: items\n      pagination: { type: cursor }\n', 'entities.items.target.pagination.nextCursor'),
  r('a page size of 0', '      list: items\n', '      list: items\n      pagination: { type: page, size: 0 }\n', 'entities.items.target.pagination.size'),
  r('params as a list', '      list: items\n', '      list: items\n      params: [a]\n', 'entities.items.target.params'),
  r('an incremental block without a field', ITEMS_SRC, ITEMS_SRC + '      incremental: { param: since }\n', 'entities.items.source.incremental.field'),
  r('a field spec with an unknown key', 'name: name, price', 'name: { column: name }, price', 'entities.items.source.fields.name'),
  r('an unknown transform', 'transform: decimal(2) } }\n    target', 'transform: money } }\n    target', 'entities.items.source.fields.price.transform'),
  r('decimal without places', 'transform: decimal(2) } }\n    target', 'transform: decimal(x) } }\n    target', 'entities.items.source.fields.price.transform'),
  r('a key field not mapped', 'fields: { sku: sku, name: name,', 'fields: { id: sku, name: name,', 'entities.items.source.fields', 'key field "sku"'),
  r('a compare field not mapped', '    key: [sku]\n', '    key: [sku]\n    compare: [colour]\n', 'entities.items', 'colour'),
  // Entities: rules, thresholds, safety
  r('a threshold below 0', '    key: [sku]\n', '    key: [sku]\n    thresholds: { missing: -1 }\n', 'entities.items.thresholds.missing'),
  r('matchBelow over 100', '    key: [sku]\n', '    key: [sku]\n    thresholds: { matchBelow: 120 }\n', 'entities.items.thresholds.matchBelow'),
  r('an unknown threshold', '    key: [sku]\n', '    key: [sku]\n    thresholds: { drift: 3 }\n', 'entities.items.thresholds', 'drift'),
  r('maxDeleteRatio over 1', '    key: [sku]\n', '    key: [sku]\n    safety: { maxDeleteRatio: 5 }\n', 'entities.items.safety.maxDeleteRatio'),
  r('maxSourceDrop as text', '    key: [sku]\n', '    key: [sku]\n    safety: { maxSourceDrop: half }\n', 'entities.items.safety.maxSourceDrop'),
  r('an unknown conflict strategy', '    key: [sku]\n', '    key: [sku]\n    conflict: target-wins\n', 'entities.items.conflict', '"target-wins" is not valid: use source-wins, report-only or newest-wins(<field>)'),
  r('newest-wins on a field not mapped', '    key: [sku]\n', '    key: [sku]\n    conflict: newest-wins(updated_at)\n', 'entities.items.conflict', 'updated_at'),
  r('a negative tolerance', '    key: [sku]\n', '    key: [sku]\n    tolerance: { price: -0.01 }\n', 'entities.items.tolerance.price'),
  r('a tolerance on a field not mapped', '    key: [sku]\n', '    key: [sku]\n    tolerance: { weight: 0.1 }\n', 'entities.items.tolerance', 'weight'),
  r('an unknown precision', '    key: [sku]\n', '    key: [sku]\n    precision: { name: week }\n', 'entities.items.precision.name'),
  r('a bad validate pattern', '    key: [sku]\n', '    key: [sku]\n    validate: { sku: { pattern: "([" } }\n', 'entities.items.validate.sku.pattern', 'not a valid regular expression'),
  r('an empty oneOf', '    key: [sku]\n', '    key: [sku]\n    validate: { sku: { oneOf: [] } }\n', 'entities.items.validate.sku.oneOf'),
  r('a weight of 0', '    key: [sku]\n', '    key: [sku]\n    weight: 0\n', 'entities.items.weight'),
  r('a maxDurationS of 0', '    key: [sku]\n', '    key: [sku]\n    maxDurationS: 0\n', 'entities.items.maxDurationS'),
  r('emptyIsNull as a number', '    key: [sku]\n', '    key: [sku]\n    emptyIsNull: 1\n', 'entities.items.emptyIsNull'),
  r('a metric on a field not mapped', '    key: [sku]\n', '    key: [sku]\n    metrics: { value: sum(weight) }\n', 'entities.items.metrics.value', 'weight'),
  r('a metric that does not parse', '    key: [sku]\n', '    key: [sku]\n    metrics: { value: "sum(" }\n', 'entities.items.metrics.value'),
  r('dependsOn an unknown entity', '    dependsOn: [items]\n', '    dependsOn: [itemz]\n', 'entities.stock.dependsOn', 'unknown entity "itemz"'),
  r('dependsOn itself', '    dependsOn: [items]\n', '    dependsOn: [stock]\n', 'entities.stock.dependsOn', 'itself'),
  r('a dependency cycle', '    key: [sku]\n    source:\n', '    key: [sku]\n    dependsOn: [stock]\n    source:\n', 'dependsOn', 'dependency cycle'),
  r('an entity name with a slash', '  items:\n', '  "it/ems":\n', 'entities'),
  // Write blocks
  r('a write block on a source', ITEMS_SRC, ITEMS_SRC + '      write: {}\n', 'entities.items.source.write', 'a source is only read'),
  r('a write block on a CSV target', 'target: { system: export, fields: { sku: sku, warehouse: wh, qty: qty } }', 'target: { system: export, fields: { sku: sku, warehouse: wh, qty: qty }, write: {} }', 'entities.stock.target.write', 'not supported yet'),
  r('an HTTP target without write.path', 'write: { path: /sync/items }', 'write: {}', 'entities.items.target.write', 'needs "path"'),
  r('a SQL write key on an HTTP target', 'write: { path: /sync/items }', 'write: { path: /sync/items, table: items }', 'entities.items.target.write.table', 'does not apply to a http target'),
  r('an unknown delete mode', 'write: { path: /sync/items }', 'write: { path: /sync/items, delete: purge }', 'entities.items.target.write.delete'),
  r('a batch size of 0', 'write: { path: /sync/items }', 'write: { path: /sync/items, batchSize: 0 }', 'entities.items.target.write.batchSize'),
  r('a batch size over 10000', 'write: { path: /sync/items }', 'write: { path: /sync/items, batchSize: 50000 }', 'entities.items.target.write.batchSize'),
  r('a request hook that is not a hook', 'write: { path: /sync/items }', 'write: { path: /sync/items, request: hooks.ts }', 'entities.items.target.write.request', 'is not a hook'),
  r('a request hook module that is not there', 'write: { path: /sync/items }', 'write: { path: /sync/items, request: "./nope.ts#shape" }', 'entities.items.target.write.request', 'not found'),
  r('per-record without lookup', 'write: { path: /sync/items }', 'write: { mode: per-record, create: { method: POST, path: /items }, update: { method: PUT, path: "/items/{remoteId}" }, remoteId: id }', 'entities.items.target.write.lookup', 'mode: per-record needs "lookup"'),
  r('per-record update path without {remoteId}', 'write: { path: /sync/items }', 'write: { mode: per-record, create: { method: POST, path: /items }, update: { method: PUT, path: /items }, remoteId: id, lookup: { path: /items, param: sku } }', 'entities.items.target.write.update.path', 'needs {remoteId}'),
  r('per-record with a batch path', 'write: { path: /sync/items }', 'write: { mode: per-record, path: /sync/items, create: { method: POST, path: /items }, update: { method: PUT, path: "/items/{id}" }, remoteId: id, lookup: { path: /items, param: sku } }', 'entities.items.target.write.path', 'is for mode: batch'),
  r('per-record with delete: hard', 'write: { path: /sync/items }', 'write: { mode: per-record, delete: hard, create: { method: POST, path: /items }, update: { method: PUT, path: "/items/{remoteId}" }, remoteId: id, lookup: { path: /items, param: sku } }', 'entities.items.target.write.delete', 'deletes with a request'),
  r('a create request in batch mode', 'write: { path: /sync/items }', 'write: { path: /sync/items, create: { method: POST, path: /items } }', 'entities.items.target.write.create', 'is for mode: per-record'),
  r('a per-record method that is not one', 'write: { path: /sync/items }', 'write: { mode: per-record, create: { method: SEND, path: /items } }', 'entities.items.target.write.create.method'),
  // Attachments
  {
    name: 'an attachment without an upload request',
    edit: [
      ['price: { from: base_price, transform: decimal(2) } }\n    target', 'price: { from: base_price, transform: decimal(2) }, image: { from: image_url, attachment: true } }\n    target'],
      ['price: { from: price, transform: decimal(2) } }', 'price: { from: price, transform: decimal(2) }, image: image_url }'],
    ],
    says: ['entities.items.target.write.upload', 'add upload'],
  },
  r('an upload without an attachment', 'write: { path: /sync/items }', 'write: { path: /sync/items, upload: { method: PUT, path: "/items/{localId}/image" } }', 'entities.items.target.write.upload', 'no field is an attachment'),
  r('an attachment that is the key', 'fields: { sku: sku, name: name,', 'fields: { sku: { from: sku, attachment: true }, name: name,', 'entities.items.source.fields.sku', 'cannot be an attachment'),
  r('an attachment the other side does not map', 'price: { from: base_price, transform: decimal(2) } }\n    target', 'price: { from: base_price, transform: decimal(2) }, image: { from: image_url, attachment: true } }\n    target', 'entities.items.source.fields.image', 'map it on both sides'),
  r('attachment as text', 'fields: { sku: sku, name: name,', 'fields: { sku: sku, name: { from: name, attachment: yes },', 'entities.items.source.fields.name.attachment'),
  r('maxAttachmentBytes of 0', '    key: [sku]\n    source:', '    key: [sku]\n    maxAttachmentBytes: 0\n    source:', 'entities.items.maxAttachmentBytes'),
  r('verify as text', 'write: { path: /sync/items }', 'write: { path: /sync/items, verify: sometimes }', 'entities.items.target.write.verify'),
  // The rest of the file
  r('a schedule that is neither', 'version: 1', 'version: 1\nschedule: { incremental: hourly }', 'schedule.incremental'),
  r('an unknown timezone', 'version: 1', 'version: 1\nschedule: { incremental: every 1h, timezone: Moon/Base }', 'schedule.timezone', 'unknown timezone'),
  r('a bad cron', 'version: 1', 'version: 1\nschedule: { full: "61 * * * *" }', 'schedule.full'),
  r('a webhook that is not http', 'version: 1', 'version: 1\nalerts: { webhook: "mailto:ops@example.com" }', 'alerts.webhook', 'not an http(s) URL'),
  r('an unknown alert event', 'version: 1', 'version: 1\nalerts: { webhook: "http://127.0.0.1:9/h", on: [panic] }', 'alerts.on'),
  r('a server port out of range', 'version: 1', 'version: 1\nserver: { port: 70000 }', 'server.port'),
  r('bands out of order', 'version: 1', 'version: 1\nhealth: { bands: { perfect: 80, good: 95, warning: 90 } }', 'health.bands', 'perfect >= good >= warning'),
  r('an unknown report format', 'version: 1', 'version: 1\nreports: { formats: [pdf] }', 'reports.formats'),
  r('negative retention', 'version: 1', 'version: 1\nreports: { retentionDays: -3 }', 'reports.retentionDays'),
  r('a lease TTL of 0', 'version: 1', 'version: 1\nagent: { leaseTtlS: 0 }', 'agent.leaseTtlS'),
  r('a transforms module that is not there', 'version: 1', 'version: 1\ntransforms: ./nope.ts', 'transforms', 'not found'),
  r('public with a bad name', 'version: 1', 'version: 1\npublic: ["not a var"]', 'public'),
  r('state as a number', 'state: sqlite:state.db', 'state: 5', 'state'),
];
