// The console's page files are served from next to the compiled module (lib/console/static ->
// dist/lib/console/static): tsc copies only TypeScript.
const { cpSync } = require('node:fs');
const { join } = require('node:path');
const root = join(__dirname, '..');
cpSync(join(root, 'lib', 'console', 'static'), join(root, 'dist', 'lib', 'console', 'static'), { recursive: true });
