"""Production settings plus the benchmark's ceiling endpoints; used only by the scripts under bench/."""

from tutumserver.settings import *  # noqa: F403

DEBUG = False
ROOT_URLCONF = "bench.urls"

# Extra databases of a benchmark (e.g. the API benchmark's smaller copy), as aliases for its own ORM.
for _name, _url in sorted(os.environ.items()):  # noqa: F405
    if _name.startswith("BENCH_DATABASE_"):
        DATABASES[_name.removeprefix("BENCH_DATABASE_").lower()] = dj_database_url.parse(_url)  # noqa: F405
