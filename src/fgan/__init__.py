"""fgan."""
