"""Plotting helpers shared by hzx (mplhep styles, PNG and PDF output)."""
