"""Primitive operations, grouped by family. Each primitive is a Function with forward and backward."""
