"""DICOM API: keep DICOM files safely and reach them over HTTP."""

__version__ = "0.1.0"
