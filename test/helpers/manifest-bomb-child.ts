/**
 * Child process of the manifest-bomb memory test: stages a manifest bomb, runs the real manifest
 * step on the memory store, prints the outcome and this process's peak RSS as one JSON line.
 * A separate process so that the peak belongs to this one run.
 */
import protobuf from 'protobufjs';
import { keys, MANIFEST_NAME } from '../../lib/core/keys';
import type { UploadStatus } from '../../lib/core/documents/upload-status';
import { PipelineSimulator } from './simulator';

/** ManifestData with one header and `entries` resources, or one resource with `dependants` packed dependants. */
function bomb(kind: string, targetBytes: number): Uint8Array {
  const data = protobuf.Writer.create();
  // header (field 1): resource hash sha1 (2), signature hash sha256 (3), RSA (1), project identifier digest
  const header = protobuf.Writer.create().uint32(8).uint32(2).uint32(16).uint32(3).uint32(24).uint32(1);
  header.uint32(34).fork().uint32(10).bytes(new Uint8Array(20)).ldelim();
  data.uint32(10).bytes(header.finish());
  const entry = (dependants: number) => {
    const w = protobuf.Writer.create();
    w.uint32(10).fork().uint32(10).bytes(new Uint8Array(20)).ldelim(); // hash
    w.uint32(18).string('/a'); // url
    w.uint32(24).uint64(1); // url_hash
    w.uint32(32).uint32(1).uint32(40).uint32(1).uint32(48).uint32(2);
    if (dependants > 0) {
      w.uint32(58).fork();
      for (let i = 0; i < dependants; i++) w.uint64(1);
      w.ldelim();
    }
    return w.finish();
  };
  if (kind === 'dependants') {
    data.uint32(26).bytes(entry(targetBytes));
  } else {
    const one = entry(0);
    const count = Math.floor(targetBytes / (one.length + 2));
    for (let i = 0; i < count; i++) data.uint32(26).bytes(one);
  }
  const file = protobuf.Writer.create().uint32(10).bytes(data.finish()).uint32(18).bytes(new Uint8Array(0)).uint32(32).uint32(5);
  return file.finish();
}

async function main(): Promise<void> {
  const [kind, mib] = [process.argv[2], Number(process.argv[3])];
  const bytes = bomb(kind, mib * 1024 * 1024);
  const sim = new PipelineSimulator({ seed: 1 });
  await sim.stage(keys.staged('g', 'u1', MANIFEST_NAME), bytes);
  const started = Date.now();
  await sim.drain();
  const status = await sim.json<UploadStatus>(keys.status('g', 'u1'));
  process.stdout.write(`${JSON.stringify({
    bytes: bytes.length, seconds: (Date.now() - started) / 1000, state: status?.state,
    codes: status?.errors.map((e) => e.code), deadLetters: sim.deadLetters.length,
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  })}\n`);
}

void main();
