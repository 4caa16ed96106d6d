"""`python -m taskflow_common.events.export DIR`: regenerate the checked-in JSON Schemas."""

import sys
from pathlib import Path

from taskflow_common.events.registry import write_json_schemas

if __name__ == "__main__":
    for path in write_json_schemas(Path(sys.argv[1] if len(sys.argv) > 1 else "schemas")):
        print(path)
