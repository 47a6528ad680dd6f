"""Pure numpy/scipy theory: formulas, quadrature, series, exact combinatorics (no torch)."""
