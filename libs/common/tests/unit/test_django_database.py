"""The Django services' DATABASES entry: PostgreSQL in its service's schema, nothing else."""

import pytest

from taskflow_common.djangoweb.database import database


def test_a_postgres_url_is_confined_to_the_services_schema():
    entry = database("postgresql://notify:s%40cret@127.0.0.1:55432/taskflow", "notify")

    assert entry["ENGINE"] == "django.db.backends.postgresql"
    assert (entry["NAME"], entry["USER"], entry["PASSWORD"]) == ("taskflow", "notify", "s@cret")
    assert (entry["HOST"], entry["PORT"]) == ("127.0.0.1", "55432")
    assert entry["OPTIONS"] == {"options": "-c search_path=notify"}


def test_another_databases_url_is_refused_with_what_is_expected():
    with pytest.raises(ValueError, match="a postgresql:// URL, not mysql:"):
        database("mysql://notify@127.0.0.1/taskflow", "notify")
