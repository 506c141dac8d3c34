"""SciPy's image filters and transforms, imported when first called.

``scipy.ndimage`` takes about 0.3 s to import; the analyzers that filter pictures and
frame statistics are imported by every ``cintel plan`` and every worker, most of which
never filter anything. These wrappers keep SciPy's signatures and results.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def median_filter(values: np.ndarray, **options: Any) -> np.ndarray:
    """``scipy.ndimage.median_filter``."""
    from scipy import ndimage

    return np.asarray(ndimage.median_filter(values, **options))


def maximum_filter1d(values: np.ndarray, size: int, **options: Any) -> np.ndarray:
    """``scipy.ndimage.maximum_filter1d``."""
    from scipy import ndimage

    return np.asarray(ndimage.maximum_filter1d(values, size, **options))


def minimum_filter(values: np.ndarray, **options: Any) -> np.ndarray:
    """``scipy.ndimage.minimum_filter``."""
    from scipy import ndimage

    return np.asarray(ndimage.minimum_filter(values, **options))


def laplace(values: np.ndarray, **options: Any) -> np.ndarray:
    """``scipy.ndimage.laplace``."""
    from scipy import ndimage

    return np.asarray(ndimage.laplace(values, **options))


def dctn(values: np.ndarray, **options: Any) -> np.ndarray:
    """``scipy.fft.dctn``."""
    from scipy import fft

    return np.asarray(fft.dctn(values, **options))
