"""Generate docs/configuration.md from the settings classes, so the reference never drifts.

    uv run python scripts/config_reference.py            # rewrite docs/configuration.md
    uv run python scripts/config_reference.py --check    # exit 1 if the file is stale

Each setting's description is the comment just above (or beside) its field in the source.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_settings import BaseSettings

from taskflow_common.settings import BaseServiceSettings

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "configuration.md"

SECTIONS = (
    (
        "Every service (`taskflow_common.settings.BaseServiceSettings`)",
        "taskflow_common.settings:BaseServiceSettings",
    ),
    ("auth-gateway", "taskflow_auth_gateway.config:GatewaySettings"),
    ("tasks", "taskflow_tasks.config:Settings"),
    ("suggest", "taskflow_suggest.config:Settings"),
    ("notify", "taskflow_notify.config:NotifySettings"),
    ("admin", "taskflow_admin.config:AdminSettings"),
    ("embedded mode (`make run`)", "taskflow_embedded.config:EmbeddedSettings"),
)
_FIELD = re.compile(r"^\s{4}(?P<name>[a-z_][a-z0-9_]*)\s*:")


def load(target: str) -> type[BaseSettings]:
    module, name = target.split(":")
    cls: type[BaseSettings] = getattr(importlib.import_module(module), name)
    return cls


def comments(cls: type[Any]) -> dict[str, str]:
    """field name -> the comment block above it (or its trailing comment)."""
    found: dict[str, str] = {}
    pending: list[str] = []
    for line in inspect.getsource(cls).splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            pending.append(stripped.lstrip("# ").strip())
            continue
        match = _FIELD.match(line)
        if match:
            trailing = line.split("  # ", 1)[1].strip() if "  # " in line else ""
            found[match.group("name")] = " ".join([*pending, trailing]).strip()
        pending = []
    return found


def env_name(cls: type[BaseSettings], name: str) -> str:
    field = cls.model_fields[name]
    if isinstance(field.validation_alias, str):
        return field.validation_alias
    prefix = cls.model_config.get("env_prefix", "")
    return f"{prefix}{name}".upper()


def default_of(cls: type[BaseSettings], name: str) -> str:
    field = cls.model_fields[name]
    factory = field.default_factory
    value = factory() if factory is not None else field.default  # type: ignore[call-arg]
    if value is None:
        return "unset"
    if isinstance(value, SecretStr):
        return "a development placeholder (refused in production)"
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    if isinstance(value, dict):
        value = {
            k: v.model_dump(mode="json") if hasattr(v, "model_dump") else v
            for k, v in value.items()
        }
    if isinstance(value, (dict, list)):
        return f"`{json.dumps(value, separators=(',', ':'))}`"
    return f"`{value}`"


def render() -> str:
    lines = [
        "# Configuration reference",
        "",
        "Generated from the settings classes by `scripts/config_reference.py`; a test fails",
        "when it is stale. Every setting is an environment variable; lists and maps take JSON.",
        "With `TASKFLOW_ENV=production`, development placeholder secrets are refused at start.",
        "",
    ]
    base_fields = set(BaseServiceSettings.model_fields)
    for title, target in SECTIONS:
        cls = load(target)
        notes: dict[str, str] = {}
        for klass in reversed([k for k in cls.__mro__ if isinstance(k, type)]):
            if (
                isinstance(klass, type)
                and issubclass(klass, BaseSettings)
                and klass is not BaseSettings
            ):
                notes.update(comments(klass))
        own = [
            n
            for n in cls.model_fields
            if cls is BaseServiceSettings
            or n not in base_fields
            or cls.model_fields[n].default != BaseServiceSettings.model_fields[n].default
        ]
        lines += [f"## {title}", "", "| variable | default | meaning |", "|---|---|---|"]
        for name in own:
            meaning = notes.get(name) or (cls.model_fields[name].description or "")
            meaning = meaning.replace("|", "\\|")
            lines.append(f"| `{env_name(cls, name)}` | {default_of(cls, name)} | {meaning} |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = render()
    if args.check:
        if OUTPUT.read_text() != text:
            print(f"{OUTPUT} is stale: run `uv run python scripts/config_reference.py`")
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
