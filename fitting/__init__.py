"""Statistics on the processors' histograms: template fits of scale factors, goodness of fit, coverage.

The notebook's model is pred = s_s · H_sig + s_b · H_bkg (:func:`notebook_model`); any number of
templates with free or fixed scale factors is a :class:`TemplateModel`. Fits, toys and coverage are
vectorised over toys (the model is linear in its scale factors), so 10⁵ toys with 2-D refits take
seconds.

>>> from hzx.fitting import notebook_model, fit, scan_1d, coverage
>>> model = notebook_model(h_sig, h_bkg)                      # doctest: +SKIP
>>> fit(model, h_data).as_dict()                               # doctest: +SKIP
"""

from hzx.fitting.coverage import CoverageConfig, CoverageResult, coverage, coverage_statistic
from hzx.fitting.fits import (
    CONTOUR_LEVELS_2D,
    BatchFitResult,
    FitResult,
    ProfileResult,
    Scan1DResult,
    Scan2DResult,
    chi2_at,
    fit,
    fit_many,
    profile,
    scan_1d,
    scan_2d,
)
from hzx.fitting.model import (
    BACKGROUND_PARAMETER,
    SIGNAL_PARAMETER,
    Template,
    TemplateModel,
    drop_empty_bins,
    histogram_arrays,
    notebook_model,
    template_model,
)
from hzx.fitting.pyhf_export import to_pyhf_workspace, write_pyhf_workspace
from hzx.fitting.report import (
    ScanConfig,
    StudyConfig,
    StudyResult,
    make_plots,
    model_from_output,
    run_study,
    study_report,
    summary_lines,
    write_report,
)
from hzx.fitting.statistics import (
    STATISTICS,
    bins_used,
    chi2,
    degrees_of_freedom,
)
from hzx.fitting.toys import GofConfig, GofResult, generate_toys, goodness_of_fit

__all__ = [
    "BACKGROUND_PARAMETER",
    "CONTOUR_LEVELS_2D",
    "SIGNAL_PARAMETER",
    "STATISTICS",
    "BatchFitResult",
    "CoverageConfig",
    "CoverageResult",
    "FitResult",
    "GofConfig",
    "GofResult",
    "ProfileResult",
    "Scan1DResult",
    "Scan2DResult",
    "ScanConfig",
    "StudyConfig",
    "StudyResult",
    "Template",
    "TemplateModel",
    "bins_used",
    "chi2",
    "chi2_at",
    "coverage",
    "coverage_statistic",
    "degrees_of_freedom",
    "drop_empty_bins",
    "fit",
    "fit_many",
    "generate_toys",
    "goodness_of_fit",
    "histogram_arrays",
    "make_plots",
    "model_from_output",
    "notebook_model",
    "profile",
    "run_study",
    "scan_1d",
    "scan_2d",
    "study_report",
    "summary_lines",
    "template_model",
    "to_pyhf_workspace",
    "write_pyhf_workspace",
    "write_report",
]
