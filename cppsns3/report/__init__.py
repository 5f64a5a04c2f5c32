"""Plots of a run output directory (``cppsns3 report DIR``) and of the paper.

- :func:`report_run`: every figure a run directory supports, in ``DIR/plots``;
- :mod:`cppsns3.report.plots`: the figure functions (PNG, matplotlib Agg);
- :mod:`cppsns3.report.paper`: the paper's figures and Table 3 from several runs
  (used by ``scripts/reproduce_paper.py``);
- :mod:`cppsns3.report.rundir`: loading a run directory.
"""

from cppsns3.report.report import PLOT_FILES, report_run
from cppsns3.report.rundir import RunData, load_run

__all__ = ["PLOT_FILES", "RunData", "load_run", "report_run"]
