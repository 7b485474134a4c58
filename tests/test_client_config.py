"""Configuration resolution and key redaction (pure: an explicit env mapping, no servers)."""

from __future__ import annotations

import pickle

import pytest

from vidu_nb.client.config import OFFICIAL_BASE_URL, ClientConfig, Secret
from vidu_nb.errors import ValidationError

KEY = "vk-SECRET-0123456789abcdef"


def resolve(api_key=None, base_url=None, auth_scheme=None, **env: str) -> ClientConfig:
    return ClientConfig.resolve(api_key, base_url, auth_scheme, env=env)


def test_key_alone_means_official_host_with_token_scheme():
    cfg = resolve(VIDU_API_KEY=KEY)
    assert cfg.base_url == OFFICIAL_BASE_URL == "https://api.vidu.com"
    assert cfg.auth_scheme == "Token"
    assert cfg.api_key is not None and cfg.api_key.reveal() == KEY
    assert not cfg.embedded


def test_nothing_set_means_embedded_simulator():
    cfg = resolve()
    assert cfg.embedded and cfg.api_key is None and cfg.base_url == ""


def test_reseller_base_url_keeps_its_prefix_and_defaults_to_bearer():
    cfg = resolve(VIDU_API_KEY=KEY, VIDU_BASE_URL="https://api.powertokens.ai/vidu/")
    assert cfg.base_url == "https://api.powertokens.ai/vidu"
    assert cfg.auth_scheme == "Bearer"


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("https://api.vidu.cn", "Token"),
        ("https://api.vidu.com", "Token"),
        ("https://gateway.example.org/v", "Token"),
        ("https://api.powertokens.ai/vidu", "Bearer"),
    ],
)
def test_auth_scheme_defaults_by_host(url, scheme):
    assert resolve(KEY, url).auth_scheme == scheme


def test_explicit_scheme_wins_and_is_normalised():
    assert resolve(KEY, "https://api.powertokens.ai/vidu", "token").auth_scheme == "Token"
    assert resolve(VIDU_API_KEY=KEY, VIDU_AUTH_SCHEME="BEARER").auth_scheme == "Bearer"
    with pytest.raises(ValidationError, match="auth_scheme.*Token, Bearer"):
        resolve(KEY, auth_scheme="Basic")


def test_arguments_win_over_environment():
    cfg = resolve("arg-key", "https://api.vidu.cn", VIDU_API_KEY=KEY, VIDU_BASE_URL="https://x.y")
    assert cfg.api_key.reveal() == "arg-key" and cfg.base_url == "https://api.vidu.cn"


def test_base_url_without_key_is_a_clear_error():
    with pytest.raises(ValidationError) as info:
        resolve(VIDU_BASE_URL="https://api.powertokens.ai/vidu")
    assert info.value.field == "api_key"
    assert "VIDU_API_KEY" in str(info.value) and "local simulator" in str(info.value)


def test_loopback_base_url_without_key_uses_the_simulator_default_key():
    cfg = resolve(base_url="http://127.0.0.1:8765/vidu")
    assert cfg.api_key.reveal() == "sim-key" and cfg.is_loopback


@pytest.mark.parametrize(
    ("url", "limit"),
    [
        ("api.vidu.com", "http(s) URL"),
        ("ftp://api.vidu.com", "http(s) URL"),
        ("http://api.vidu.com", "https"),
        ("https://api.vidu.com/?x=1", "query"),
        ("https://user:pw@api.vidu.com", "credentials"),
    ],
)
def test_bad_base_urls_name_the_field_and_limit(url, limit):
    with pytest.raises(ValidationError) as info:
        resolve(KEY, url)
    assert info.value.field == "base_url" and limit in str(info.value)
    assert "pw" not in str(info.value)


def test_blank_key_counts_as_missing():
    assert resolve("   ").embedded


def test_key_with_whitespace_is_rejected_without_showing_it():
    with pytest.raises(ValidationError) as info:
        resolve(f"Token {KEY}")
    assert KEY not in str(info.value) and KEY not in repr(info.value.value)
    assert "prefix" in str(info.value)


def test_secret_never_shows_itself():
    secret = Secret(KEY)
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}", f"{secret:>40}"):
        assert KEY not in text
    assert secret.reveal() == KEY
    assert secret == Secret(KEY) and secret != Secret("other")
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_config_repr_hides_key():
    cfg = resolve(KEY, "https://api.powertokens.ai/vidu")
    assert KEY not in repr(cfg) and KEY not in str(cfg)


# -- a simulator started elsewhere: its pace from VIDU_SIM_SPEED ------------------------------
def test_loopback_base_url_takes_the_simulator_speed_from_the_environment():
    cfg = resolve(VIDU_BASE_URL="http://localhost:8765", VIDU_SIM_SPEED=" 7.5 ")
    assert cfg.is_loopback and cfg.sim_speed == 7.5
    assert resolve(base_url="http://127.0.0.1:1/v").sim_speed is None  # unset: real pace


def test_simulator_speed_is_ignored_off_loopback_and_for_the_embedded_default():
    assert resolve(KEY, "https://api.vidu.com", VIDU_SIM_SPEED="50").sim_speed is None
    assert resolve(VIDU_SIM_SPEED="50").sim_speed is None  # embedded: the simulator's own speed


@pytest.mark.parametrize("raw", ["fast", "0", "-3", "nan", "inf"])
def test_bad_simulator_speed_names_the_variable_and_limit(raw):
    with pytest.raises(ValidationError) as info:
        resolve(base_url="http://127.0.0.1:8765", VIDU_SIM_SPEED=raw)
    assert info.value.field == "VIDU_SIM_SPEED" and "> 0" in str(info.value)
