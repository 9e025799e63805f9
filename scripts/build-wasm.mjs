#!/usr/bin/env node
// Assembles the engine's hand-written WebAssembly (src/engine/*.wat) into TypeScript modules
// holding the bytes as base64, so that neither the build nor users need an assembler.
// `--check` exits non-zero when a committed module does not match its .wat source.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import createWabt from 'wabt';

const dir = 'src/engine';
const check = process.argv.includes('--check');
const wabt = await createWabt();
let stale = 0;
for (const file of readdirSync(dir).filter((f) => f.endsWith('.wat'))) {
  const source = readFileSync(join(dir, file), 'utf8');
  const module = wabt.parseWat(file, source, { simd: true });
  module.validate();
  const { buffer } = module.toBinary({});
  const base = file.replace(/\.wat$/, '');
  const target = join(dir, `${base}-wasm.ts`);
  const text =
    `// Generated from ${file} by scripts/build-wasm.mjs; do not edit.\n` +
    `export const ${base.replace(/-(.)/g, (_, c) => c.toUpperCase())}WasmBase64 =\n  '${Buffer.from(buffer).toString('base64')}';\n`;
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    current = '';
  }
  if (current === text) continue;
  if (check) {
    console.error(`build-wasm: ${target} is out of date with ${file}; run node scripts/build-wasm.mjs`);
    stale += 1;
  } else {
    writeFileSync(target, text);
    console.log(`build-wasm: wrote ${target} (${buffer.length} bytes)`);
  }
}
process.exit(stale > 0 ? 1 : 0);
