"""Real DICOMweb clients against the server as a process: dicomweb-client, Orthanc's DICOMweb plugin, OHIF.

Each module starts one server (the e2e `launch` fixture) and stores the instances of studies.py in it.
`pytest -m clients` runs them alone. What they need beyond the dev extras: Debian `orthanc orthanc-dicomweb
chromium npm` (.ci/run installs them in CI; elsewhere a missing one skips its tests with the reason).
Variables: DICOM_API_OHIF_CACHE (where the OHIF build is kept, default ~/.cache/dicom-api/ohif),
DICOM_API_OHIF_VERSION (the @ohif/app release), DICOM_API_CHROMIUM (the browser's path),
DICOM_API_SCREENSHOTS (a folder for the viewer's screenshots).
"""

from __future__ import annotations

import pytest

from tests.e2e.clients.studies import Original, originals
from tests.e2e.live import Launch, LiveServer

# Long enough for a whole module: OHIF and Orthanc hold the one token they were given.
TOKEN_TTL = "3600"


@pytest.fixture(scope="session")
def instances() -> dict[str, Original]:
    return originals()


@pytest.fixture(scope="module")
def dicomweb_server(launch: Launch) -> LiveServer:
    """The server of this module, its tokens valid for an hour."""
    return launch(DICOM_API_ACCESS_TOKEN_TTL_SECONDS=TOKEN_TTL)
