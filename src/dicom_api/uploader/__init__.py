"""`dicom-api upload`: the command a person runs to send files to a server."""
