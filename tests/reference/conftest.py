"""dcmtk for the reference tests, and the counts of their outcomes at the end of the run (the README's table).

Without dcmtk the tests skip with the reason, and fail in CI. They read files, not the database: the PostgreSQL
pass of scripts/dev.py leaves them out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest

from tests import databases
from tests.reference.dcmtk import TOOLS, Dcmtk, missing_tools

CATEGORY = "dcmtk category"
HERE = "tests/reference/"
_counts: dict[str, Counter[str]] = {}


@pytest.fixture(scope="session")
def dcmtk(tmp_path_factory: pytest.TempPathFactory) -> Dcmtk:
    missing = missing_tools()
    if missing:
        reason = f"dcmtk is not installed ({', '.join(missing)} not on PATH; Debian: apt-get install dcmtk)"
        if databases.IN_CI:
            pytest.fail(f"{reason}: in CI the reference tests fail rather than skip", pytrace=False)
        pytest.skip(reason)
    return Dcmtk(tmp_path_factory.mktemp("dcmtk"))


@pytest.fixture
def category(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Records how a case came out, for the summary."""

    def record(name: str) -> None:
        request.node.user_properties.append((CATEGORY, name))

    return record


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if databases.BACKEND != "postgres":
        return
    left = [item for item in items if item.nodeid.startswith(HERE)]
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = [item for item in items if not item.nodeid.startswith(HERE)]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Counted where reports arrive (the controller, under xdist), from the category each test recorded."""
    recorded = [str(value) for key, value in report.user_properties if key == CATEGORY]
    if report.when != "call" or not recorded:
        return
    test = report.nodeid.split("::")[-1].split("[")[0]
    outcome = recorded[-1]
    if hasattr(report, "wasxfail"):
        outcome = f"{outcome} (xfail: known rendering bug)"
    elif report.failed:
        outcome = f"{outcome} (FAILED)"
    _counts.setdefault(test, Counter())[outcome] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _counts:
        return
    terminalreporter.write_sep("-", f"rendering checked against dcmtk ({', '.join(TOOLS)})")
    for test, counts in sorted(_counts.items()):
        terminalreporter.write_line(f"{test}: {sum(counts.values())} cases")
        for outcome, count in counts.most_common():
            terminalreporter.write_line(f"  {count:4d}  {outcome}")
