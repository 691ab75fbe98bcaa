"""The sandbox remembers which moto service serves a host: the same answers as moto's own lookup, bounded."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
original = DomainDispatcherApplication.get_backend_for_host
hosts = [None, "moto_api", "s3", "s3.sa-east-1.amazonaws.com", "logs.sa-east-1.amazonaws.com",
         "lambda.sa-east-1.amazonaws.com", "athena.us-east-1.amazonaws.com", "glue.sa-east-1.amazonaws.com",
         "bucket.s3.amazonaws.com", "nothing.example.com"]
app = DomainDispatcherApplication(create_backend_app)
expected = [original(app, host) for host in hosts]

from sandbox.aws.moto_setup import configure_moto
configure_moto()
assert DomainDispatcherApplication.get_backend_for_host._sandbox_replaced
twice = [[app.get_backend_for_host(host) for host in hosts] for _ in range(2)]
assert twice == [expected, expected], (twice, expected)

from sandbox.aws import dispatch
for n in range(dispatch.MAX_HOSTS + 100):  # many names: answered right, remembered up to the bound
    assert app.get_backend_for_host(f"s3.region-{n}.amazonaws.com") == "s3"
assert len(dispatch.SERVICE_OF_HOST) == dispatch.MAX_HOSTS
print("ok", expected[3], expected[5])
"""


def test_the_remembered_service_of_a_host_is_the_one_moto_finds():
    # In a process of its own: configure_moto changes moto for the whole process, as in the server.
    run = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.split() == ["ok", "s3", "awslambda"]
