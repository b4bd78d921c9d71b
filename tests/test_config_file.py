"""config/server.yaml is read with the menus' safe reader: typed values, limits, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastagi.config import ConfigError, load_settings
from fastagi.menus._yaml import MAX_FILE_BYTES

BOMB = """\
a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
host: 127.0.0.1
"""


def test_settings_keep_their_types(tmp_path: Path) -> None:
    path = tmp_path / "server.yaml"
    path.write_text("port: 4600\nmax_calls: 300\nproduction: false\nhost: 127.0.0.1\n")
    settings = load_settings(path, environ={})
    assert (settings.port, settings.max_calls, settings.production) == (4600, 300, False)


def test_an_empty_file_means_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "server.yaml"
    path.write_text("# nothing set yet\n")
    assert load_settings(path, environ={}).port == load_settings(environ={}).port


def test_an_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "server.yaml"
    path.write_text(BOMB)
    with pytest.raises(ConfigError, match="alias bomb") as caught:
        load_settings(path, environ={})
    assert str(path) in str(caught.value)


def test_a_huge_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "server.yaml"
    path.write_text("host: 127.0.0.1\n" + "#" * MAX_FILE_BYTES + "\n")
    with pytest.raises(ConfigError, match="limit is 1048576 bytes"):
        load_settings(path, environ={})


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "server.yaml"
    path.write_text("host: 127.0.0.1\nport: [4573\n")
    with pytest.raises(ConfigError, match=r"server\.yaml:\d+"):
        load_settings(path, environ={})


@pytest.mark.parametrize("listen", ["0.0.0.0:8080", "10.0.0.5:8080", ":8080"])
def test_production_refuses_a_dashboard_open_to_other_hosts_without_a_password(
    listen: str,
) -> None:
    environ = {"IVR_PRODUCTION": "true", "IVR_DASHBOARD_LISTEN": listen}
    with pytest.raises(ConfigError, match="needs dashboard_password"):
        load_settings(environ=environ)
    with_password = {**environ, "IVR_DASHBOARD_PASSWORD": "a long random password here"}
    assert load_settings(environ=with_password).dashboard_password is not None


@pytest.mark.parametrize("listen", ["127.0.0.1:8080", "[::1]:8080", "localhost:8080"])
def test_a_loopback_dashboard_needs_no_password(listen: str) -> None:
    environ = {"IVR_PRODUCTION": "true", "IVR_DASHBOARD_LISTEN": listen}
    assert load_settings(environ=environ).dashboard_listen == listen


def test_a_short_dashboard_password_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="dashboard_password"):
        load_settings(environ={"IVR_DASHBOARD_PASSWORD": "short"})
