"""Sweep runs without the service: experiment names."""

from __future__ import annotations

import re
from datetime import datetime

from vidu_nb.ui.sweeps import default_experiment


def test_two_sweeps_in_the_same_second_get_different_experiments():
    now = datetime(2025, 3, 4, 5, 6, 7)
    names = {default_experiment(now) for _ in range(10)}
    assert len(names) == 10
    assert all(re.fullmatch(r"sweep-20250304-050607-[0-9a-f]{6}", n) for n in names), names
