"""apps.core.cache.RedisCache: Django's Redis backend with one redis-py client per connection pool."""

from concurrent.futures import ThreadPoolExecutor

from django.conf import settings

from apps.core.cache import RedisCache


def test_one_client_serves_every_call_and_every_thread():
    cache = RedisCache(settings.CACHE_URL, {"KEY_PREFIX": "test-cache-backend"})
    client = cache._cache.get_client()
    assert cache._cache.get_client(write=True) is client

    def round_trip(n):
        cache.set(f"k{n}", {"n": n}, 30)
        return [cache.get(f"k{n}") for _ in range(50)]

    try:
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(round_trip, range(32)))
    finally:
        cache.delete_many([f"k{n}" for n in range(32)])

    assert answers == [[{"n": n}] * 50 for n in range(32)]
    assert cache._cache.get_client() is client
