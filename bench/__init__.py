"""anyprop's benchmarks: each workload against a hand-written NumPy reference, in one run."""
