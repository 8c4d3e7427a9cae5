"""Accuracy of a depth map against a reference (PyTorch fp32), as bench/compare reports it.

MiDaS predicts relative inverse depth, defined up to scale and shift, so
besides the raw differences we report errors after the least-squares
scale-and-shift alignment that MiDaS's own evaluation uses.
"""
import numpy as np


def rel_l2(a, ref):
    """||a - ref|| / ||ref||."""
    a, ref = np.asarray(a, np.float64), np.asarray(ref, np.float64)
    den = np.linalg.norm(ref)
    return float(np.linalg.norm(a - ref) / (den if den > 0 else 1.0))


def max_abs(a, ref):
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(ref, np.float64))))


def align_scale_shift(a, ref):
    """s * a + t closest to ref in least squares; returns (aligned, s, t)."""
    x, y = np.asarray(a, np.float64).ravel(), np.asarray(ref, np.float64).ravel()
    A = np.stack([x, np.ones_like(x)], axis=1)
    (s, t), *_ = np.linalg.lstsq(A, y, rcond=None)
    return (s * np.asarray(a, np.float64) + t), float(s), float(t)


def abs_rel(a, ref, eps=1e-6):
    """mean(|aligned - ref| / ref) over pixels where ref > eps, after alignment."""
    aligned, _, _ = align_scale_shift(a, ref)
    ref = np.asarray(ref, np.float64)
    m = ref > eps
    return float(np.mean(np.abs(aligned[m] - ref[m]) / ref[m])) if m.any() else 0.0


def delta1(a, ref, eps=1e-6):
    """Share of pixels with max(aligned/ref, ref/aligned) < 1.25, after alignment."""
    aligned, _, _ = align_scale_shift(a, ref)
    ref = np.asarray(ref, np.float64)
    m = ref > eps
    if not m.any():
        return 1.0
    p, r = aligned[m], ref[m]
    ok = (p > eps) & (np.maximum(p / np.where(r > 0, r, 1), r / np.where(p > eps, p, 1)) < 1.25)
    return float(np.mean(ok))


def all_metrics(a, ref):
    return {"rel_l2": rel_l2(a, ref), "max_abs": max_abs(a, ref), "abs_rel": abs_rel(a, ref),
            "delta1": delta1(a, ref)}
