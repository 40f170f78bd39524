"""Settings: environment over .env over .env.example; empty secrets are generated, never committed."""

import os

from bot import settings


def test_defaults_env_file_and_environment(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("RASA_PORT=6006\nACTION_PORT=6055\nTELEGRAM_ACCESS_TOKEN=from-dotenv\n")
    monkeypatch.setattr(os, "environ", os.environ.copy())  # load() exports: keep it out of other tests
    monkeypatch.setenv("ACTION_PORT", "7055")
    for key in ("RASA_PORT", "RASA_AUTH_TOKEN", "AUTH_JWT_SECRET", "DATABASE_URL", "TELEGRAM_ACCESS_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    resolved = settings.load(env_file)
    assert resolved["RASA_PORT"] == "6006"          # .env over the defaults
    assert resolved["ACTION_PORT"] == "7055"        # environment over .env
    assert resolved["DATABASE_URL"] == "sqlite:///var/orders.db"  # committed default
    assert resolved["TELEGRAM_ACCESS_TOKEN"] == "from-dotenv"     # settings only in .env count too
    assert len(resolved["RASA_AUTH_TOKEN"]) >= 32 and len(resolved["AUTH_JWT_SECRET"]) >= 32


def test_example_file_commits_no_secret():
    example = (settings.ROOT / ".env.example").read_text()
    for key in settings.GENERATED:
        assert f"\n{key}=\n" in example
