// One comparable description of a relational schema, built two ways: from Prisma's DMMF (what
// schema.prisma says Prisma Migrate would create) and from the Postgres catalog (what the
// migrations did create). The migration test asserts the two are equal, so schema.prisma and
// the hand-written SQL cannot drift apart. Names follow Prisma's default constraint naming.
import type { DMMF } from "@prisma/client/runtime/client";
import type { SqlExecutor } from "./sql-executor.js";

export interface ColumnShape {
  type: string;
  nullable: boolean;
  /** The default as Postgres prints it (pg_get_expr), or null when there is none. */
  default: string | null;
}

export interface IndexShape {
  columns: string[];
  unique: boolean;
}

export interface ForeignKeyShape {
  columns: string[];
  referencedTable: string;
  referencedColumns: string[];
  onDelete: string;
  onUpdate: string;
}

export interface TableShape {
  columns: Record<string, ColumnShape>;
  primaryKey: { name: string; columns: string[] } | null;
  /** Every index except the primary key's, by name. */
  indexes: Record<string, IndexShape>;
  foreignKeys: Record<string, ForeignKeyShape>;
}

export interface SchemaShape {
  /** Enum type name → its values in declaration order. */
  enums: Record<string, string[]>;
  tables: Record<string, TableShape>;
}

/** Stands for a database default whose exact text we do not predict (dbgenerated). */
export const anyDefault = "<any database default>";

const postgresMaxIdentifierLength = 63;

const scalarTypes: Record<string, string> = {
  String: "text",
  Int: "integer",
  BigInt: "bigint",
  Float: "double precision",
  Decimal: "numeric(65,30)",
  Boolean: "boolean",
  DateTime: "timestamp(3) without time zone",
  Json: "jsonb",
  Bytes: "bytea",
};

const referentialActions: Record<string, string> = {
  Cascade: "CASCADE",
  Restrict: "RESTRICT",
  NoAction: "NO ACTION",
  SetNull: "SET NULL",
  SetDefault: "SET DEFAULT",
};

// ---------------------------------------------------------------------------------------------
// From the DMMF
// ---------------------------------------------------------------------------------------------

export function expectedSchemaShape(datamodel: DMMF.Datamodel): SchemaShape {
  const enumDbNames = new Map(datamodel.enums.map((e) => [e.name, e.dbName ?? e.name]));
  const tableNames = new Map(datamodel.models.map((m) => [m.name, m.dbName ?? m.name]));

  const enums: Record<string, string[]> = {};
  for (const enumType of datamodel.enums) {
    enums[enumType.dbName ?? enumType.name] = enumType.values.map((value) => value.dbName ?? value.name);
  }

  const tables: Record<string, TableShape> = {};
  for (const model of datamodel.models) {
    const table = tableNames.get(model.name) ?? model.name;
    const columnOf = (fieldName: string): string => {
      const field = model.fields.find((candidate) => candidate.name === fieldName);
      if (!field) throw new Error(`${model.name} has no field ${fieldName}`);
      return field.dbName ?? field.name;
    };

    const columns: Record<string, ColumnShape> = {};
    const foreignKeys: Record<string, ForeignKeyShape> = {};
    for (const field of model.fields) {
      if (field.kind === "object") {
        const foreignKey = expectedForeignKey(datamodel, model, field, table, tableNames, columnOf);
        if (foreignKey) foreignKeys[foreignKey.name] = foreignKey.shape;
        continue;
      }
      if (field.kind === "unsupported")
        throw new Error(`${model.name}.${field.name}: Unsupported types are not checked`);
      const column = field.dbName ?? field.name;
      columns[column] = {
        type: expectedColumnType(field, enumDbNames),
        // Prisma Migrate creates scalar lists (String[]) as nullable array columns.
        nullable: !field.isRequired || field.isList,
        default: expectedDefault(field, table, column, enumDbNames),
      };
    }

    let primaryKey: TableShape["primaryKey"] = null;
    const indexes: Record<string, IndexShape> = {};
    for (const index of datamodel.indexes.filter((candidate) => candidate.model === model.name)) {
      const indexColumns = index.fields.map((field) => columnOf(field.name));
      if (index.type === "id") {
        primaryKey = { name: index.dbName ?? constraintName(table, [], "pkey"), columns: indexColumns };
      } else if (index.type === "unique" || index.type === "normal") {
        const unique = index.type === "unique";
        const name = index.dbName ?? constraintName(table, indexColumns, unique ? "key" : "idx");
        indexes[name] = { columns: indexColumns, unique };
      } else {
        throw new Error(`${model.name}: ${index.type} indexes are not checked`);
      }
    }
    tables[table] = { columns, primaryKey, indexes, foreignKeys };
  }
  return { enums, tables };
}

