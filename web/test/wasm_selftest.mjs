// web/test/wasm_selftest.mjs: loads web/build/wasm_selftest.js (make web)
// under node and runs the library's own calls inside WebAssembly
// (web/test/wasm_selftest.c): a shared file across fork, a copy-on-write
// copy, pages through swap. Exit status 0 when every check held.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const createWasmSelftest = require(path.join(here, '..', 'build', 'wasm_selftest.js'));

const output = [];
const module = await createWasmSelftest({
  print: (line) => output.push(line),
  printErr: (line) => output.push(line),
});
const failedAt = module._wasm_selftest_run();
console.log(output.join('\n'));
if (failedAt !== 0) {
  console.error(`wasm_selftest: failed at line ${failedAt} of web/test/wasm_selftest.c`);
  process.exit(1);
}
