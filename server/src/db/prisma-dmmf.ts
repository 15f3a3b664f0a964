// Reads schema.prisma through Prisma's own parser, offline: the `prisma` package ships the
// prisma-schema-wasm module (prisma_schema_build_bg.wasm) that its CLI calls for `get_dmmf`.
// Its JavaScript glue is bundled, unexported, inside the CLI, so this file carries the few lines
// of wasm-bindgen glue the module needs. Used by the migration test to compare SQL with schema.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { DMMF } from "@prisma/client/runtime/client";

export const schemaPrismaPath = new URL("../../../schema/prisma/schema.prisma", import.meta.url);

// @types/node 20 does not declare the WebAssembly global; these are the parts used here.
interface WasmTable {
  get(index: number): unknown;
  set(index: number, value: unknown): void;
  grow(delta: number): number;
}
interface WasmApi {
  Module: { new (bytes: Uint8Array): object; imports(module: object): { module: string; name: string }[] };
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const { WebAssembly } = globalThis as unknown as { WebAssembly: WasmApi };

interface SchemaWasmExports {
  memory: { buffer: ArrayBuffer };
  __wbindgen_externrefs: WasmTable;
  __wbindgen_start(): void;
  __wbindgen_malloc(size: number, align: number): number;
  __wbindgen_free(ptr: number, size: number, align: number): void;
  __externref_table_dealloc(index: number): void;
  /** Returns [resultPtr, resultLen, errorIndex, isError]. */
  get_dmmf(paramsPtr: number, paramsLen: number): [number, number, number, number];
}

let instance: SchemaWasmExports | undefined;

function loadSchemaWasm(): SchemaWasmExports {
  if (instance) return instance;
  const require = createRequire(import.meta.url);
  const wasmPath = join(dirname(require.resolve("prisma/package.json")), "build", "prisma_schema_build_bg.wasm");
  const module = new WebAssembly.Module(readFileSync(wasmPath));

  let exports: SchemaWasmExports | undefined;
  const readString = (ptr: number, len: number): string => {
    const bytes = new Uint8Array((exports as SchemaWasmExports).memory.buffer, ptr >>> 0, len);
    return new TextDecoder().decode(bytes);
  };
  let panicMessage = "";
  // The import names carry a build hash (`__wbg_Error_e83987f665cf5504`); match them by prefix.
  const glue: Record<string, (...args: number[]) => unknown> = {
    __wbg_Error_: (ptr, len) => new Error(readString(ptr, len)),
    __wbg___wbindgen_throw_: (ptr, len) => {
      throw new Error(readString(ptr, len));
    },
    __wbg_set_message_: (ptr, len) => {
      panicMessage = readString(ptr, len);
    },
    __wbindgen_init_externref_table: () => {
      const table = (exports as SchemaWasmExports).__wbindgen_externrefs;
      const offset = table.grow(4);
      table.set(0, undefined);
      table.set(offset + 0, undefined);
      table.set(offset + 1, null);
      table.set(offset + 2, true);
      table.set(offset + 3, false);
    },
  };
  const imports: Record<string, Record<string, (...args: number[]) => unknown>> = {};
  for (const wanted of WebAssembly.Module.imports(module)) {
    const prefix = Object.keys(glue).find((key) => wanted.name.startsWith(key));
    const implementation = prefix ? glue[prefix] : undefined;
    if (!implementation) {
      throw new Error(`prisma-schema-wasm wants an import this loader lacks: ${wanted.module}.${wanted.name}`);
    }
    imports[wanted.module] ??= {};
    (imports[wanted.module] as Record<string, unknown>)[wanted.name] = (...args: number[]) => {
      try {
        return implementation(...args);
      } catch (error) {
        if (panicMessage && error instanceof Error) error.message += ` (${panicMessage})`;
        throw error;
      }
    };
  }
  exports = new WebAssembly.Instance(module, imports).exports as unknown as SchemaWasmExports;
  exports.__wbindgen_start();
  instance = exports;
  return exports;
}

/** Prisma's DMMF of a schema; throws Prisma's validation message when the schema is invalid. */
export function getDmmf(schemaText: string, fileName = "schema.prisma"): DMMF.Document {
  const wasm = loadSchemaWasm();
  const params = new TextEncoder().encode(JSON.stringify({ prismaSchema: [[fileName, schemaText]], noColor: true }));
  const paramsPtr = wasm.__wbindgen_malloc(params.length, 1) >>> 0;
  new Uint8Array(wasm.memory.buffer).set(params, paramsPtr);

  const [resultPtr, resultLen, errorIndex, isError] = wasm.get_dmmf(paramsPtr, params.length);
  if (isError) {
    const error: unknown = wasm.__wbindgen_externrefs.get(errorIndex);
    wasm.__externref_table_dealloc(errorIndex);
    throw new Error(`schema.prisma does not validate: ${describeWasmError(error)}`);
  }
  try {
    const json = new TextDecoder().decode(new Uint8Array(wasm.memory.buffer, resultPtr >>> 0, resultLen));
    return JSON.parse(json) as DMMF.Document;
  } finally {
    wasm.__wbindgen_free(resultPtr, resultLen, 1);
  }
}

/** The wasm reports errors as JSON ({ error_code, message }); keep just the readable part. */
function describeWasmError(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    return typeof parsed.message === "string" ? parsed.message : text;
  } catch {
    return text;
  }
}

export function readSchemaDmmf(): DMMF.Document {
  return getDmmf(readFileSync(schemaPrismaPath, "utf8"));
}
