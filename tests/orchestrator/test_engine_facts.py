"""What the driver makes of `docker info`: the engine facts a node shows."""

import pytest

from orchestrator.driver.docker import DockerDriver, _size_gb


@pytest.mark.parametrize(
    ("text", "gb"),
    [
        ("107.4 GB", 107),
        ("1.1TB", 1100),
        ("512 MB", 1),
        ("2.147e+10 B", None),
        ("", None),
        (None, None),
        ("lots", None),
    ],
)
def test_sizes_as_docker_info_prints_them(text, gb):
    assert _size_gb(text) == gb


class FakeApi:
    def __init__(self, data):
        self.data = data

    def info(self):
        return self.data


def _driver(data) -> DockerDriver:
    driver = DockerDriver.__new__(DockerDriver)  # no engine: only the mapping of the answer is tested
    driver.base_url, driver.api = "tcp://127.0.0.1:1", FakeApi(data)
    return driver


def test_an_engine_of_2015_with_devicemapper():
    info = _driver(
        {
            "ServerVersion": "1.9.1",
            "Driver": "devicemapper",
            "ExecutionDriver": "native-0.2",
            "NCPU": 2,
            "MemTotal": 2099249152,
            "DriverStatus": [["Pool Name", "docker-202:1-pool"], ["Data Space Total", "107.4 GB"]],
        }
    ).info()
    assert (info.docker_version, info.graph_driver, info.exec_driver) == ("1.9.1", "devicemapper", "native-0.2")
    assert (info.cpus, info.memory_mb, info.disk_gb) == (2, 2002, 107)


def test_an_engine_without_an_execution_driver_names_its_runtime():
    info = _driver(
        {"ServerVersion": "24.0.7", "Driver": "overlay2", "DefaultRuntime": "runc", "NCPU": 8, "MemTotal": 0}
    ).info()
    assert (info.exec_driver, info.cpus, info.memory_mb, info.disk_gb) == ("runc", 8, 0, None)
