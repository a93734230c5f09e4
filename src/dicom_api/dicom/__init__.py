"""The DICOM core: parsing, attributes as JSON, rendering. Plain Python; no web, database or storage code."""
