"""`dicom-api ohif install`: the package is checked against the registry's integrity, unpacked whole, rebased under
/ohif/ and configured for this service's /dicomweb, without the network (a mock registry)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from pathlib import Path

import httpx
import pytest

from dicom_api.ohif import REGISTRY, InstallError, app_config, install, ohif_folder

INDEX = '<script>window.PUBLIC_URL="/"</script><link href="/app.css"><script src="/app-config.js"></script>'
BUNDLE = '(() => {\n__webpack_require__.p = "/";\n})();'


def _tarball(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _registry(tarball: bytes, integrity: str | None = None) -> httpx.Client:
    integrity = integrity or "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    url = f"{REGISTRY}/@ohif/app/-/app-3.13.2.tgz"

    def answer(request: httpx.Request) -> httpx.Response:
        if str(request.url) == f"{REGISTRY}/@ohif/app/3.13.2":
            return httpx.Response(200, json={"dist": {"tarball": url, "integrity": integrity}})
        if str(request.url) == url:
            return httpx.Response(200, content=tarball)
        return httpx.Response(404)

    return httpx.Client(transport=httpx.MockTransport(answer))


PACKAGE = {
    "package/package.json": "{}",
    "package/dist/index.html": INDEX,
    "package/dist/app.bundle.1.js": BUNDLE,
    "package/dist/compute.bundle.2.js": BUNDLE,
    "package/dist/app.bundle.css": "@font-face{src:url(/a.woff2)}",
}


def test_install_rebases_the_build_under_ohif_and_points_it_at_dicomweb(tmp_path: Path) -> None:
    folder = install(tmp_path, "3.13.2", client=_registry(_tarball(PACKAGE)))
    assert folder == ohif_folder(tmp_path)
    html = (folder / "index.html").read_text()
    assert 'window.PUBLIC_URL="/ohif/"' in html
    assert 'href="/ohif/app.css"' in html
    assert 'src="/ohif/app-config.js"' in html
    assert '__webpack_require__.p = "/ohif/";' in (folder / "app.bundle.1.js").read_text()
    assert '__webpack_require__.p = "/ohif/";' in (folder / "compute.bundle.2.js").read_text()  # a worker's
    assert "url(/ohif/a.woff2)" in (folder / "app.bundle.css").read_text()
    config = (folder / "app-config.js").read_text()
    assert '"routerBasename": "/ohif"' in config
    assert '"qidoRoot": "/dicomweb"' in config
    assert "sessionStorage.getItem('dicom-api-token')" in config
    assert not (tmp_path / "package.json").exists()  # only dist/ is kept


def test_a_package_that_does_not_match_its_integrity_is_refused(tmp_path: Path) -> None:
    other = "sha512-" + base64.b64encode(hashlib.sha512(b"other").digest()).decode()
    with pytest.raises(InstallError, match="integrity"):
        install(tmp_path, "3.13.2", client=_registry(_tarball(PACKAGE), other))
    assert not ohif_folder(tmp_path).exists()


def test_a_reinstall_replaces_the_previous_one_whole(tmp_path: Path) -> None:
    install(tmp_path, "3.13.2", client=_registry(_tarball(PACKAGE)))
    (ohif_folder(tmp_path) / "stale.js").write_text("old")
    install(tmp_path, "3.13.2", client=_registry(_tarball(PACKAGE)))
    assert not (ohif_folder(tmp_path) / "stale.js").exists()


def test_a_version_that_is_not_one_is_refused_before_any_request(tmp_path: Path) -> None:
    with pytest.raises(InstallError, match="version"):
        install(tmp_path, "../../x", client=_registry(b""))


def test_the_config_is_a_javascript_assignment_of_json() -> None:
    config = app_config()
    assert config.startswith("window.config = Object.assign(")
    settings = json.loads(config[len("window.config = Object.assign(") : config.index(", { extensions")])
    assert settings["dataSources"][0]["configuration"]["wadoRoot"] == "/dicomweb"
