"""The adversarial suite: one app for all the mutants, under an address-space ceiling.

The ceiling turns an allocation a hostile header asks for (gigabytes for a few bytes of Rows x Columns x Frames)
into a MemoryError that the suite reports as the 5xx it causes, instead of the machine's memory running out.
"""

from __future__ import annotations

from collections.abc import Iterator

import psutil
import pytest
from fastapi.testclient import TestClient

from tests.helpers import make_client, settings_for

GIB = 1024**3
HEADROOM = 3 * GIB  # above what the process has mapped when the module starts; the mutants are < 1 MB each


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory, address_space_ceiling: int | None) -> Iterator[TestClient]:
    """One in-process app and database for the whole module (the conftest client, built once), signed in.

    It renders in a worker process, started under the ceiling, which it inherits: a decoder that runs away
    (some do, on a few bytes of a codestream's header) brings down that process, not the test run.
    """
    yield from make_client(settings_for(tmp_path_factory.mktemp("adversarial") / "data", render_workers=1))


@pytest.fixture(scope="module")
def address_space_ceiling() -> Iterator[int | None]:
    """RLIMIT_AS lowered to the mapped size plus HEADROOM for the module, restored after; None where the
    platform has no such limit (Windows)."""
    try:
        import resource
    except ImportError:
        yield None
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    ceiling = psutil.Process().memory_info().vms + HEADROOM
    ceiling = min([ceiling] + [limit for limit in (soft, hard) if limit != resource.RLIM_INFINITY])
    try:
        resource.setrlimit(resource.RLIMIT_AS, (ceiling, hard))
    except (ValueError, OSError):  # a platform that does not enforce it may refuse it (macOS can)
        yield None
        return
    try:
        yield ceiling
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
