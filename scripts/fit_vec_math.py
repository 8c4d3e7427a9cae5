#!/usr/bin/env python3
"""Fits the polynomial coefficients of the AVX2 exp and erf in
runtime/cpu/fast/fast_avx2.h and runtime/cpu/simd_avx2.h (erf, and GELU's
erf) and prints them with their float32 error.

Each fit is least squares on Chebyshev nodes, weighted so that the error
that matters is flat; then the coefficients are rounded to float one at a
time, lowest first, and the remaining ones refitted, so that the rounding of
each is absorbed by the others. The errors are those of a float32
evaluation emulated in numpy (FMA as one rounding).

    /usr/bin/python3 scripts/fit_vec_math.py
"""
import math

import numpy as np

F32 = np.float32


def fma(a, b, c):
    return (np.asarray(a, np.float64) * np.asarray(b, np.float64) + np.asarray(c, np.float64)).astype(F32)


def horner(cs, t):
    acc = np.full_like(t, F32(cs[-1]))
    for c in cs[-2::-1]:
        acc = fma(acc, t, np.full_like(t, F32(c)))
    return acc


def nodes(lo, hi, n=6000):
    k = np.arange(n)
    return (lo + hi) / 2 + (hi - lo) / 2 * np.cos(np.pi * (k + 0.5) / n)


def fit_rounded(t, y, deg, weight):
    cs, resid = [], y.copy()
    for k in range(deg + 1):
        basis = np.stack([t**j for j in range(k, deg + 1)], 1)
        c, *_ = np.linalg.lstsq(basis * weight[:, None], resid * weight, rcond=None)
        ck = float(F32(c[0]))
        cs.append(ck)
        resid = resid - ck * t**k
    return cs


def show(name, cs):
    print(f"{name} = {{" + ", ".join(f"{c!r}f" for c in cs) + "}")


def fit_exp():
    # e^r = 1 + r + r^2 S(r) on |r| <= ln2/2, relative error
    r = nodes(-math.log(2) / 2, math.log(2) / 2)
    r = r[np.abs(r) > 1e-4]
    S = fit_rounded(r, (np.exp(r) - 1 - r) / (r * r), 4, r * r / np.exp(r))
    x = np.linspace(-87.3, 88, 2000001).astype(F32)
    n = np.rint((x * F32(1.4426950408889634)).astype(F32))
    ln2 = F32(math.log(2))
    red = fma(-n, ln2, x)
    red = fma(-n, F32(math.log(2) - float(ln2)), red)
    p = (fma((red * red).astype(F32), horner(S, red), red) + F32(1)).astype(F32)
    got = p.astype(np.float64) * np.exp2(n.astype(np.float64))
    want = np.exp(x.astype(np.float64))
    show("exp S", S)
    print(f"  max relative error {np.max(np.abs(got - want) / want):.3g}")
    return S


def fit_erf():
    c0 = float(F32(2 / math.sqrt(math.pi)))
    # |x| < 1: erf(x) = x c0 + x P(x^2); P(0) carries c0's rounding
    x = nodes(1e-4, 1.0)
    P = fit_rounded(x * x, np.array([math.erf(v) / v for v in x]) - c0, 6, x)
    xs = np.linspace(0, 1, 400001).astype(F32)
    small = fma(xs, F32(c0), (xs * horner(P, (xs * xs).astype(F32))).astype(F32))
    err_small = np.max(np.abs(small - np.vectorize(math.erf)(xs.astype(np.float64))))
    # 1 <= |x| <= 4: six pieces of width 1/2, erf(x) = 1 - Q_k(x - 1.25 - k/2), Q_k ~ erfc;
    # past 3.92, where erf rounds to 1, 1 - Q stays 1 for any small enough Q
    Q, err_big = [], 0.0
    for k in range(6):
        c = 1.25 + 0.5 * k
        x = nodes(c - 0.25, c + 0.25, 3000)
        q = fit_rounded(x - c, np.vectorize(math.erfc)(x), 6, np.ones_like(x))
        xs = np.linspace(c - 0.25, c + 0.25, 100001).astype(F32)
        got = (1.0 - horner(q, (xs - F32(c)).astype(F32)).astype(np.float64)).astype(F32)
        err_big = max(err_big, np.max(np.abs(got - np.vectorize(math.erf)(xs.astype(np.float64)))))
        Q.append(q)
    print(f"erf c0 = {c0!r}f")
    show("erf P", P)
    for i in range(7):  # Q[i] holds coefficient i of the six pieces (two lanes unused)
        show(f"erf Q[{i}]", [Q[k][i] for k in range(6)] + [0.0, 0.0])
    print(f"  max absolute error {err_small:.3g} (|x| < 1), {err_big:.3g} (1 <= |x| <= 4)")


def fit_gelu_erf():
    # GELU's erf: erf(a) = R_k(a - 1/4 - k/2) on eight pieces of width 1/2 over [0, 4]
    R = []
    for k in range(8):
        c = 0.25 + 0.5 * k
        x = nodes(c - 0.25, c + 0.25, 3000)
        R.append(fit_rounded(x - c, np.vectorize(math.erf)(x), 6, np.ones_like(x)))
    # the kernel's arithmetic (ds_gelu8) on [0, 4.5] every 2^-18
    a = np.linspace(0, 4.5, int(4.5 * 2**18) + 1).astype(F32)
    a4 = np.minimum(F32(4), a)
    kf = np.minimum(F32(7), np.floor((a4 + a4).astype(F32)))
    u = ((a4 - F32(0.25)).astype(F32).astype(np.float64) - kf * 0.5).astype(F32)
    table = np.array(R, dtype=np.float64)
    k = kf.astype(int)
    e = table[k, 6].astype(F32)
    for i in range(5, -1, -1):
        e = fma(e, u, table[k, i].astype(F32))
    err = np.max(np.abs(e - np.vectorize(math.erf)(a.astype(np.float64))))
    for i in range(7):  # R[i] holds coefficient i of the eight pieces
        show(f"gelu R[{i}]", [R[k][i] for k in range(8)])
    print(f"  max absolute error {err:.3g} (0 <= |x| <= 4.5)")

if __name__ == "__main__":
    fit_exp()
    fit_erf()
    fit_gelu_erf()