function expectedColumnType(field: DMMF.Field, enumDbNames: Map<string, string>): string {
  let type: string | undefined;
  if (field.kind === "enum") {
    type = quoteIdentifier(enumDbNames.get(field.type) ?? field.type);
  } else if (field.nativeType) {
    type = nativeTypeToPostgres(field.nativeType[0], field.nativeType[1]);
  } else {
    type = scalarTypes[field.type];
  }
  if (!type) throw new Error(`no Postgres type known for ${field.name}: ${field.type}; extend schema-shape.ts`);
  return field.isList ? `${type}[]` : type;
}

function nativeTypeToPostgres(name: string, args: readonly string[]): string | undefined {
  const [first, second] = args;
  const precision = first === undefined ? "" : `(${first})`;
  switch (name) {
    case "Text":
      return "text";
    case "VarChar":
      return `character varying${precision}`;
    case "Char":
      return `character${precision}`;
    case "Uuid":
      return "uuid";
    case "SmallInt":
      return "smallint";
    case "Integer":
      return "integer";
    case "BigInt":
      return "bigint";
    case "Real":
      return "real";
    case "DoublePrecision":
      return "double precision";
    case "Decimal":
      return first === undefined ? "numeric" : `numeric(${first},${second ?? 0})`;
    case "Boolean":
      return "boolean";
    case "Date":
      return "date";
    case "Timestamp":
      return `timestamp${precision} without time zone`;
    case "Timestamptz":
      return `timestamp${precision} with time zone`;
    case "Json":
      return "json";
    case "JsonB":
      return "jsonb";
    case "ByteA":
      return "bytea";
    case "Inet":
      return "inet";
    default:
      return undefined;
  }
}

/** The default expression as pg_get_expr prints what Prisma Migrate would have created. */
function expectedDefault(field: DMMF.Field, table: string, column: string, enumDbNames: Map<string, string>) {
  if (!field.hasDefaultValue || field.default === undefined) return null;
  const value = field.default;
  if (typeof value === "object" && !Array.isArray(value)) {
    const { name } = value as DMMF.FieldDefault;
    if (name === "now") return "CURRENT_TIMESTAMP";
    if (name === "autoincrement") return `nextval('${quoteIdentifier(`${table}_${column}_seq`)}'::regclass)`;
    // Generated by the Prisma client, never by the database.
    if (["cuid", "uuid", "nanoid", "ulid"].includes(name)) return null;
    if (name === "dbgenerated") return anyDefault;
    throw new Error(`${field.name}: default function ${name}() is not checked; extend schema-shape.ts`);
  }
  if (Array.isArray(value)) throw new Error(`${field.name}: list defaults are not checked; extend schema-shape.ts`);

  const literal = `'${String(value).replaceAll("'", "''")}'`;
  if (field.kind === "enum") return `${literal}::${quoteIdentifier(enumDbNames.get(field.type) ?? field.type)}`;
  switch (field.type) {
    case "Int":
    case "BigInt":
      return Number(value) >= 0 ? String(value) : `${literal}::${field.type === "Int" ? "integer" : "bigint"}`;
    case "Boolean":
      return String(value);
    case "String":
      return `${literal}::text`;
    case "Json":
      return `${literal}::jsonb`;
    default:
      return anyDefault;
  }
}

function expectedForeignKey(
  datamodel: DMMF.Datamodel,
  model: DMMF.Model,
  field: DMMF.Field,
  table: string,
  tableNames: Map<string, string>,
  columnOf: (fieldName: string) => string,
): { name: string; shape: ForeignKeyShape } | null {
  const fromFields = field.relationFromFields ?? [];
  if (fromFields.length === 0) {
    const opposite = datamodel.models
      .find((candidate) => candidate.name === field.type)
      ?.fields.find((other) => other.relationName === field.relationName && other !== field);
    if (field.isList && opposite?.isList) {
      throw new Error(`${model.name}.${field.name}: implicit many-to-many tables are not checked`);
    }
    return null; // the back side of a relation; the foreign key lives on the other model
  }
  const referencedModel = datamodel.models.find((candidate) => candidate.name === field.type);
  if (!referencedModel) throw new Error(`${model.name}.${field.name} points to unknown model ${field.type}`);
  const columns = fromFields.map(columnOf);
  const referencedColumns = (field.relationToFields ?? []).map((name) => {
    const referenced = referencedModel.fields.find((candidate) => candidate.name === name);
    return referenced?.dbName ?? name;
  });
  // Prisma's defaults: Restrict when the relation is required, SetNull when optional; updates cascade.
  const onDelete = field.relationOnDelete ?? (field.isRequired ? "Restrict" : "SetNull");
  const onUpdate = field.relationOnUpdate ?? "Cascade";
  return {
    name: constraintName(table, columns, "fkey"),
    shape: {
      columns,
      referencedTable: tableNames.get(referencedModel.name) ?? referencedModel.name,
      referencedColumns,
      onDelete: referentialActions[onDelete] ?? onDelete,
      onUpdate: referentialActions[onUpdate] ?? onUpdate,
    },
  };
}

