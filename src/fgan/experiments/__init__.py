"""Reproductions of the paper's experiments (``fgan reproduce NAME``)."""
