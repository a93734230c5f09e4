"""Rendering checked against an independent renderer: Debian's dcmtk."""
