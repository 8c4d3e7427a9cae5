#!/usr/bin/env python3
"""Known answers for bench/metrics.py (run by tests/cli_bench.sh)."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import metrics  # noqa: E402

failures = 0


def check(name, got, want, tol=1e-9):
    global failures
    ok = abs(got - want) <= tol
    print(("PASS " if ok else "FAIL ") + f"{name}" + ("" if ok else f": got {got}, want {want}"))
    failures += not ok


ref = np.array([[1.0, 2.0], [3.0, 4.0]])
check("rel_l2_of_equal_maps", metrics.rel_l2(ref, ref), 0.0)
check("rel_l2_of_doubled_map", metrics.rel_l2(2 * ref, ref), 1.0)
check("max_abs", metrics.max_abs(ref + np.array([[0, 0.5], [0, -2]]), ref), 2.0)
aligned, s, t = metrics.align_scale_shift(0.5 * ref - 3.0, ref)  # ref = 2 * a + 6
check("alignment_scale", s, 2.0, 1e-9)
check("alignment_shift", t, 6.0, 1e-9)
check("abs_rel_after_exact_alignment", metrics.abs_rel(0.5 * ref - 3.0, ref), 0.0, 1e-12)
check("delta1_after_exact_alignment", metrics.delta1(0.5 * ref - 3.0, ref), 1.0)
# a map that alignment cannot fix: the order of two pixels swapped
swapped = np.array([[1.0, 2.0], [4.0, 3.0]])
al, _, _ = metrics.align_scale_shift(swapped, ref)
want_absrel = float(np.mean(np.abs(al - ref) / ref))
check("abs_rel_matches_definition", metrics.abs_rel(swapped, ref), want_absrel, 1e-12)
# by hand: s = cov/var = 4/5, t = 2.5 - 0.8 * 2.5 = 0.5, aligned = [1.3, 2.1, 3.7, 2.9];
# |aligned - ref| / ref = [0.3, 0.05, 0.7/3, 1.1/4], mean 0.2145833...
check("abs_rel_swapped_value", metrics.abs_rel(swapped, ref), (0.3 + 0.05 + 0.7 / 3 + 0.275) / 4, 1e-12)
# ratios 1.3, 1.05, 1.233, 1.379: two of four below 1.25
check("delta1_swapped", metrics.delta1(swapped, ref), 0.5)
check("delta1_ignores_zero_reference", metrics.delta1(np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 2.0])), 1.0)
print(f"{13 - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
