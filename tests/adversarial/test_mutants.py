"""Seeded mutants of the corpus through upload and, when accepted, through every read route.

The promise checked: whatever a client uploads, no answer is a 5xx, every error is {"error": "<message>"}, and a
stored file comes back byte for byte. Each failure names its mutant's seed and mutation (tests/mutants.py).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests import mutants
from tests.adversarial.probe import Probe


def test_mutants_are_reproducible_and_distinct() -> None:
    """The same number gives the same bytes; every mutant differs from its base file."""
    for number in (0, 1, mutants.COUNT - 1):
        first, again = mutants.mutant(number), mutants.mutant(number)
        assert (first.base, first.detail, first.data) == (again.base, again.detail, again.data)
        assert first.data != mutants.CORPUS[first.base].read_bytes(), str(first)


# Mutants beyond COUNT that broke a promise when a longer run explored them, each for a failure none of the first
# COUNT shows: Number of Frames 'inf' (render and header), a VR 'ZZ', an element read with an unknown VR, and a
# Rescale Intercept read as text by the renderer. Kept so that what was fixed stays fixed.
REGRESSIONS = (384, 431, 666, 743)


@pytest.mark.parametrize("number", [*range(mutants.COUNT), *REGRESSIONS], ids=mutants.label)
def test_mutant(app_client: TestClient, address_space_ceiling: int | None, number: int) -> None:
    mutant = mutants.mutant(number)
    probe = Probe(app_client)
    file_id = probe.upload(mutant.data)
    if file_id is not None:
        probe.read_everything(file_id, mutant.data)
    if probe.problems:
        pytest.fail(f"{mutant}\n" + "\n".join(f"  - {p}" for p in probe.problems), pytrace=False)
