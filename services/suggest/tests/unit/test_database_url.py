"""suggest stores on PostgreSQL in both modes: any other database URL is refused by name."""

import pytest

from taskflow_suggest.infrastructure.db.engine import async_url


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:p@127.0.0.1:5432/db",
        "postgres://u:p@127.0.0.1:5432/db",
        "postgresql+asyncpg://u:p@127.0.0.1:5432/db",
    ],
)
def test_postgres_urls_get_the_asyncpg_driver(url):
    assert async_url(url) == "postgresql+asyncpg://u:p@127.0.0.1:5432/db"


def test_another_databases_url_is_refused_with_what_is_expected():
    with pytest.raises(ValueError, match="a postgresql:// URL, not mysql:"):
        async_url("mysql://suggest@127.0.0.1/taskflow")