/** Prisma's default constraint name: Table_col1_col2_suffix (Table_pkey for primary keys). */
function constraintName(table: string, columns: readonly string[], suffix: string): string {
  const name = [table, ...columns, suffix].join("_");
  if (name.length > postgresMaxIdentifierLength) {
    // Prisma truncates such names; rather than guess its rule, ask for an explicit name.
    throw new Error(`default constraint name ${name} is too long; give it a map: name in schema.prisma`);
  }
  return name;
}

function quoteIdentifier(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

// ---------------------------------------------------------------------------------------------
// From the database catalog (current schema only)
// ---------------------------------------------------------------------------------------------

export async function readDatabaseShape(db: SqlExecutor, options: { ignoreTables?: string[] } = {}) {
  const ignored = new Set(options.ignoreTables ?? []);
  const shape: SchemaShape = { enums: {}, tables: {} };

  const enumRows = await db.query<{ enum: string; value: string }>(`
    SELECT t.typname::text AS enum, e.enumlabel::text AS value
    FROM pg_type t
    JOIN pg_enum e ON e.enumtypid = t.oid
    JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname = current_schema()
    ORDER BY t.typname, e.enumsortorder`);
  for (const row of enumRows) {
    shape.enums[row.enum] ??= [];
    shape.enums[row.enum]?.push(row.value);
  }

  const tableRows = await db.query<{ table: string }>(`
    SELECT c.relname::text AS table
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
    ORDER BY c.relname`);
  for (const { table } of tableRows) {
    if (!ignored.has(table)) shape.tables[table] = { columns: {}, primaryKey: null, indexes: {}, foreignKeys: {} };
  }
  const tableOf = (name: string): TableShape | undefined => shape.tables[name];

  const columnRows = await db.query<{
    table: string;
    column: string;
    type: string;
    nullable: boolean;
    default: string | null;
  }>(`
    SELECT c.relname::text AS table, a.attname::text AS column, format_type(a.atttypid, a.atttypmod) AS type,
           NOT a.attnotnull AS nullable, pg_get_expr(d.adbin, d.adrelid) AS default
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY c.relname, a.attnum`);
  for (const row of columnRows) {
    const table = tableOf(row.table);
    if (table) table.columns[row.column] = { type: row.type, nullable: row.nullable, default: row.default };
  }

  const indexRows = await db.query<{
    table: string;
    index: string;
    unique: boolean;
    primary: boolean;
    columns: string[];
  }>(`
    SELECT t.relname::text AS table, i.relname::text AS index, ix.indisunique AS unique, ix.indisprimary AS primary,
           ARRAY(
             SELECT a.attname::text
             FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
             ORDER BY k.position
           ) AS columns
    FROM pg_index ix
    JOIN pg_class i ON i.oid = ix.indexrelid
    JOIN pg_class t ON t.oid = ix.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = current_schema()
    ORDER BY t.relname, i.relname`);
  for (const row of indexRows) {
    const table = tableOf(row.table);
    if (!table) continue;
    if (row.primary) table.primaryKey = { name: row.index, columns: row.columns };
    else table.indexes[row.index] = { columns: row.columns, unique: row.unique };
  }

  const foreignKeyRows = await db.query<{
    table: string;
    name: string;
    referenced_table: string;
    on_delete: string;
    on_update: string;
    columns: string[];
    referenced_columns: string[];
  }>(`
    SELECT t.relname::text AS table, con.conname::text AS name, rt.relname::text AS referenced_table,
           con.confdeltype::text AS on_delete, con.confupdtype::text AS on_update,
           ARRAY(
             SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, position)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.position
           ) AS columns,
           ARRAY(
             SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, position)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.position
           ) AS referenced_columns
    FROM pg_constraint con
    JOIN pg_class t ON t.oid = con.conrelid
    JOIN pg_class rt ON rt.oid = con.confrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = current_schema() AND con.contype = 'f'
    ORDER BY t.relname, con.conname`);
  const actionCodes: Record<string, string> = {
    a: "NO ACTION",
    r: "RESTRICT",
    c: "CASCADE",
    n: "SET NULL",
    d: "SET DEFAULT",
  };
  for (const row of foreignKeyRows) {
    const table = tableOf(row.table);
    if (!table) continue;
    table.foreignKeys[row.name] = {
      columns: row.columns,
      referencedTable: row.referenced_table,
      referencedColumns: row.referenced_columns,
      onDelete: actionCodes[row.on_delete] ?? row.on_delete,
      onUpdate: actionCodes[row.on_update] ?? row.on_update,
    };
  }
  return shape;
}

/** Where the expectation accepts any default, show the actual one the same way, so equality holds. */
export function acceptAnyDefaults(actual: SchemaShape, expected: SchemaShape): SchemaShape {
  const copy = structuredClone(actual);
  for (const [tableName, table] of Object.entries(expected.tables)) {
    for (const [columnName, column] of Object.entries(table.columns)) {
      const actualColumn = copy.tables[tableName]?.columns[columnName];
      if (column.default === anyDefault && actualColumn?.default != null) actualColumn.default = anyDefault;
    }
  }
  return copy;
}
