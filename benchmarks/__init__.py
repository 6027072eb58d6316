"""Side-by-side speed and memory of nerve against PyTorch on the shared workloads (``python -m benchmarks.run``).

Deliberately empty of imports: ``benchmarks.run`` must clear the OpenBLAS variables before NumPy loads.
"""
