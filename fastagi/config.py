"""Server settings: config/server.yaml, overridden by environment, overridden by CLI flags.

Every setting has a default that works out of the box, so the server starts
with no config file at all. Relative paths are taken from the working
directory.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from fastagi.web import MIN_SECRET_LENGTH

__all__ = [
    "ConfigError",
    "ServerSettings",
    "default_state_dir",
    "load_settings",
    "redacted_url",
    "split_address",
]

DEFAULT_CONFIG_PATH = Path("config/server.yaml")


def split_address(address: str) -> tuple[str, int]:
    """`127.0.0.1:8080` or `[::1]:8080` (a `*_listen` setting) -> (host, port); host may be ""."""
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def is_loopback_host(host: str) -> bool:
    """True for `localhost` and loopback addresses: only this machine can connect."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_state_dir() -> Path:
    """Where the installation keeps its embedded Redis data, pid and control socket."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "fastagi-ivr"


_QUERY_SECRET = re.compile(r"(?P<head>[?&](?:\w*password|secret|token)=)[^&#]*", re.IGNORECASE)
#: The schemes `redis_url` may have: redis-py's own, and Sentinel (fastagi.storage.sentinel).
REDIS_SCHEMES = ("redis", "rediss", "unix", "redis+sentinel")


def redacted_url(url: str) -> str:
    """`url` fit for a log line or a banner: its password (and ?password=) shown as ***.

    redis://:s3cret@host:6379/0 -> redis://:***@host:6379/0, and so for
    redis+sentinel://:s3cret@h1:26379,h2:26379/mymaster?sentinel_password=***;
    a URL without a password comes back unchanged.
    """
    scheme, separator, rest = url.partition("://")
    if separator:
        end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
        userinfo, at, host = rest[:end].rpartition("@")
        if at and ":" in userinfo:
            user = userinfo.partition(":")[0]
            url = f"{scheme}://{user}:***@{host}{rest[end:]}"
    return _QUERY_SECRET.sub(r"\g<head>***", url)


class ConfigError(Exception):
    """The settings file or an override is invalid; the message names the key."""


class ServerSettings(BaseModel):
    """Everything `ivr serve` needs to run; see config/server.yaml for the meaning of each."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(4573, ge=0, le=65535)
    max_calls: int = Field(2000, ge=1)
    max_line_length: int = Field(8192, ge=256)
    max_command_bytes: int = Field(2048, ge=256, le=8192)
    env_timeout: float = Field(5.0, gt=0)
    command_timeout: float = Field(600.0, gt=0)
    max_call_duration: float = Field(4 * 3600.0, gt=0)
    shutdown_grace: float = Field(30.0, ge=0)
    allowed_peers: tuple[str, ...] = ()
    exec_allowlist: tuple[str, ...] | None = None
    menus_dir: Path = Path("ivr_menus")
    state_dir: Path = Field(default_factory=default_state_dir)
    redis_url: str | None = None
    redis_prefix: str = Field("ivr:", pattern=r"^[A-Za-z0-9_.:-]{0,32}$")
    default_region: str = Field("RU", pattern=r"^[A-Z]{2}$")
    lookup_budget: float = Field(0.2, gt=0, le=5)
    callers: bool = True
    segments_file: Path = Path("config/segments.yaml")
    hours_file: Path = Path("config/hours.yaml")
    asterisk_dir: Path = Path("asterisk-conf")
    sounds_dir: Path | None = Path("prompts/sounds")
    prompts_dir: Path = Path("prompts")
    tts_engine: Literal["auto", "gtts", "espeak-ng"] = "auto"
    gtts_timeout: float = Field(10.0, gt=0, le=120)
    build_prompts_on_start: bool = True
    wideband_prompts: bool = False
    dynamic_prompt_budget: float = Field(1.5, ge=0, le=10)
    dynamic_prompt_workers: int = Field(2, ge=1, le=32)
    prompts_http: str | None = Field(None, pattern=r"^[A-Za-z0-9.:\[\]-]*:[0-9]{1,5}$")
    sounds_url: str | None = Field(None, pattern=r"^https?://[A-Za-z0-9.:\[\]_~/-]+$")
    production: bool = False
    # Outbound calls (callbacks, campaigns, broadcasts) through Asterisk's manager interface.
    ami_host: str | None = None
    ami_port: int = Field(5038, ge=1, le=65535)
    ami_username: str = Field("ivr", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    ami_secret: str | None = None
    ami_auth: Literal["md5", "plain"] = "md5"
    events_stream: bool = True
    webhook_url: str | None = Field(None, pattern=r"^https?://\S+$")
    webhook_kinds: tuple[str, ...] | None = None
    webhook_token_env: str | None = "IVR_WEBHOOK_TOKEN"
    callbacks_file: Path = Path("config/callbacks.yaml")
    broadcast_file: Path = Path("config/broadcast.yaml")
    metrics_listen: str | None = Field(None, pattern=r"^[A-Za-z0-9.:\[\]-]*:[0-9]{1,5}$")
    dashboard_listen: str | None = Field(None, pattern=r"^[A-Za-z0-9.:\[\]-]*:[0-9]{1,5}$")
    #: HTTP Basic password of the dashboard (IVR_DASHBOARD_PASSWORD); None: no password.
    dashboard_password: str | None = Field(None, min_length=MIN_SECRET_LENGTH)
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @model_validator(mode="after")
    def _no_placeholder_secrets_in_production(self) -> ServerSettings:
        """In production the sample's placeholder AMI secret (or none) is refused outright."""
        if self.production and self.ami_host and (self.ami_secret or "") in ("", "CHANGE_ME"):
            raise ValueError(
                "production: true with ami_host set needs a real AMI secret"
                " (set IVR_AMI_SECRET; the sample's CHANGE_ME is refused)"
            )
        return self

    @model_validator(mode="after")
    def _no_open_dashboard_in_production(self) -> ServerSettings:
        """In production a dashboard reachable from other hosts must have a password."""
        if self.production and self.dashboard_listen and not self.dashboard_password:
            host, _ = split_address(self.dashboard_listen)
            if not is_loopback_host(host):
                raise ValueError(
                    f"production: true with dashboard_listen {self.dashboard_listen} (not"
                    " loopback) needs dashboard_password (IVR_DASHBOARD_PASSWORD)"
                )
        return self

    @field_validator("redis_url")
    @classmethod
    def _known_redis_scheme(cls, value: str | None) -> str | None:
        """A typo in the scheme is an error at start, not a connection failure per call."""
        if value is None or not value.strip():
            return None  # "" like null: the embedded server, as an empty REDIS_URL
        scheme, separator, _ = value.partition("://")
        if not separator or scheme.lower() not in REDIS_SCHEMES:
            known = ", ".join(f"{s}://" for s in REDIS_SCHEMES)
            found = f"the scheme {scheme + '://'!r}" if separator else "no scheme"
            # the URL itself is not echoed: without a scheme its password cannot be found
            raise ValueError(f"not a Redis URL: {found}; use {known}")
        if scheme.lower() == "redis+sentinel":
            from fastagi.storage.sentinel import parse_sentinel_url

            parse_sentinel_url(value)  # a ValueError names what is wrong
        return value

    @field_validator("allowed_peers")
    @classmethod
    def _valid_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            ipaddress.ip_network(item, strict=False)
        return value


# Environment variable -> setting name. Values are parsed by the model.
_ENV_OVERRIDES = {
    "IVR_HOST": "host",
    "IVR_PORT": "port",
    "IVR_MAX_CALLS": "max_calls",
    "IVR_COMMAND_TIMEOUT": "command_timeout",
    "IVR_MENUS_DIR": "menus_dir",
    "IVR_STATE_DIR": "state_dir",
    "IVR_LOG_FORMAT": "log_format",
    "IVR_LOG_LEVEL": "log_level",
    "REDIS_URL": "redis_url",
    "IVR_REDIS_PREFIX": "redis_prefix",
    "IVR_DEFAULT_REGION": "default_region",
    "IVR_SEGMENTS_FILE": "segments_file",
    "IVR_CALLERS": "callers",
    "IVR_HOURS_FILE": "hours_file",
    "IVR_ASTERISK_DIR": "asterisk_dir",
    "IVR_SOUNDS_DIR": "sounds_dir",
    "IVR_PROMPTS_DIR": "prompts_dir",
    "IVR_TTS_ENGINE": "tts_engine",
    "IVR_PROMPTS_HTTP": "prompts_http",
    "IVR_SOUNDS_URL": "sounds_url",
    "IVR_WEBHOOK_URL": "webhook_url",
    "IVR_EVENTS_STREAM": "events_stream",
    "IVR_AMI_HOST": "ami_host",
    "IVR_AMI_PORT": "ami_port",
    "IVR_AMI_USERNAME": "ami_username",
    "IVR_AMI_SECRET": "ami_secret",
    "IVR_PRODUCTION": "production",
    "IVR_METRICS_LISTEN": "metrics_listen",
    "IVR_DASHBOARD_LISTEN": "dashboard_listen",
    "IVR_DASHBOARD_PASSWORD": "dashboard_password",
}


def _read_file(path: Path) -> dict[str, Any]:
    # The menus' reader: size, alias and nesting limits, file:line problems.
    from fastagi.menus._yaml import read_yaml
    from fastagi.menus.problems import MenuError

    try:
        data = read_yaml(path, typed_scalars=True).data
    except MenuError as exc:
        if all(problem.code == "empty" for problem in exc.problems):
            return {}
        raise ConfigError(f"{path}: not a valid settings file:\n{exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    return data


def load_settings(
    path: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> ServerSettings:
    """Settings from `path` (or config/server.yaml when present), then env, then overrides.

    Raises ConfigError naming the file and key when a value is invalid.
    """
    environ = os.environ if environ is None else environ
    source = path or Path(environ.get("IVR_CONFIG", DEFAULT_CONFIG_PATH))
    values: dict[str, Any] = {}
    if path is not None or source.exists():
        values.update(_read_file(source))
    for variable, key in _ENV_OVERRIDES.items():
        if environ.get(variable):
            values[key] = environ[variable]
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return ServerSettings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{source}: {problems}") from exc
