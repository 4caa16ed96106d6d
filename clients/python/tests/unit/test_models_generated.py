"""The committed models are what the generator makes of the committed OpenAPI copy.

(The copy itself is compared with what a live gateway serves in tests/e2e and
tests/integration.)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]


def test_models_py_is_generated_from_the_committed_openapi() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "sdk_models.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
