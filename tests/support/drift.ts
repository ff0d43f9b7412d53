/**
 * Drift between `prisma/schema.prisma` and a migrated database, without Prisma's schema
 * engine (which cannot be downloaded here): Prisma's own parser (its schema WebAssembly, see
 * ./prisma-schema.ts) turns the schema into the DMMF, from which this file derives the tables,
 * columns, indexes, foreign keys and enums Prisma Migrate would create, and compares them with
 * what `pg_catalog` says. Anything in the DMMF that this file cannot translate into Postgres
 * terms throws, so an unfamiliar construct can never be silently skipped.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { DMMF } from '@prisma/client/runtime/client';
import type { ClientBase } from 'pg';
import { getDatamodel, SchemaParseError } from './prisma-schema';

export const DEFAULT_SCHEMA_PATH = path.resolve(__dirname, '../../prisma/schema.prisma');

export interface ColumnShape {
  readonly type: string;
  readonly nullable: boolean;
  readonly default: string | null;
}
export interface IndexShape {
  readonly table: string;
  /** Column names, each followed by " DESC" when the index sorts it descending. */
  readonly columns: readonly string[];
  readonly unique: boolean;
  readonly primary: boolean;
  /** Postgres's access method name (btree, hash, gin, ...). */
  readonly method: string;
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
/** The DMMF's index algorithm names (absent means BTree) as Postgres names its access methods. */
const METHODS: Record<string, string> = {
  BTree: 'btree',
  Hash: 'hash',
  Gist: 'gist',
  Gin: 'gin',
  SpGist: 'spgist',
  Brin: 'brin',
};
/** Index suffixes of Prisma's default constraint names. */
const SUFFIXES: Record<DMMF.IndexType, string | undefined> = {
  id: 'pkey',
  unique: 'key',
  normal: 'idx',
  fulltext: undefined,
};

