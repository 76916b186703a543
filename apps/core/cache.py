"""Django's Redis cache backend, with one redis-py client per connection pool instead of one per operation.

Django's client builds a `redis.Redis` for every cache call, and building one copies redis-py's ~170
response callbacks: in the key check (one `get_many` for the throttle) that was a third of its CPU
(cProfile of /bench/ceiling-auth/). A `redis.Redis` is safe to share between threads: it takes a connection
from its pool for each command.
"""

from django.core.cache.backends import redis


class RedisCacheClient(redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client


class RedisCache(redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
