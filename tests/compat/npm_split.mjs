#!/usr/bin/env node
// Split a secret into Vault/OpenBao-format Shamir shares with the npm package
// `shamir-secret-sharing` (reverse direction of npm_combine.mjs).
//
// usage : node npm_split.mjs T N      (2 <= T <= N <= 255)
// stdin : secret as hex (either case), surrounding whitespace ignored,
//         at least 1 byte.
// stdout: N lines, each a share as lowercase hex, layout {y_1 .. y_L, x}
//         (x = last byte, distinct, in 1..255); exit 0.
// error : one-line message on stderr; exit 1.
import { split } from 'shamir-secret-sharing';

function fail(msg) {
  process.stderr.write(`npm_split: ${String(msg).replace(/\s+/g, ' ').trim()}\n`);
  process.exit(1);
}

function parseCount(s, name) {
  if (typeof s !== 'string' || !/^[0-9]+$/.test(s)) fail(`${name} must be a decimal integer`);
  return Number(s);
}

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length !== 2) fail('usage: node npm_split.mjs T N  (secret hex on stdin)');
  const t = parseCount(args[0], 'T');
  const n = parseCount(args[1], 'N');
  const hex = (await readStdin()).trim();
  if (hex === '') fail('empty secret');
  if (!/^[0-9a-fA-F]+$/.test(hex)) fail('secret is not hex');
  if (hex.length % 2 !== 0) fail('secret has an odd number of hex digits');
  const secret = new Uint8Array(Buffer.from(hex, 'hex'));
  // Note: the package's split(secret, shares, threshold) takes N before T.
  const shares = await split(secret, n, t);
  process.stdout.write(shares.map((s) => Buffer.from(s).toString('hex')).join('\n') + '\n');
}

main().catch((e) => fail(e && e.message ? e.message : e));
