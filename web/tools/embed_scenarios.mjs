// web/tools/embed_scenarios.mjs: writes the shipped scenarios as one
// script the page loads with a <script> tag (a page opened from disk may
// not fetch files): `node embed_scenarios.mjs OUT FILE.scn...`.
import fs from 'node:fs';
import path from 'node:path';

const [out, ...files] = process.argv.slice(2);
const scenarios = files.sort().map((file) => ({
  name: path.basename(file, '.scn'),
  text: fs.readFileSync(file, 'utf8'),
}));
fs.writeFileSync(out,
  '// Written by web/tools/embed_scenarios.mjs from scenarios/*.scn.\n' +
  `window.MMAP_SCENARIOS = ${JSON.stringify(scenarios, null, 1)};\n`);
