"""``initializationOptions`` → the service's settings, whether to keep credentials fresh, the log level."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..errors import InvalidParams
from ..service import Settings
from ..sites import check_ports
from .params import as_object, opt_bool, opt_path

LOG_LEVELS = ("error", "warning", "info", "debug")


@dataclass(frozen=True)
class Options:
    settings: Settings
    keep_fresh: bool
    log_level: str


def options_from(raw: Any, defaults: Settings) -> Options:
    opts = as_object(raw)
    config_path = opt_path(opts, "configPath") or defaults.config_path
    endpoints = defaults.endpoints.with_overrides(opts.get("endpoints"))
    ports = check_ports(opts["callbackPorts"]) if opts.get("callbackPorts") is not None else defaults.callback_ports
    margins = defaults.margins
    if opts.get("refreshMarginSeconds") is not None:
        raw_margins = as_object(opts["refreshMarginSeconds"])
        values = {}
        for key, attr in (("sts", "sts"), ("accessToken", "access_token")):
            value = raw_margins.get(key, getattr(margins, attr))
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3000:
                raise InvalidParams(f"refreshMarginSeconds.{key} must be 0..3000 seconds.", field="refreshMarginSeconds")
            values[attr] = value
        margins = replace(margins, **values)
    timeout = opts.get("signInTimeoutSeconds", defaults.signin_timeout)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 1 <= timeout <= 3600:
        raise InvalidParams("signInTimeoutSeconds must be 1..3600.", field="signInTimeoutSeconds")
    level = opts.get("logLevel", "info")
    if level not in LOG_LEVELS:
        raise InvalidParams(f"logLevel must be one of {', '.join(LOG_LEVELS)}.", field="logLevel")
    settings = Settings(
        config_path=config_path,
        endpoints=endpoints,
        callback_ports=ports,
        margins=margins,
        signin_timeout=float(timeout),
        http_timeout=defaults.http_timeout,
    )
    return Options(settings, opt_bool(opts, "keepFresh", True), str(level))
