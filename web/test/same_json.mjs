// web/test/same_json.mjs: the page and the terminal agree. Each shipped
// scenario (scenarios/*.scn) is run by the native programs/mmap_play
// --json, from the repository's root, and by the WebAssembly build
// (web/build/mmap_play.js, make web) under node; the two JSON texts must
// parse to the same value. Exit status 0 when they all do.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { firstDifference } from './schema.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..', '..');
const require = createRequire(import.meta.url);
const createMmapPlay = require(path.join(root, 'web', 'build', 'mmap_play.js'));
const module = await createMmapPlay({ print: () => {}, printErr: (line) => console.error(line) });

function wasmRun(text, name) {
  const pointers = [text, name].map((s) => {
    const size = module.lengthBytesUTF8(s) + 1;
    const p = module._malloc(size);
    module.stringToUTF8(s, p, size);
    return p;
  });
  const result = module._play_wasm_run(...pointers);
  pointers.forEach((p) => module._free(p));
  const json = module.UTF8ToString(result);
  module._play_wasm_free(result);
  return JSON.parse(json);
}

const folder = path.join(root, 'scenarios');
const files = fs.readdirSync(folder).filter((f) => f.endsWith('.scn')).sort();
let failed = 0;
for (const file of files) {
  const name = path.basename(file, '.scn');
  const native = JSON.parse(execFileSync(path.join(root, 'programs', 'mmap_play'),
    ['--json', path.join('scenarios', file)], { cwd: root, maxBuffer: 1 << 28 }).toString());
  const wasm = wasmRun(fs.readFileSync(path.join(folder, file), 'utf8'), name);
  const difference = firstDifference(native, wasm);
  if (difference) {
    failed++;
    console.error(`FAIL ${name}: native and WebAssembly differ at ${difference}`);
  } else {
    console.log(`ok ${name}: the same JSON from mmap_play --json and from WebAssembly (${native.steps.length} steps)`);
  }
}
if (files.length === 0) {
  console.error('same_json: no scenario in scenarios/');
  process.exit(1);
}
process.exit(failed ? 1 : 0);
