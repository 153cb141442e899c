// The one-statement check of where: and query: text, per dialect: ";" inside literals,
// identifiers and comments is fine; anywhere else it would start a second statement.
import { describe, expect, it } from 'vitest';
import { checkQuery, singleStatement } from '../../src/systems/sql/statement.js';

describe('singleStatement', () => {
  it('allows ";" inside literals, quoted names and comments', () => {
    expect(singleStatement("note = 'a;b' AND \"odd;name\" = 1 /* ; */ -- ;", 'postgres')).toEqual({ sql: "note = 'a;b' AND \"odd;name\" = 1 /* ; */ -- ;" });
    expect(singleStatement("note = 'it''s; fine'", 'sqlite').sql).toBe("note = 'it''s; fine'");
    expect(singleStatement('`weird;col` = 1 # ; mysql comment', 'mysql').sql).toBe('`weird;col` = 1 # ; mysql comment');
    expect(singleStatement('body = $tag$ ; $tag$ AND x = $$;$$', 'postgres').sql).toBe('body = $tag$ ; $tag$ AND x = $$;$$');
    expect(singleStatement('[semi;colon] = 1', 'sqlite').sql).toBe('[semi;colon] = 1');
    expect(singleStatement('/* outer /* inner ; */ still ; */ x = 1', 'postgres').sql).toBe('/* outer /* inner ; */ still ; */ x = 1');
  });

  it('refuses a second statement wherever the dialect would see one', () => {
    expect(singleStatement('1=1); DROP TABLE x; SELECT count(*) FROM y WHERE (1=1', 'postgres').problem).toMatch(/^must be one statement/);
    // MySQL reads \' as a quote inside the literal and \\ as a backslash.
    expect(singleStatement("a = 'x\\'; DROP TABLE t; -- '", 'mysql').problem).toBeUndefined();
    expect(singleStatement("a = 'x\\\\'; DROP TABLE t; -- '", 'mysql').problem).toMatch(/^must be one statement/);
    // PostgreSQL reads backslashes literally, except in E'…'.
    expect(singleStatement("a = 'x\\'; DROP TABLE t; --", 'postgres').problem).toMatch(/^must be one statement/);
    expect(singleStatement("a = E'x\\'; DROP TABLE t; -- '", 'postgres').problem).toBeUndefined();
    expect(singleStatement("a = E'x\\'; DROP TABLE t; --", 'postgres').problem).toBe('a quote is never closed');
    // "/*" nests in PostgreSQL only: in MySQL the first "*/" ends it.
    expect(singleStatement('/* a /* b */ ; DROP TABLE t; -- */', 'mysql').problem).toMatch(/^must be one statement/);
  });

  it('refuses text that never closes a quote or comment (it would swallow the wrapping)', () => {
    expect(singleStatement("a = 'open", 'sqlite').problem).toBe('a quote is never closed');
    expect(singleStatement('a = 1 /* open', 'postgres').problem).toBe('a /* comment is never closed');
    expect(singleStatement('a = $x$ open', 'postgres').problem).toBe('a dollar quote $x$ is never closed');
    expect(singleStatement('a = $1', 'postgres').problem).toBeUndefined();
  });

  it('drops one trailing ";" with only blanks and comments after it', () => {
    expect(singleStatement('SELECT 1;  -- done\n', 'postgres')).toEqual({ sql: 'SELECT 1' });
    expect(singleStatement('SELECT 1; /* x */ ', 'sqlite')).toEqual({ sql: 'SELECT 1' });
    expect(singleStatement('SELECT 1;;', 'sqlite').problem).toMatch(/^must be one statement/);
  });
});

describe('checkQuery', () => {
  it('wants one SELECT or WITH that does not say it writes', () => {
    expect(checkQuery('-- all parts\nSELECT * FROM parts', 'postgres').problem).toBeUndefined();
    expect(checkQuery("SELECT * FROM parts WHERE note = 'drop me'", 'postgres').problem).toBeUndefined();
    expect(checkQuery('UPDATE parts SET qty = 0', 'postgres').problem).toBe('must start with SELECT or WITH (a read-only query)');
    expect(checkQuery('WITH d AS (DELETE FROM parts RETURNING *) SELECT * FROM d', 'postgres').problem).toBe('must only read (it contains DELETE)');
  });
});
