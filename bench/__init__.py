"""Benchmarks: each module runs one measurement and prints a results table."""
