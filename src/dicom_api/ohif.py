"""`dicom-api ohif install`: the OHIF viewer's build (the npm package @ohif/app) fetched from the npm registry
into the data folder and served at /ohif/, pointed at this service's /dicomweb root.

OHIF's published build expects to live at the site's root: its index.html and its webpack runtime name "/". Served
at /ohif/, both are rewritten once here; its app-config.js is ours. OHIF signs its DICOMweb requests only through
userAuthenticationService.getAuthorizationHeader(), so the config carries an extension that takes the bearer token
the page at /ui/ left in sessionStorage (same origin) and nothing else: no token in a URL.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import re
import shutil
import tarfile
from pathlib import Path
from urllib.parse import quote

import httpx

REGISTRY = "https://registry.npmjs.org"
PACKAGE = "@ohif/app"
DEFAULT_VERSION = "3.13.2"  # the release the sign-in extension was tested against
MOUNT = "/ohif/"
TOKEN_KEY = "dicom-api-token"  # noqa: S105 - the sessionStorage key, not a secret
MAX_TARBALL = 512 * 1024**2

_AUTH_EXTENSION = """{
    id: 'dicom-api-auth',
    preRegistration({ servicesManager }) {
      servicesManager.services.userAuthenticationService.setServiceImplementation({
        getAuthorizationHeader: () => {
          const token = window.sessionStorage.getItem('TOKEN_KEY');
          return token ? { Authorization: 'Bearer ' + token } : {};
        },
      });
    },
  }""".replace("TOKEN_KEY", TOKEN_KEY)


class InstallError(RuntimeError):
    """The package could not be fetched, verified or unpacked; the message says which."""


def ohif_folder(data_dir: Path) -> Path:
    """Where the installed viewer lives (served at /ohif/ when it holds index.html)."""
    return data_dir / "ohif"


def app_config() -> str:
    """OHIF's app-config.js: one DICOMweb data source, this service's /dicomweb on the same origin."""
    root = "/dicomweb"
    source = {
        "namespace": "@ohif/extension-default.dataSourcesModule.dicomweb",
        "sourceName": "dicomapi",
        "configuration": {
            "friendlyName": "DICOM API", "name": "dicomapi", "qidoRoot": root, "wadoRoot": root,
            "wadoUriRoot": root, "qidoSupportsIncludeField": True, "supportsFuzzyMatching": False,
            "supportsWildcard": True, "imageRendering": "wadors", "thumbnailRendering": "wadors",
            "enableStudyLazyLoad": True, "supportsReject": False, "dicomUploadEnabled": False,
            "omitQuotationForMultipartRequest": True, "bulkDataURI": {"enabled": True},
        },
    }  # fmt: skip
    settings = {
        "routerBasename": MOUNT.rstrip("/"),
        "modes": [],
        "showStudyList": True,
        "showWarningMessageForCrossOrigin": False,
        "showCPUFallbackMessage": False,
        "investigationalUseDialog": {"option": "never"},
        "maxNumberOfWebWorkers": 2,
        "defaultDataSourceName": "dicomapi",
        "dataSources": [source],
    }
    body = json.dumps(settings, indent=2)
    return f"window.config = Object.assign({body}, {{ extensions: [{_AUTH_EXTENSION}] }});\n"


def install(data_dir: Path, version: str = DEFAULT_VERSION, client: httpx.Client | None = None) -> Path:
    """Fetch @ohif/app ``version`` from the npm registry, check its integrity against the registry's, and put its
    build in ``ohif_folder(data_dir)`` whole or not at all. Returns the folder."""
    if not re.fullmatch(r"[0-9A-Za-z.+-]{1,64}", version):
        raise InstallError("the version must look like 3.13.2")
    with client or httpx.Client(timeout=httpx.Timeout(60, connect=15), follow_redirects=True) as http:
        meta = _get(http, f"{REGISTRY}/{PACKAGE}/{quote(version)}").json()
        dist = meta.get("dist") or {}
        tarball, integrity = dist.get("tarball"), dist.get("integrity", "")
        if not isinstance(tarball, str) or not tarball.startswith(REGISTRY + "/"):
            raise InstallError("the registry named no tarball of its own for this version")
        data = _get(http, tarball).content
    _verify(data, integrity)
    return _unpack(data, ohif_folder(data_dir))


def _get(http: httpx.Client, url: str) -> httpx.Response:
    try:
        response = http.get(url)
    except httpx.HTTPError as exc:
        raise InstallError(f"cannot reach the npm registry: {exc}") from None
    if response.status_code != 200:
        raise InstallError(f"the npm registry answered {response.status_code} for {url}")
    if len(response.content) > MAX_TARBALL:
        raise InstallError("the package is larger than expected")
    return response


def _verify(data: bytes, integrity: str) -> None:
    """Subresource Integrity as npm records it (sha512-<base64>)."""
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512" or not expected:
        raise InstallError("the registry gave no sha512 integrity for the package")
    if base64.b64encode(hashlib.sha512(data).digest()).decode() != expected:
        raise InstallError("the package does not match the registry's integrity checksum")


def _unpack(data: bytes, target: Path) -> Path:
    staging = target.with_name(target.name + ".unpacking")
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(staging)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        members = [m for m in archive.getmembers() if m.name.startswith("package/dist/")]
        archive.extractall(staging, members=members, filter="data")
    dist = staging / "package" / "dist"
    if not (dist / "index.html").is_file():
        shutil.rmtree(staging)
        raise InstallError("the package holds no dist/index.html")
    _rebase(dist)
    (dist / "app-config.js").write_text(app_config(), encoding="utf-8")
    old = target.with_name(target.name + ".old")
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(old)
    if target.exists():
        target.rename(old)
    dist.rename(target)
    shutil.rmtree(staging)
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(old)
    return target


def _rebase(dist: Path) -> None:
    """Make a build made for "/" work under MOUNT: index.html's links, the webpack runtimes' public path (the app's
    and its workers'), the stylesheets' fonts."""
    index = dist / "index.html"
    html = index.read_text(encoding="utf-8")
    html = html.replace('window.PUBLIC_URL="/"', f'window.PUBLIC_URL="{MOUNT}"')
    html = re.sub(r'(href|src)="/(?!/)', rf'\1="{MOUNT}', html)
    index.write_text(html, encoding="utf-8")
    for bundle in dist.glob("*.js"):  # the app's and each worker's webpack runtime
        code = bundle.read_text(encoding="utf-8")
        rebased = code.replace('__webpack_require__.p = "/";', f'__webpack_require__.p = "{MOUNT}";')
        if rebased != code:
            bundle.write_text(rebased, encoding="utf-8")
    for sheet in dist.glob("*.css"):  # fonts
        css = sheet.read_text(encoding="utf-8")
        sheet.write_text(re.sub(r"url\(/(?!/)", f"url({MOUNT}", css), encoding="utf-8")
    worker = dist / "init-service-worker.js"
    if worker.is_file():  # a service worker scoped to the site's root would serve OHIF's files for /ui/ too
        worker.write_text("// the service worker is not installed under /ohif/\n", encoding="utf-8")
