/**
 * Regenerates the protobuf descriptors (`lib/core/format/proto/*.json`) from the `.proto` files with
 * protobufjs-cli, so the bundled handlers need no `.proto` parsing at run time.
 * Run: `npm run proto`. A test fails when the committed descriptors are out of date.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PROTO_FILES = ['liveupdate_ddf', 'liveupdate_ddf_legacy'] as const;
const PROTO_DIR = join(__dirname, '..', 'lib', 'core', 'format', 'proto');

/** The JSON descriptor pbjs makes of one `.proto` file. */
export function generateDescriptor(name: string): string {
  const pbjs = require.resolve('protobufjs-cli/bin/pbjs');
  return execFileSync(process.execPath, [pbjs, '-t', 'json', join(PROTO_DIR, `${name}.proto`)], { encoding: 'utf8' });
}

if (require.main === module) {
  for (const name of PROTO_FILES) {
    writeFileSync(join(PROTO_DIR, `${name}.json`), generateDescriptor(name));
    console.log(`wrote lib/core/format/proto/${name}.json`);
  }
}
