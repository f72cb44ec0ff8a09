import pytest


def test_live_touches_nothing(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health/live")
    assert response.status_code == 200 and response.content == b"ok"


@pytest.mark.django_db
def test_ready_checks_database_and_cache(client):
    response = client.get("/health/ready")
    assert response.status_code == 200


@pytest.mark.django_db
def test_ready_names_the_broken_cache(client, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    response = client.get("/health/ready")
    assert response.status_code == 503 and b"cache" in response.content


@pytest.mark.django_db
def test_ready_names_redis_when_it_is_down(client, settings):
    # The resilient backend turns Redis errors into misses; the round trip still notices.
    settings.CACHES = {"default": {"BACKEND": "obmin.lib.cache.ResilientRedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}
    response = client.get("/health/ready")
    assert response.status_code == 503 and response.content == b"not ready: cache"


@pytest.mark.django_db
def test_ready_tells_the_replica_when_not_ready_too(client, settings, monkeypatch):
    """The replica's line is there whatever else failed: a cache outage must not hide that the
    replica died meanwhile."""
    from obmin.lib.replica import ReplicaState
    from obmin.ops import views

    monkeypatch.setattr(views, "replica_state",
                        lambda fresh=False: ReplicaState(None, False, 0.0))
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.content == b"not ready: cache\nreplica: down (reads from the primary)"
