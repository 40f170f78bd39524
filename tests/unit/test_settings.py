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


def test_generated_secrets_are_published_for_local_clients_only_for_the_run(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "environ", os.environ.copy())
    runtime = tmp_path / "runtime.env"
    monkeypatch.setenv("RUNTIME_FILE", str(runtime))
    for key in ("RASA_AUTH_TOKEN", "AGENT_CONSOLE_PASSWORD"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(settings, "ROOT", tmp_path)  # a checkout without .env
    (tmp_path / ".env.example").write_text("RASA_AUTH_TOKEN=\nAGENT_CONSOLE_PASSWORD=\n")
    assert settings.client_setting("RASA_AUTH_TOKEN") == ""  # no running make run: nothing to use
    settings.publish_runtime({"RASA_AUTH_TOKEN": "generated-for-this-run"}, runtime)
    assert oct(runtime.stat().st_mode & 0o777) == "0o600"
    assert settings.client_setting("RASA_AUTH_TOKEN") == "generated-for-this-run"
    assert settings.client_setting("AGENT_CONSOLE_PASSWORD") == ""  # never published
    monkeypatch.setenv("RASA_AUTH_TOKEN", "chosen")
    assert settings.client_setting("RASA_AUTH_TOKEN") == "chosen"  # a configured token wins
    assert "AGENT_CONSOLE_PASSWORD" in settings.GENERATED
