"""The OHIF viewer's build served from a loopback origin of its own, with an app-config.js pointing at our server.

OHIF 3 signs its DICOMweb requests only with userAuthenticationService.getAuthorizationHeader(); the
data source's ``requestOptions.auth`` is never read. Two ways in without an OpenID Connect provider:
``?token=`` on a viewer URL (routes/Mode/updateAuthServiceAndCleanUrl.ts; the study list does not read it),
or an extension object in app-config.js (loadModule takes objects as they are) whose preRegistration installs
getAuthorizationHeader, for the study list and the viewer. ``app_config`` writes the second unless told not to.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.e2e.live import HOST

# The extension that signs OHIF's requests. Its token comes from the page's sessionStorage, where a page of
# the deployment (or the test) put it, or from ``?token=`` on any URL of the viewer, which it moves there.
AUTH_EXTENSION = """{
    id: 'dicom-api-auth',
    preRegistration({ servicesManager }) {
      const url = new URL(window.location.href);
      if (url.searchParams.get('token')) {
        window.sessionStorage.setItem('dicom-api-token', url.searchParams.get('token'));
        url.searchParams.delete('token');
        window.history.replaceState(null, '', url.toString());
      }
      servicesManager.services.userAuthenticationService.setServiceImplementation({
        getAuthorizationHeader: () => {
          const token = window.sessionStorage.getItem('dicom-api-token');
          return token ? { Authorization: 'Bearer ' + token } : {};
        },
      });
    },
  }"""


def data_source(server_url: str) -> dict[str, object]:
    """OHIF's DICOMweb data source for the server at ``server_url`` (DICOMWEB.md section 6)."""
    root = f"{server_url}/dicomweb"
    return {
        "namespace": "@ohif/extension-default.dataSourcesModule.dicomweb",
        "sourceName": "dicomapi",
        "configuration": {
            "friendlyName": "DICOM API",
            "name": "dicomapi",
            "qidoRoot": root,
            "wadoRoot": root,
            "wadoUriRoot": root,
            "qidoSupportsIncludeField": True,
            "supportsFuzzyMatching": False,
            "supportsWildcard": True,
            "imageRendering": "wadors",
            "thumbnailRendering": "wadors",
            "enableStudyLazyLoad": True,
            "supportsReject": False,
            "dicomUploadEnabled": False,
            "omitQuotationForMultipartRequest": True,
            "bulkDataURI": {"enabled": True},
        },
    }


def app_config(server_url: str, sign_in_extension: bool = True) -> str:
    """The app-config.js of a viewer of our server alone."""
    settings = {
        "routerBasename": "/",
        "modes": [],
        "showStudyList": True,
        "showWarningMessageForCrossOrigin": False,
        "showCPUFallbackMessage": False,
        "showLoadingIndicator": True,
        "investigationalUseDialog": {"option": "never"},
        "maxNumberOfWebWorkers": 2,
        "defaultDataSourceName": "dicomapi",
        "dataSources": [data_source(server_url)],
    }
    extensions = f"[{AUTH_EXTENSION}]" if sign_in_extension else "[]"
    return f"window.config = Object.assign({json.dumps(settings, indent=2)}, {{ extensions: {extensions} }});\n"


class _Handler(SimpleHTTPRequestHandler):
    """dist/ as is, app-config.js from memory, and index.html for every other path (the app's own routes)."""

    def __init__(self, *args: object, site: ViewerSite, **kwargs: object) -> None:
        self.site = site
        super().__init__(*args, directory=str(site.dist), **kwargs)  # type: ignore[arg-type]

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/app-config.js":
            self._send(self.site.config.encode(), "text/javascript")
            return
        if not (self.site.dist / path.lstrip("/")).is_file():
            self.path = "/index.html"
        super().do_GET()

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


class ViewerSite:
    """The viewer's static site; ``config`` (the app-config.js served) may change between page loads."""

    def __init__(self, dist: Path, port: int, config: str) -> None:
        self.dist = dist
        self.url = f"http://{HOST}:{port}"
        self.config = config


@contextlib.contextmanager
def serve_viewer(dist: Path, port: int, config: str) -> Iterator[ViewerSite]:
    """Serve ``dist`` at http://127.0.0.1:``port`` in a thread until the block ends."""
    site = ViewerSite(dist, port, config)
    httpd = ThreadingHTTPServer((HOST, port), partial(_Handler, site=site))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
