"""The mutants most likely to make a decoder allocate, sent to a real server: its resident memory, and its render
processes', stays bounded, and it answers every one of them without a 5xx.

Measured with psutil on the server's process tree (tests/e2e/live.py), one mutant at a time, so that a failure
names the mutant that drove memory up. The server starts under the module's address-space ceiling, which its
render processes inherit: that keeps a runaway decoder from exhausting the machine, far above the bound tested.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import mutants
from tests.adversarial.probe import Probe
from tests.e2e.live import LiveServer, RssSampler, ServerDidNotStart, run_server

MIB = 1024 * 1024
BOUND = 1536 * MIB  # server and render processes together, at any moment
# The mutations that change what a decoder is asked to allocate: declared sizes and lengths, codestream headers,
# the transfer syntax (which decoder), and files cut short.
HUNGRY = {"codestream_header", "image_extremes", "length_field", "transfer_syntax_swapped", "truncate"}
CHOSEN = [n for n in range(mutants.COUNT) if mutants.plan(n)[1] in HUNGRY]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, address_space_ceiling: int | None) -> Iterator[LiveServer]:
    try:
        with run_server(tmp_path_factory.mktemp("server"), {"DICOM_API_RENDER_WORKERS": "2"}) as live:
            yield live
    except ServerDidNotStart as exc:
        pytest.fail(f"the server did not start: {exc}", pytrace=False)


@pytest.mark.slow
def test_memory_stays_bounded_through_the_mutants(server: LiveServer) -> None:
    peaks: list[tuple[int, mutants.Mutant]] = []
    problems: list[str] = []
    with server.client(timeout=300) as api:
        for number in CHOSEN:
            mutant = mutants.mutant(number)
            probe = Probe(api)
            with RssSampler(server.process, interval=0.02) as rss:
                if (file_id := probe.upload(mutant.data)) is not None:
                    probe.read_everything(file_id, mutant.data, every_attribute=False)
            peaks.append((rss.peak, mutant))
            problems += [f"{mutant}: {p}" for p in probe.problems]
            if rss.peak > BOUND:
                break  # the finding is made; the mutants after it would only wait on the same runaway
    assert all(peak > 0 for peak, _ in peaks), "the sampler saw no memory: the instrument is broken"
    over = [f"  - {peak / MIB:.0f} MiB during {m}" for peak, m in peaks if peak > BOUND]
    if over:
        pytest.fail(f"resident memory above {BOUND / MIB:.0f} MiB:\n" + "\n".join(over), pytrace=False)
    if problems:
        pytest.fail("\n".join(f"  - {p}" for p in problems), pytrace=False)
