/**
 * Prisma's own schema parser: the `prisma-schema` WebAssembly module that the `prisma` CLI ships
 * beside its bundle, called directly. The packages that wrap it (`@prisma/prisma-schema-wasm`,
 * `@prisma/internals`) are not installed, and the CLI inlines its wasm-bindgen glue instead of
 * exporting it, so this file is that glue for the one function the drift check needs. Each import
 * the module asks for must be one this file knows: a Prisma upgrade that changes the binding
 * throws here instead of parsing wrongly.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { DMMF } from '@prisma/client/runtime/client';

export class SchemaParseError extends Error {
  override readonly name = 'SchemaParseError';
}

/** The few WebAssembly APIs used here: the project's libs (ES2023, no DOM) do not declare them. */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmTable {
  get(index: number): unknown;
  set(index: number, value: unknown): void;
  grow(delta: number): number;
}
interface WebAssemblyApi {
  readonly Module: {
    new (bytes: Uint8Array): object;
    imports(module: object): { module: string; name: string }[];
  };
  readonly Instance: new (module: object, imports: object) => { readonly exports: unknown };
}
const { Module, Instance } = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

interface SchemaWasm {
  readonly memory: WasmMemory;
  readonly __wbindgen_externrefs: WasmTable;
  __wbindgen_start(): void;
  __wbindgen_malloc(length: number, align: number): number;
  __wbindgen_free(pointer: number, length: number, align: number): void;
  __externref_table_dealloc(index: number): void;
  /** wasm-bindgen's `Result<String, JsValue>`: [pointer, length, error slot, is error]. */
  get_dmmf(pointer: number, length: number): [number, number, number, number];
}

const WASM_PATH = path.join(path.dirname(require.resolve('prisma/package.json')), 'build/prisma_schema_build_bg.wasm');

let loaded: SchemaWasm | undefined;

type Import = (pointer: number, length: number) => unknown;

const readString = (memory: WasmMemory, pointer: number, length: number) =>
  new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(memory.buffer, pointer >>> 0, length));

function schemaWasm(): SchemaWasm {
  if (loaded) return loaded;
  const module = new Module(readFileSync(WASM_PATH));
  const text = (pointer: number, length: number) => readString(loaded!.memory, pointer, length);
  const known: [prefix: string, implementation: Import][] = [
    ['__wbg_Error_', (pointer, length) => new Error(text(pointer, length))],
    [
      '__wbg___wbindgen_throw_',
      (pointer, length) => {
        throw new Error(text(pointer, length));
      },
    ],
    // A Rust panic's message, which arrives before the trap; the trap itself says enough here.
    ['__wbg_set_message_', () => undefined],
    [
      '__wbindgen_init_externref_table',
      () => {
        const table = loaded!.__wbindgen_externrefs;
        const base = table.grow(4);
        table.set(0, undefined);
        [undefined, null, true, false].forEach((value, i) => table.set(base + i, value));
      },
    ],
  ];
  const imports: Record<string, Record<string, Import>> = {};
  for (const { module: from, name } of Module.imports(module)) {
    const implementation = known.find(([prefix]) => name.startsWith(prefix))?.[1];
    if (!implementation)
      throw new SchemaParseError(`${WASM_PATH} imports ${from}.${name}, which this glue does not know`);
    (imports[from] ??= {})[name] = implementation;
  }
  // The imports above read `loaded` while the module starts.
  loaded = new Instance(module, imports).exports as unknown as SchemaWasm;
  loaded.__wbindgen_start();
  return loaded;
}

/** The DMMF datamodel of `source`, or Prisma's own validation errors as a SchemaParseError. */
export function getDatamodel(source: string): DMMF.Datamodel {
  const wasm = schemaWasm();
  const input = new TextEncoder().encode(JSON.stringify({ prismaSchema: source, noColor: true }));
  const pointer = wasm.__wbindgen_malloc(input.length, 1) >>> 0;
  new Uint8Array(wasm.memory.buffer, pointer, input.length).set(input);
  const [output, length, errorSlot, failed] = wasm.get_dmmf(pointer, input.length);
  if (failed) {
    const error = wasm.__wbindgen_externrefs.get(errorSlot) as Error;
    wasm.__externref_table_dealloc(errorSlot);
    const { message } = JSON.parse(error.message) as { message: string };
    throw new SchemaParseError(message);
  }
  try {
    return (JSON.parse(readString(wasm.memory, output, length)) as DMMF.Document).datamodel;
  } finally {
    wasm.__wbindgen_free(output, length, 1);
  }
}
