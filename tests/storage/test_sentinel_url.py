"""`redis+sentinel://` URLs: parsing, config validation, redaction, the clients built from them."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis import asyncio as aioredis
from redis.asyncio.sentinel import SentinelConnectionPool as AsyncSentinelPool
from redis.sentinel import SentinelConnectionPool

from fastagi.config import ConfigError, load_settings, redacted_url
from fastagi.server.reactor import run_on_reactor_loop
from fastagi.storage import open_async_client, open_sync_client
from fastagi.storage.sentinel import SentinelTarget, is_sentinel_url, parse_sentinel_url


def test_the_full_form() -> None:
    target = parse_sentinel_url(
        "redis+sentinel://app:s%40cret@10.0.0.1:26379,sentinel-b.example:26380,[::1]:26381"
        "/mymaster/3?sentinel_password=sp&sentinel_username=watcher"
    )
    assert target == SentinelTarget(
        sentinels=(("10.0.0.1", 26379), ("sentinel-b.example", 26380), ("::1", 26381)),
        master="mymaster",
        db=3,
        username="app",
        password="s@cret",
        sentinel_username="watcher",
        sentinel_password="sp",
    )
    assert target.sentinel_list() == "10.0.0.1:26379,sentinel-b.example:26380,[::1]:26381"
    assert "s@cret" not in repr(target) and "sp'" not in repr(target)


def test_the_short_form_takes_the_defaults() -> None:
    target = parse_sentinel_url("redis+sentinel://localhost/mymaster")
    assert target.sentinels == (("localhost", 26379),)
    assert (target.master, target.db) == ("mymaster", 0)
    assert target.username is target.password is None
    assert target.sentinel_username is target.sentinel_password is None


@pytest.mark.parametrize(
    ("url", "password", "username"),
    [
        ("redis+sentinel://:pw@h:26379/m", "pw", None),
        ("redis+sentinel://:@h:26379/m", "", None),  # an empty password, said so
        ("redis+sentinel://user@h:26379/m", None, "user"),
        ("redis+sentinel://u:p:q@h:26379/m", "p:q", "u"),
        ("redis+sentinel://:a%2Fb%2Cc@h:26379/m/", "a/b,c", None),  # trailing slash
    ],
)
def test_credentials_of_the_master(url: str, password: str | None, username: str | None) -> None:
    target = parse_sentinel_url(url)
    assert (target.password, target.username) == (password, username)
    assert target.sentinels == (("h", 26379),) and target.master == "m"


def test_the_scheme_is_recognised_in_any_case() -> None:
    assert is_sentinel_url("REDIS+SENTINEL://h/m")
    assert parse_sentinel_url("Redis+Sentinel://h/m").master == "m"
    assert not is_sentinel_url("redis://h:6379/0")
    assert not is_sentinel_url("redis+sentinel:h/m")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis://h:6379/0", "the scheme must be redis+sentinel://"),
        ("redis+sentinel:///m", "no sentinel host"),
        ("redis+sentinel://:pw@/m", "no sentinel host"),
        ("redis+sentinel://h:26379", "no master name"),
        ("redis+sentinel://h:26379/", "no master name"),
        ("redis+sentinel://h:26379/m/0/x", "more than /<master-name>/<db>"),
        ("redis+sentinel://h:26379/my master", "master name 'my master'"),
        ("redis+sentinel://h:26379/m/x", "database 'x' is not a number"),
        ("redis+sentinel://h:26379/m/-1", "database '-1' is not a number"),
        ("redis+sentinel://h:0/m", "port '0'"),
        ("redis+sentinel://h:65536/m", "port '65536'"),
        ("redis+sentinel://h:port/m", "port 'port'"),
        ("redis+sentinel://h:/m", "empty port"),
        ("redis+sentinel://h1:26379,,h2:26379/m", "sentinel host ''"),
        ("redis+sentinel://h1:26379,/m", "sentinel host ''"),
        ("redis+sentinel://::1:26379/m", "sentinel host ''"),
        ("redis+sentinel://[::1/m", "is not [ipv6]:port"),
        ("redis+sentinel://[::1]x/m", "is not [ipv6]:port"),
        ("redis+sentinel://[evil.host]:1/m", "is not [ipv6]:port"),
        ("redis+sentinel://h_1 :26379/m", "sentinel host 'h_1 '"),
        ("redis+sentinel://h:1,h:1/m", "listed twice"),
        ("redis+sentinel://h/m?password=x", "unknown option 'password'"),
        ("redis+sentinel://h/m?sentinel_password=a&sentinel_password=b", "given twice"),
        ("redis+sentinel://h/m?sentinel_password", "not name=value pairs"),
        ("redis+sentinel://h/m#top", "a fragment"),
    ],
)
def test_a_malformed_url_is_a_plain_value_error(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=r"^bad Redis Sentinel URL: ") as caught:
        parse_sentinel_url(url)
    message = str(caught.value)
    assert problem in message
    assert "expected redis+sentinel://[:password@]host:26379" in message


def test_a_bad_url_never_shows_the_password() -> None:
    with pytest.raises(ValueError) as caught:
        parse_sentinel_url("redis+sentinel://:hunter2@h:26379/bad name?sentinel_password=x9")
    assert "hunter2" not in str(caught.value) and "x9" not in str(caught.value)


# -- configuration ---------------------------------------------------------------------


def _settings_with(url: str) -> str | None:
    return load_settings(environ={"REDIS_URL": url, "IVR_CONFIG": "/nonexistent"}).redis_url


def test_config_accepts_a_sentinel_url() -> None:
    url = "redis+sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379/mymaster/1"
    assert _settings_with(url) == url


@pytest.mark.parametrize(
    "url", ["redis://h:6379/0", "rediss://:pw@h:6380/1", "unix:///run/redis/redis.sock"]
)
def test_config_still_accepts_the_plain_urls(url: str) -> None:
    assert _settings_with(url) == url


def test_config_refuses_a_malformed_sentinel_url_by_name() -> None:
    with pytest.raises(ConfigError, match=r"redis_url: .*no master name") as caught:
        _settings_with("redis+sentinel://:hunter2@h:26379")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("url", ["http://h:6379", "h:6379", ":hunter2@h:6379"])
def test_config_refuses_an_unknown_scheme(url: str) -> None:
    with pytest.raises(ConfigError, match=r"redis_url: .*not a Redis URL") as caught:
        _settings_with(url)
    assert "redis+sentinel://" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_an_empty_redis_url_in_the_file_means_the_embedded_server(tmp_path: Path) -> None:
    path = tmp_path / "server.yaml"
    path.write_text('redis_url: ""\n')
    assert load_settings(path, environ={}).redis_url is None


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "redis+sentinel://:s3cret@h1:26379,h2:26379/mymaster/2",
            "redis+sentinel://:***@h1:26379,h2:26379/mymaster/2",
        ),
        (
            "redis+sentinel://app:s3cret@h1:26379/m?sentinel_password=s3cret&sentinel_username=w",
            "redis+sentinel://app:***@h1:26379/m?sentinel_password=***&sentinel_username=w",
        ),
        ("redis+sentinel://h1:26379/m", "redis+sentinel://h1:26379/m"),
    ],
)
def test_redacted_url_masks_a_sentinel_urls_passwords(url: str, shown: str) -> None:
    assert redacted_url(url) == shown


# -- the clients (built only: tests/system/test_sentinel_failover.py connects) ---------


def test_the_async_client_follows_the_sentinels_with_a_blocking_pool() -> None:
    url = "redis+sentinel://:pw@127.0.0.1:1,127.0.0.1:2/mymaster/4?sentinel_password=sp"

    async def build() -> None:
        client = open_async_client(url, timeout=0.3, max_connections=7)
        pool = client.connection_pool
        try:
            assert isinstance(pool, AsyncSentinelPool)
            assert isinstance(pool, aioredis.BlockingConnectionPool)  # waits when all are busy
            assert (pool.service_name, pool.max_connections, pool.timeout) == ("mymaster", 7, 0.3)
            kwargs = pool.connection_kwargs
            assert (kwargs["db"], kwargs["password"], kwargs["decode_responses"]) == (4, "pw", True)
            assert kwargs["socket_timeout"] == kwargs["socket_connect_timeout"] == 0.3
            sentinels = pool.sentinel_manager.sentinels
            assert [s.connection_pool.connection_kwargs["port"] for s in sentinels] == [1, 2]
            assert sentinels[0].connection_pool.connection_kwargs["password"] == "sp"
            assert sentinels[0].connection_pool.connection_kwargs["socket_timeout"] == 0.3
        finally:
            await client.aclose()

    run_on_reactor_loop(build())


def test_the_sync_client_follows_the_sentinels() -> None:
    client = open_sync_client("redis+sentinel://127.0.0.1:1/mymaster", timeout=1.5)
    try:
        pool = client.connection_pool
        assert isinstance(pool, SentinelConnectionPool)
        assert pool.service_name == "mymaster"
        assert pool.connection_kwargs["socket_timeout"] == 1.5
        assert pool.connection_kwargs["decode_responses"] is True
    finally:
        client.close()


def test_a_plain_url_still_gets_a_plain_blocking_pool() -> None:
    async def build() -> None:
        client = open_async_client("redis://127.0.0.1:1/0", timeout=0.25)
        try:
            assert type(client.connection_pool) is aioredis.BlockingConnectionPool
        finally:
            await client.aclose()

    run_on_reactor_loop(build())
