"""Benchmarks of langchain-qianfan-free (see docs/performance.md)."""
