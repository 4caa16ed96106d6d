"""Full-text search answers the same in the embedded suite and in the distributed one.

One test, run against both: PostgreSQL's English text search (stemming, stop words,
websearch syntax) is what the tasks API promises, whichever mode serves it. The distributed
suite is the one on 127.0.0.1:8080 (started by `scripts/suite up` if it is not running).
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from taskflow_common.testing.suite import require_suite

from .conftest import EmbeddedRun  # type: ignore[import-not-found]

TASKS = {
    "Deploying the billing service": "Roll out to production",
    "Deploy checklist": "cats and dogs",
    "Review running costs": "",
    "Quarterly report": "The deployment of the new office printers",
}
# query -> the titles it finds among TASKS
ANSWERS = {
    "deployed": {"Deploying the billing service", "Deploy checklist", "Quarterly report"},
    "runs": {"Review running costs"},
    "cat": {"Deploy checklist"},
    '"billing service"': {"Deploying the billing service"},
    "deploy -printers": {"Deploying the billing service", "Deploy checklist"},
    "checklist or report": {"Deploy checklist", "Quarterly report"},
    "the": set(),  # a stop word alone matches nothing
}


@pytest.fixture(scope="module")
def embedded_suite() -> Iterator[str]:
    root = Path(tempfile.mkdtemp(prefix="taskflow-embedded-"))
    root.chmod(0o755)  # the database server's OS user must reach it
    run = EmbeddedRun(root / ".data")
    try:
        run.start()
        yield run.url
    finally:
        if run.process is not None and run.process.poll() is None:
            run.stop(signal.SIGTERM)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["embedded", "distributed"])
def gateway(request: pytest.FixtureRequest) -> str:
    if request.param == "embedded":
        return str(request.getfixturevalue("embedded_suite"))
    return require_suite()


def test_full_text_search_finds_the_same_tasks(gateway: str) -> None:
    name = f"search-{uuid.uuid4().hex[:10]}"
    password = "correct-horse-battery"
    with httpx.Client(base_url=gateway, timeout=30) as client:
        user = {"username": name, "email": f"{name}@example.test", "password": password}
        assert client.post("/auth/register", json=user).status_code == 201
        login = client.post("/auth/login", json={"username": name, "password": password})
        assert login.status_code == 200, login.text
        client.headers["authorization"] = f"Bearer {login.json()['access_token']}"
        for title, description in TASKS.items():
            created = client.post(
                "/api/v1/tasks", json={"title": title, "description": description}
            )
            assert created.status_code == 201, created.text

        found = {}
        for query in ANSWERS:
            page = client.get("/api/v1/tasks", params={"q": query})
            assert page.status_code == 200, (query, page.text)
            found[query] = {task["title"] for task in page.json()["data"]}

    assert found == ANSWERS
