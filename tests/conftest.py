"""Fixtures shared by the whole suite: no test ever reaches a real AWS account."""

import pytest


@pytest.fixture(autouse=True)
def _fake_aws_credentials(monkeypatch):
    # moto intercepts calls made with any credentials; fake ones make sure a real account is never touched.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "sa-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    # Each test chooses its emulator itself (mock_aws or a sandbox server).
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
