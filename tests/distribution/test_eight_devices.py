"""Runs ``eight_devices.py`` in a process of its own, where JAX starts with 8 CPU devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=8``): the suite's own processes started
JAX with one, and JAX reads the flag only when it starts.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

CHECKS = Path(__file__).with_name("eight_devices.py")
ROOT = CHECKS.parents[2]
#: How many tests ``eight_devices.py`` holds: all of them must run and pass.
EXPECTED = 9


def test_tasks_on_eight_devices_match_one_device():
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "JAX_PLATFORMS": "cpu",
        "XLA_FLAGS": "--xla_force_host_platform_device_count=8",
    }
    env.pop("TEXTBONES_TEST_JAX_CACHE", None)  # a cache folder belongs to one process
    env.pop("PYTEST_XDIST_WORKER", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "--durations=5",
            str(CHECKS),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    print(result.stdout[-4000:])
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-3000:]
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed and int(passed.group(1)) == EXPECTED, result.stdout[-2000:]
