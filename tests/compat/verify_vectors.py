#!/usr/bin/env python3
"""Independent check of vault_vectors.json (Python 3 standard library only).

Does NOT use the npm package: GF(2^8) arithmetic is done bit by bit modulo
x^8+x^4+x^3+x+1 (0x11B), inverses as a^254, and each secret byte is
recovered by Lagrange interpolation at x = 0, reading every share as
{y_1 .. y_L, x} (x = LAST byte).

For each vector it recombines from the first t and from the last t shares,
checks every share lies on the degree <= t-1 polynomial fixed by the first
t shares, and (negative controls, long secrets only) that t-1 shares and the
opposite layout {x, y_1 .. y_L} do NOT give the secret.

usage: python3 verify_vectors.py [VECTORS_JSON]     exit 0 iff all checks pass
"""
import json
import os
import sys


def gf_mul(a, b):
    r = 0
    while b:
        if b & 1:
            r ^= a
        a <<= 1
        if a & 0x100:
            a ^= 0x11B
        b >>= 1
    return r


def gf_inv(a):
    if a == 0:
        raise ZeroDivisionError("inverse of 0 in GF(2^8)")
    r, e = 1, 254  # a^254 = a^-1 in GF(2^8)*
    while e:
        if e & 1:
            r = gf_mul(r, a)
        a = gf_mul(a, a)
        e >>= 1
    return r


def interpolate(points, x0):
    """Lagrange value at x0 of the polynomial through points [(x, y), ...]."""
    acc = 0
    for i, (xi, yi) in enumerate(points):
        num, den = 1, 1
        for j, (xj, _) in enumerate(points):
            if i != j:
                num = gf_mul(num, x0 ^ xj)
                den = gf_mul(den, xi ^ xj)
        acc ^= gf_mul(yi, gf_mul(num, gf_inv(den)))
    return acc


def split_share(share, x_last=True):
    return (share[-1], share[:-1]) if x_last else (share[0], share[1:])


def combine(shares, x_last=True):
    parsed = [split_share(s, x_last) for s in shares]
    xs = [x for x, _ in parsed]
    if len(set(xs)) != len(xs) or 0 in xs:
        raise ValueError("x coordinates must be distinct and non-zero")
    length = len(parsed[0][1])
    return bytes(
        interpolate([(x, ys[k]) for x, ys in parsed], 0) for k in range(length)
    )


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "vault_vectors.json")
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)

    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print("FAIL: " + what, file=sys.stderr)

    # Field sanity: FIPS-197 (AES uses the same 0x11B field) and Vault's tests.
    check(gf_mul(0x57, 0x83) == 0xC1, "GF: {57}*{83} = {c1} (FIPS-197 4.2)")
    check(gf_mul(0x57, 0x13) == 0xFE, "GF: {57}*{13} = {fe} (FIPS-197 4.2.1)")
    check(gf_mul(3, 7) == 9, "GF: 3*7 = 9")
    check(all(gf_mul(a, gf_inv(a)) == 1 for a in range(1, 256)), "GF: a * a^-1 = 1")

    for vi, v in enumerate(doc["vectors"]):
        secret = bytes.fromhex(v["secret_hex"])
        t = v["threshold"]
        shares = [bytes.fromhex(h) for h in v["shares_hex"]]
        n, length = len(shares), len(secret)
        tag = "vector %d (L=%d, t=%d, n=%d)" % (vi, length, t, n)

        check(all(len(s) == length + 1 for s in shares), tag + ": share length = L + 1")
        first = combine(shares[:t])
        last = combine(shares[n - t:])
        check(first == secret, tag + ": first t shares -> " + first.hex())
        check(last == secret, tag + ": last t shares -> " + last.hex())

        # Every share lies on the polynomial through the first t shares.
        pts = [split_share(s) for s in shares[:t]]
        on_poly = all(
            interpolate([(x, ys[k]) for x, ys in pts], xo) == yo[k]
            for xo, yo in (split_share(s) for s in shares[t:])
            for k in range(length)
        )
        check(on_poly, tag + ": all shares on the degree <= t-1 polynomial of the first t")

        if length >= 16:
            if t - 1 >= 1:
                check(combine(shares[: t - 1]) != secret, tag + ": t-1 shares must not recover")
            try:
                wrong = combine(shares[:t], x_last=False)
            except ValueError:
                wrong = None
            check(wrong != secret, tag + ": x-FIRST layout must not recover (negative control)")

    print("verify_vectors: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