/** What Prisma Migrate would create for `source`. */
export function expectedShape(source: string): DatabaseShape {
  const datamodel = getDatamodel(source);
  const enumsByName = new Map(datamodel.enums.map((e) => [e.name, e]));
  const modelsByName = new Map(datamodel.models.map((m) => [m.name, m]));
  const tableOf = (model: DMMF.Model) => model.dbName ?? model.name;
  const fieldOf = (model: DMMF.Model, name: string): DMMF.Field => {
    const field = model.fields.find((f) => f.name === name);
    if (!field) throw new SchemaParseError(`${model.name}.${name} is not a field`);
    return field;
  };
  const columnOf = (model: DMMF.Model, name: string) => fieldOf(model, name).dbName ?? name;

  const sqlType = (model: DMMF.Model, field: DMMF.Field): string => {
    const where = `${model.name}.${field.name}`;
    if (field.kind === 'enum') {
      const dmmfEnum = enumsByName.get(field.type)!;
      return dmmfEnum.dbName ?? dmmfEnum.name;
    }
    if (field.kind !== 'scalar') throw new SchemaParseError(`unsupported field kind ${field.kind} (${where})`);
    if (field.nativeType) {
      const [name, args] = field.nativeType;
      const native = NATIVE[name];
      if (!native) throw new SchemaParseError(`unsupported native type @db.${name} (${where})`);
      return native(args[0]);
    }
    const scalar = SCALARS[field.type];
    if (!scalar) throw new SchemaParseError(`unknown type ${field.type} (${where})`);
    return scalar;
  };
  /** The default in the form normalizeDefault() reduces Postgres's rendering to. */
  const sqlDefault = (model: DMMF.Model, field: DMMF.Field): string | null => {
    // Only a scalar list has a list default, and lists are refused before this is called.
    const value = field.default as DMMF.FieldDefault | DMMF.FieldDefaultScalar | undefined;
    if (value === undefined) return null;
    if (typeof value === 'object') {
      if (value.name === 'autoincrement' || value.name === 'now') return value.name;
      throw new SchemaParseError(`unsupported default ${value.name}() (${model.name}.${field.name})`);
    }
    if (field.kind === 'enum')
      return enumsByName.get(field.type)!.values.find((v) => v.name === value)?.dbName ?? String(value);
    return String(value);
  };

  const tables = new Map<string, Map<string, ColumnShape>>();
  const foreignKeys = new Map<string, ForeignKeyShape>();
  for (const model of datamodel.models) {
    const table = tableOf(model);
    const columns = new Map<string, ColumnShape>();
    tables.set(table, columns);
    for (const field of model.fields) {
      if (field.kind === 'object') {
        const from = field.relationFromFields ?? [];
        if (from.length === 0) continue; // the back side of a relation has no column
        const target = modelsByName.get(field.type)!;
        const cols = from.map((f) => columnOf(model, f));
        const optionalFk = from.some((f) => !fieldOf(model, f).isRequired);
        // The DMMF leaves out a relation's `map:`, so a foreign key is expected under Prisma's default
        // name; one renamed in schema.prisma shows up as drift rather than passing unseen.
        foreignKeys.set(`${table}_${cols.join('_')}_fkey`, {
          table,
          columns: cols,
          references: `${tableOf(target)}(${(field.relationToFields ?? []).map((f) => columnOf(target, f)).join(',')})`,
          onDelete: ACTIONS[field.relationOnDelete ?? (optionalFk ? 'SetNull' : 'Restrict')]!,
          onUpdate: ACTIONS[field.relationOnUpdate ?? 'Cascade']!,
        });
        continue;
      }
      if (field.isList) throw new SchemaParseError(`scalar lists are not supported (${model.name}.${field.name})`);
      columns.set(field.dbName ?? field.name, {
        type: sqlType(model, field),
        nullable: !field.isRequired,
        default: sqlDefault(model, field),
      });
    }
  }

  const indexes = new Map<string, IndexShape>();
  for (const index of datamodel.indexes) {
    const model = modelsByName.get(index.model)!;
    const table = tableOf(model);
    const suffix = SUFFIXES[index.type];
    const method = METHODS[index.algorithm ?? 'BTree'];
    if (!suffix || !method) throw new SchemaParseError(`unsupported ${index.type} index on ${index.model}`);
    const columns = index.fields.map((f) => {
      if (f.operatorClass || f.length) throw new SchemaParseError(`unsupported index field options on ${index.model}`);
      return `${columnOf(model, f.name)}${f.sortOrder === 'desc' ? ' DESC' : ''}`;
    });
    const plain = index.fields.map((f) => columnOf(model, f.name));
    indexes.set(index.dbName ?? (suffix === 'pkey' ? `${table}_pkey` : `${table}_${plain.join('_')}_${suffix}`), {
      table,
      columns,
      unique: index.type !== 'normal',
      primary: index.type === 'id',
      method,
    });
  }

  const enums = new Map(datamodel.enums.map((e) => [e.dbName ?? e.name, e.values.map((v) => v.dbName ?? v.name)]));
  return { tables, indexes, foreignKeys, enums };
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
    method: string;
  }>(`
    SELECT i.relname AS name, t.relname AS table, ix.indisunique AS unique, ix.indisprimary AS primary,
           am.amname AS method,
           array(SELECT a.attname || CASE WHEN k.option & 1 = 1 THEN ' DESC' ELSE '' END
                   FROM unnest(ix.indkey::int2[], ix.indoption::int2[]) WITH ORDINALITY k(attnum, option, ord)
                   JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord)::text[] AS columns
      FROM pg_index ix
      JOIN pg_class i ON i.oid = ix.indexrelid
      JOIN pg_am am ON am.oid = i.relam
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
      indexes.rows.map((i) => [
        i.name,
        { table: i.table, columns: i.columns, unique: i.unique, primary: i.primary, method: i.method },
      ]),
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
