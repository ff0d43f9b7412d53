/**
 * Drift between `prisma/schema.prisma` and a migrated database, without Prisma's schema
 * engine (which cannot be downloaded here): the schema is parsed into the tables, columns,
 * indexes, foreign keys and enums Prisma would create, and compared with what `pg_catalog`
 * says. The parser knows exactly the subset of PSL this project uses and throws on anything
 * else, so an unfamiliar construct can never be silently skipped.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ClientBase } from 'pg';

export const DEFAULT_SCHEMA_PATH = path.resolve(__dirname, '../../prisma/schema.prisma');

export interface ColumnShape {
  readonly type: string;
  readonly nullable: boolean;
  readonly default: string | null;
}
export interface IndexShape {
  readonly table: string;
  readonly columns: readonly string[];
  readonly unique: boolean;
  readonly primary: boolean;
}
export interface ForeignKeyShape {
  readonly table: string;
  readonly columns: readonly string[];
  readonly references: string;
  readonly onDelete: string;
  readonly onUpdate: string;
}

/** Everything compared, keyed by Postgres names. */
export interface DatabaseShape {
  readonly tables: ReadonlyMap<string, ReadonlyMap<string, ColumnShape>>;
  readonly indexes: ReadonlyMap<string, IndexShape>;
  readonly foreignKeys: ReadonlyMap<string, ForeignKeyShape>;
  readonly enums: ReadonlyMap<string, readonly string[]>;
}

const SCALARS: Record<string, string> = {
  String: 'text',
  Int: 'integer',
  BigInt: 'bigint',
  Boolean: 'boolean',
  Json: 'jsonb',
  Bytes: 'bytea',
  Float: 'double precision',
  DateTime: 'timestamp(3) without time zone',
};
const NATIVE: Record<string, (arg?: string) => string> = {
  Char: (n) => `character(${n})`,
  VarChar: (n) => `character varying(${n})`,
  Text: () => 'text',
  Timestamptz: (p = '6') => `timestamp(${p}) with time zone`,
  Timestamp: (p = '6') => `timestamp(${p}) without time zone`,
  Uuid: () => 'uuid',
  Inet: () => 'inet',
  SmallInt: () => 'smallint',
};
const ACTIONS: Record<string, string> = {
  Cascade: 'CASCADE',
  Restrict: 'RESTRICT',
  NoAction: 'NO ACTION',
  SetNull: 'SET NULL',
  SetDefault: 'SET DEFAULT',
};

class SchemaParseError extends Error {
  override readonly name = 'SchemaParseError';
}

interface Block {
  readonly kind: 'model' | 'enum';
  readonly name: string;
  readonly lines: string[];
}

function blocks(source: string): Block[] {
  const found: Block[] = [];
  const re = /^(model|enum|generator|datasource)\s+(\w+)\s*\{([\s\S]*?)^\}/gm;
  for (const match of source.matchAll(re)) {
    const [, kind, name, body] = match;
    if (kind !== 'model' && kind !== 'enum') continue;
    const lines = body!
      .split('\n')
      .map((l) => l.replace(/\/\/.*$/, '').trim())
      .filter(Boolean);
    found.push({ kind, name: name!, lines });
  }
  return found;
}

/** `@name(args)` attributes of a line, with balanced parentheses. */
function attributes(text: string): { name: string; args: string }[] {
  const out: { name: string; args: string }[] = [];
  const re = /@{1,2}([\w.]+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    let args = '';
    if (text[re.lastIndex] === '(') {
      let depth = 0;
      let i = re.lastIndex;
      for (; i < text.length; i++) {
        if (text[i] === '(') depth++;
        else if (text[i] === ')' && --depth === 0) break;
      }
      args = text.slice(re.lastIndex + 1, i);
      re.lastIndex = i + 1;
    }
    out.push({ name: m[1]!, args });
  }
  return out;
}

const list = (args: string, key?: string): string[] => {
  const source = key ? new RegExp(`${key}:\\s*\\[([^\\]]*)\\]`).exec(args)?.[1] : /^\s*\[([^\]]*)\]/.exec(args)?.[1];
  if (source === undefined) throw new SchemaParseError(`expected a field list in (${args})`);
  return source
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
};
const named = (args: string, key: string) => new RegExp(`${key}:\\s*"?(\\w+)"?`).exec(args)?.[1];

