#!/usr/bin/env node
// Combine Vault/OpenBao-format Shamir shares with the npm package
// `shamir-secret-sharing` (the reference implementation for meshvault's
// cross-implementation tests).
//
// stdin : one share per line, hex (either case) of the Vault layout
//         {y_1 .. y_L, x}  (L = secret length, x = last byte). Blank lines
//         and surrounding whitespace (incl. CR) are ignored.
// stdout: recovered secret as lowercase hex + "\n"; exit 0.
// error : one-line message on stderr; exit 1.
//
// The bare import below is resolved by Node relative to THIS file, so the
// script works from any cwd as long as tests/compat/node_modules exists.
import { combine } from 'shamir-secret-sharing';

function fail(msg) {
  process.stderr.write(`npm_combine: ${String(msg).replace(/\s+/g, ' ').trim()}\n`);
  process.exit(1);
}

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

async function main() {
  const text = await readStdin();
  const shares = [];
  let lineNo = 0;
  for (const raw of text.split('\n')) {
    lineNo++;
    const line = raw.trim();
    if (line === '') continue;
    if (!/^[0-9a-fA-F]+$/.test(line)) fail(`line ${lineNo}: not hex`);
    if (line.length % 2 !== 0) fail(`line ${lineNo}: odd number of hex digits`);
    shares.push(new Uint8Array(Buffer.from(line, 'hex')));
  }
  if (shares.length === 0) fail('no shares on stdin');
  const secret = await combine(shares);
  process.stdout.write(Buffer.from(secret).toString('hex') + '\n');
}

main().catch((e) => fail(e && e.message ? e.message : e));
