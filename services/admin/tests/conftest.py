import sys
from pathlib import Path

# Shared helpers for this service's tests (importlib mode: put the folder on the path).
sys.path.insert(0, str(Path(__file__).parent))
