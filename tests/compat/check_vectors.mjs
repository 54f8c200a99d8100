#!/usr/bin/env node
// Checks vault_vectors.json against the npm package `shamir-secret-sharing`
// and exercises the npm_combine.mjs / npm_split.mjs helpers.
// Exit 0 when every check passes, 1 otherwise. Subsets are drawn from a fixed
// seed, so the run is deterministic (except npm_split's own randomness).
//
// usage: node check_vectors.mjs [VECTORS_JSON]
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { combine } from 'shamir-secret-sharing';

const here = dirname(fileURLToPath(import.meta.url));
const file = process.argv[2] ?? join(here, 'vault_vectors.json');
const doc = JSON.parse(readFileSync(file, 'utf8'));

let passed = 0;
let failed = 0;
function check(ok, what) {
  if (ok) passed++;
  else {
    failed++;
    console.error(`FAIL: ${what}`);
  }
}

// mulberry32: small deterministic PRNG for subset selection.
let seed = 0x6d657368; // "mesh"
function rand() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
function shuffled(arr) {
  const a = arr.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

const hexRe = /^(?:[0-9a-f]{2})+$/;
const toU8 = (h) => new Uint8Array(Buffer.from(h, 'hex'));
const toHex = (u8) => Buffer.from(u8).toString('hex');
async function tryCombine(hexShares) {
  try {
    return toHex(await combine(hexShares.map(toU8)));
  } catch (e) {
    return `error: ${e.message}`;
  }
}
function runNode(script, args, input) {
  // Run from a foreign cwd to prove the helpers resolve node_modules
  // relative to themselves.
  return spawnSync(process.execPath, [join(here, script), ...args], {
    cwd: tmpdir(),
    input,
    encoding: 'utf8',
  });
}

check(typeof doc.source === 'string' && doc.source.length > 0, 'source string present');
check(Array.isArray(doc.vectors) && doc.vectors.length > 0, 'vectors array present');

for (const [vi, v] of doc.vectors.entries()) {
  const tag = `vector ${vi} (L=${v.secret_hex.length / 2}, t=${v.threshold}, n=${v.shares_hex.length})`;
  const { secret_hex: secret, threshold: t, shares_hex: shares } = v;
  const n = shares.length;
  const L = secret.length / 2;

  // --- structure -----------------------------------------------------------
  check(hexRe.test(secret), `${tag}: secret_hex is non-empty lowercase hex`);
  check(Number.isInteger(t) && t >= 2 && t <= 255, `${tag}: 2 <= threshold <= 255`);
  check(n >= t && n <= 255, `${tag}: threshold <= share count <= 255`);
  check(
    shares.every((s) => hexRe.test(s) && s.length === 2 * (L + 1)),
    `${tag}: every share is lowercase hex of secret length + 1 bytes`,
  );
  const xs = shares.map((s) => parseInt(s.slice(-2), 16));
  check(xs.every((x) => x >= 1 && x <= 255), `${tag}: every x (last byte) is in 1..255`);
  check(new Set(xs).size === n, `${tag}: x coordinates are distinct`);

  // --- recombination with the package --------------------------------------
  const idx = [...Array(n).keys()];
  const subsets = [
    ['first t', idx.slice(0, t)],
    ['last t', idx.slice(n - t)],
    ['first t reversed', idx.slice(0, t).reverse()],
    ['all n', idx],
  ];
  for (let k = 0; k < 8; k++) subsets.push([`random t-subset #${k}`, shuffled(idx).slice(0, t)]);
  for (let k = 0; k < 3; k++) {
    const size = t + Math.floor(rand() * (n - t + 1));
    subsets.push([`random ${size}-subset #${k}`, shuffled(idx).slice(0, size)]);
  }
  for (const [name, sub] of subsets) {
    const got = await tryCombine(sub.map((i) => shares[i]));
    check(got === secret, `${tag}: ${name} [${sub.join(',')}] -> ${got}`);
  }

  // t-1 shares must not give the secret (only meaningful when the package
  // accepts >= 2 shares and the secret is long enough that a chance match is
  // negligible: P = 2^-8L).
  if (t - 1 >= 2 && L >= 16) {
    const got = await tryCombine(shares.slice(0, t - 1));
    check(got !== secret, `${tag}: t-1 shares must not recover the secret`);
  }

  // --- npm_combine.mjs CLI --------------------------------------------------
  // Mixed case, CRLF and blank lines must be accepted.
  const sub = shuffled(idx).slice(0, t);
  const input =
    '\n' + sub.map((i, k) => (k % 2 ? shares[i].toUpperCase() : shares[i])).join('\r\n\n') + '\n\n';
  const r = runNode('npm_combine.mjs', [], input);
  check(
    r.status === 0 && r.stdout === secret + '\n' && r.stderr === '',
    `${tag}: npm_combine.mjs -> status ${r.status} stdout ${JSON.stringify(r.stdout)} stderr ${JSON.stringify(r.stderr)}`,
  );

  // --- npm_split.mjs CLI round trip ------------------------------------------
  const s = runNode('npm_split.mjs', [String(t), String(n)], secret.toUpperCase() + '\n');
  const lines = s.stdout.split('\n');
  const okShape =
    s.status === 0 &&
    lines.length === n + 1 &&
    lines[n] === '' &&
    lines.slice(0, n).every((l) => hexRe.test(l) && l.length === 2 * (L + 1));
  check(okShape, `${tag}: npm_split.mjs ${t} ${n} output shape (status ${s.status}, stderr ${JSON.stringify(s.stderr)})`);
  if (okShape) {
    const pick = shuffled(idx).slice(0, t).map((i) => lines[i]);
    const c = runNode('npm_combine.mjs', [], pick.join('\n') + '\n');
    check(c.status === 0 && c.stdout === secret + '\n', `${tag}: npm_split -> npm_combine round trip`);
  }
}

// --- CLI error paths -----------------------------------------------------------
for (const [name, input] of [
  ['empty input', ''],
  ['non-hex', 'zz00\n0102\n'],
  ['odd length', '0102\n010\n'],
  ['single share', '0102\n'],
  ['length mismatch', '0102\n010203\n'],
  ['duplicate x', '0102\n0302\n'],
]) {
  const r = runNode('npm_combine.mjs', [], input);
  const oneLine = r.stderr.endsWith('\n') && r.stderr.trimEnd().split('\n').length === 1;
  check(r.status === 1 && r.stdout === '' && oneLine, `npm_combine.mjs error path '${name}' -> status ${r.status} stderr ${JSON.stringify(r.stderr)}`);
}
for (const [name, args, input] of [
  ['T > N', ['3', '2'], '00\n'],
  ['T = 1', ['1', '2'], '00\n'],
  ['N = 256', ['2', '256'], '00\n'],
  ['empty secret', ['2', '2'], '\n'],
  ['missing args', [], '00\n'],
]) {
  const r = runNode('npm_split.mjs', args, input);
  check(r.status === 1 && r.stdout === '', `npm_split.mjs error path '${name}' -> status ${r.status} stderr ${JSON.stringify(r.stderr)}`);
}

console.log(`check_vectors: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