/** What Prisma Migrate would create for `source`. */
export function expectedShape(source: string): DatabaseShape {
  const all = blocks(source);
  const dbName = (b: Block) =>
    attributes(b.lines.filter((l) => l.startsWith('@@map')).join(' '))[0]?.args.replace(/"/g, '') ?? b.name;
  const enums = new Map(
    all
      .filter((b) => b.kind === 'enum')
      .map((b) => [
        b.name,
        { db: dbName(b), values: b.lines.filter((l) => !l.startsWith('@@')).map((l) => l.split(/\s+/)[0]!) },
      ]),
  );
  const models = new Map(all.filter((b) => b.kind === 'model').map((b) => [b.name, b]));
  const tables = new Map<string, Map<string, ColumnShape>>();
  const indexes = new Map<string, IndexShape>();
  const foreignKeys = new Map<string, ForeignKeyShape>();

  const fieldLine = (model: Block, field: string): string => {
    const line = model.lines.find((l) => l.split(/\s+/)[0] === field);
    if (!line) throw new SchemaParseError(`${model.name}.${field} is not a field`);
    return line;
  };
  const columnOf = (model: Block, field: string): string =>
    attributes(fieldLine(model, field))
      .find((a) => a.name === 'map')
      ?.args.replace(/"/g, '') ?? field;

  for (const model of models.values()) {
    const table = dbName(model);
    const columns = new Map<string, ColumnShape>();
    tables.set(table, columns);
    const addIndex = (fields: string[], kind: 'pkey' | 'key' | 'idx', map?: string) => {
      const cols = fields.map((f) => columnOf(model, f));
      indexes.set(map ?? `${table}_${kind === 'pkey' ? 'pkey' : `${cols.join('_')}_${kind}`}`, {
        table,
        columns: cols,
        unique: kind !== 'idx',
        primary: kind === 'pkey',
      });
    };
    for (const line of model.lines) {
      if (line.startsWith('@@')) {
        for (const attr of attributes(line)) {
          if (attr.name === 'map') continue;
          const kind = ({ id: 'pkey', unique: 'key', index: 'idx' } as const)[attr.name as 'id' | 'unique' | 'index'];
          if (!kind) throw new SchemaParseError(`unsupported block attribute @@${attr.name} in ${model.name}`);
          addIndex(list(attr.args), kind, named(attr.args, 'map'));
        }
        continue;
      }
      const m = /^(\w+)\s+(\w+)(\[\])?(\?)?\s*(.*)$/.exec(line);
      if (!m) throw new SchemaParseError(`cannot read field line "${line}" in ${model.name}`);
      const [, field, type, isList, optional, rest] = m as unknown as [
        string,
        string,
        string,
        string | undefined,
        string | undefined,
        string,
      ];
      const attrs = attributes(rest);
      if (models.has(type)) {
        const relation = attrs.find((a) => a.name === 'relation');
        if (!relation || !/fields:/.test(relation.args)) continue; // back-relation: no column
        const fields = list(relation.args, 'fields');
        const cols = fields.map((f) => columnOf(model, f));
        const optionalFk = fields.some((f) => fieldLine(model, f).split(/\s+/)[1]!.endsWith('?'));
        const onDelete = named(relation.args, 'onDelete') ?? (optionalFk ? 'SetNull' : 'Restrict');
        const onUpdate = named(relation.args, 'onUpdate') ?? 'Cascade';
        const target = models.get(type)!;
        const refs = list(relation.args, 'references').map((f) => columnOf(target, f));
        foreignKeys.set(named(relation.args, 'map') ?? `${table}_${cols.join('_')}_fkey`, {
          table,
          columns: cols,
          references: `${dbName(target)}(${refs.join(',')})`,
          onDelete: ACTIONS[onDelete]!,
          onUpdate: ACTIONS[onUpdate]!,
        });
        continue;
      }
      if (isList) throw new SchemaParseError(`scalar lists are not supported (${model.name}.${field})`);
      const enumType = enums.get(type);
      let sqlType = enumType?.db ?? SCALARS[type];
      if (!sqlType) throw new SchemaParseError(`unknown type ${type} (${model.name}.${field})`);
      let dflt: string | null = null;
      for (const attr of attrs) {
        if (attr.name.startsWith('db.')) {
          const native = NATIVE[attr.name.slice(3)];
          if (!native) throw new SchemaParseError(`unsupported native type @${attr.name} (${model.name}.${field})`);
          sqlType = native(attr.args || undefined);
        } else if (attr.name === 'default') {
          dflt =
            attr.args === 'autoincrement()'
              ? 'autoincrement'
              : attr.args === 'now()'
                ? 'now'
                : attr.args.replace(/^"(.*)"$/, '$1');
        } else if (!['map', 'id', 'unique', 'updatedAt'].includes(attr.name)) {
          throw new SchemaParseError(`unsupported attribute @${attr.name} (${model.name}.${field})`);
        }
      }
      const column = attrs.find((a) => a.name === 'map')?.args.replace(/"/g, '') ?? field;
      columns.set(column, { type: sqlType, nullable: optional === '?', default: dflt });
      if (attrs.some((a) => a.name === 'id')) addIndex([field], 'pkey');
      if (attrs.some((a) => a.name === 'unique')) addIndex([field], 'key');
    }
  }
  return { tables, indexes, foreignKeys, enums: new Map([...enums.values()].map((e) => [e.db, e.values])) };
}

/** Postgres's rendering of a default, reduced to the form expectedShape() uses. */
function normalizeDefault(expr: string | null): string | null {
  if (expr === null) return null;
  if (/^nextval\(/.test(expr)) return 'autoincrement';
  if (/^(CURRENT_TIMESTAMP|now\(\))$/i.test(expr)) return 'now';
  const literal = /^'((?:[^']|'')*)'::[\w ."]+$/.exec(expr);
  return literal ? literal[1]!.replace(/''/g, "'") : expr;
}

/** What the database connected to `client` actually has in its current schema. */
export async function actualShape(client: ClientBase): Promise<DatabaseShape> {
  const columns = await client.query<{
    table: string;
    column: string;
    type: string;
    nullable: boolean;
    default: string | null;
  }>(`
    SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
           NOT a.attnotnull AS nullable, pg_get_expr(d.adbin, d.adrelid) AS default
      FROM pg_attribute a
      JOIN pg_class c ON c.oid = a.attrelid AND c.relkind = 'r'
      JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relname <> '_prisma_migrations'`);
  const indexes = await client.query<{
    name: string;
    table: string;
    columns: string[];
    unique: boolean;
    primary: boolean;
  }>(`
    SELECT i.relname AS name, t.relname AS table, ix.indisunique AS unique, ix.indisprimary AS primary,
           array(SELECT a.attname FROM unnest(ix.indkey) WITH ORDINALITY k(attnum, ord)
                   JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord)::text[] AS columns
      FROM pg_index ix
      JOIN pg_class i ON i.oid = ix.indexrelid
      JOIN pg_class t ON t.oid = ix.indrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = current_schema()
     WHERE t.relname <> '_prisma_migrations'`);
  const fks = await client.query<{
    name: string;
    table: string;
    columns: string[];
    references: string;
    on_delete: string;
    on_update: string;
  }>(`
    SELECT con.conname AS name, t.relname AS table,
           array(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                   JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord)::text[] AS columns,
           r.relname || '(' || array_to_string(array(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
                   JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord), ',') || ')' AS references,
           con.confdeltype AS on_delete, con.confupdtype AS on_update
      FROM pg_constraint con
      JOIN pg_class t ON t.oid = con.conrelid
      JOIN pg_class r ON r.oid = con.confrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = current_schema()
     WHERE con.contype = 'f'`);
  const enums = await client.query<{ name: string; values: string[] }>(`
    SELECT t.typname AS name, array_agg(e.enumlabel ORDER BY e.enumsortorder)::text[] AS values
      FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
      JOIN pg_namespace n ON n.oid = t.typnamespace AND n.nspname = current_schema()
     GROUP BY t.typname`);
  const action: Record<string, string> = {
    a: 'NO ACTION',
    r: 'RESTRICT',
    c: 'CASCADE',
    n: 'SET NULL',
    d: 'SET DEFAULT',
  };
  const tables = new Map<string, Map<string, ColumnShape>>();
  for (const c of columns.rows) {
    if (!tables.has(c.table)) tables.set(c.table, new Map());
    tables.get(c.table)!.set(c.column, {
      type: c.type.replace(/^"(.*)"$/, '$1'),
      nullable: c.nullable,
      default: normalizeDefault(c.default),
    });
  }
  return {
    tables,
    indexes: new Map(
      indexes.rows.map((i) => [i.name, { table: i.table, columns: i.columns, unique: i.unique, primary: i.primary }]),
    ),
    foreignKeys: new Map(
      fks.rows.map((f) => [
        f.name,
        {
          table: f.table,
          columns: f.columns,
          references: f.references,
          onDelete: action[f.on_delete]!,
          onUpdate: action[f.on_update]!,
        },
      ]),
    ),
    enums: new Map(enums.rows.map((e) => [e.name, e.values])),
  };
}

const show = (value: unknown) => JSON.stringify(value);

function compareMaps<T>(
  label: (name: string) => string,
  expected: ReadonlyMap<string, T>,
  actual: ReadonlyMap<string, T>,
  out: string[],
): void {
  for (const [name, want] of expected) {
    const got = actual.get(name);
    if (got === undefined) out.push(`${label(name)}: in schema.prisma, missing from the database`);
    else if (show(got) !== show(want))
      out.push(`${label(name)}: schema.prisma has ${show(want)}, the database has ${show(got)}`);
  }
  for (const name of actual.keys())
    if (!expected.has(name)) out.push(`${label(name)}: in the database, missing from schema.prisma`);
}

/** Every difference, one line each; empty when schema and database agree. */
export function diffShapes(expected: DatabaseShape, actual: DatabaseShape): string[] {
  const out: string[] = [];
  compareMaps((name) => `enum ${name}`, expected.enums, actual.enums, out);
  const tableNames = new Set([...expected.tables.keys(), ...actual.tables.keys()]);
  for (const table of tableNames) {
    const want = expected.tables.get(table);
    const got = actual.tables.get(table);
    if (!got) out.push(`table ${table}: in schema.prisma, missing from the database`);
    else if (!want) out.push(`table ${table}: in the database, missing from schema.prisma`);
    else compareMaps((column) => `column ${table}.${column}`, want, got, out);
  }
  compareMaps((name) => `index ${name}`, expected.indexes, actual.indexes, out);
  compareMaps((name) => `foreign key ${name}`, expected.foreignKeys, actual.foreignKeys, out);
  return out;
}

export async function checkDrift(client: ClientBase, schemaPath = DEFAULT_SCHEMA_PATH): Promise<string[]> {
  return diffShapes(expectedShape(await readFile(schemaPath, 'utf8')), await actualShape(client));
}
