"""Self-contained numeric runtimes (numpy, scipy, stdlib only), inlined into generated solvers."""
