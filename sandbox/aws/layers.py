"""Lambda layers: the AWS-managed AWSSDKPandas layer mirrored at its real ARN, and what a worker may import.

On AWS a function can only import the standard library, the runtime's boto3/botocore (and their
dependencies), its own code and what its layers provide. The managed layer's content is not downloaded
here: the sandbox lets a function that lists it import the venv's pandas/pyarrow/numpy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MANAGED_LAYER_ACCOUNT = "336392948345"
MANAGED_LAYER_NAME = re.compile(r"^AWSSDKPandas-Python(3\d\d)(-Arm64)?$")
# Highest published versions per region and Python, from "AWS Lambda Managed Layers" in the AWS SDK for
# pandas docs (aws-sdk-pandas.readthedocs.io/en/stable/layers.html). Every version up to it exists on AWS.
MANAGED_LAYER_VERSIONS: dict[str, dict[str, int]] = {
    "sa-east-1": {"311": 31, "312": 26, "313": 11},
    "us-east-1": {"311": 31, "312": 31, "313": 11},
    "af-south-1": {"311": 30, "312": 26, "313": 11},
}
# Size of the real layer archive (about 45 MB); shown by GetFunction as the layer's CodeSize.
MANAGED_LAYER_CODE_SIZE = 47_298_410

# What the Python runtime provides without any layer (boto3 and its dependencies).
RUNTIME_MODULES = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six"})
# What the AWSSDKPandas layer adds (awswrangler itself is not mirrored: it is not installed here).
PANDAS_LAYER_MODULES = frozenset({"pandas", "pyarrow", "numpy", "pytz", "tzdata"})


@dataclass(frozen=True)
class ManagedLayerVersion:
    """Just what moto's create_function reads from a layer version (arn, code_size)."""

    arn: str
    region: str
    version: int
    code_size: int = MANAGED_LAYER_CODE_SIZE
    code_bytes: bytes = b""


def pandas_layer_arn(region: str, python: str = "3.12", version: int | None = None) -> str:
    """The real ARN of the AWSSDKPandas layer for a region and Python version (latest version by default)."""
    digits = python.replace(".", "")
    versions = MANAGED_LAYER_VERSIONS.get(region, MANAGED_LAYER_VERSIONS["us-east-1"])
    if digits not in versions:
        raise ValueError(f"AWSSDKPandas não tem layer para Python {python} (disponível: 3.11, 3.12, 3.13).")
    number = version or versions[digits]
    return f"arn:aws:lambda:{region}:{MANAGED_LAYER_ACCOUNT}:layer:AWSSDKPandas-Python{digits}:{number}"


def managed_layer_version(arn: str) -> ManagedLayerVersion | None:
    """The mirrored layer version for an ARN, or None when AWS has no such managed layer version."""
    parts = arn.split(":")
    if len(parts) != 8 or parts[4] != MANAGED_LAYER_ACCOUNT or parts[5] != "layer":
        return None
    region, name, version = parts[3], parts[6], parts[7]
    match = MANAGED_LAYER_NAME.match(name)
    if not match or not version.isdigit():
        return None
    latest = MANAGED_LAYER_VERSIONS.get(region, MANAGED_LAYER_VERSIONS["us-east-1"]).get(match.group(1))
    if latest is None or not 1 <= int(version) <= latest:
        return None
    return ManagedLayerVersion(arn=arn, region=region, version=int(version))


def install_managed_layers() -> None:
    """Make moto's Lambda backend know the managed layer versions (it otherwise rejects their ARNs)."""
    from moto.awslambda.models import LambdaBackend

    if getattr(LambdaBackend.layers_versions_by_arn, "_sandbox_managed", False):
        return
    original = LambdaBackend.layers_versions_by_arn

    def layers_versions_by_arn(self, layer_version_arn):
        managed = managed_layer_version(layer_version_arn)
        if managed is not None and managed.region == self.region_name:  # layers are regional, as on AWS
            return managed
        return original(self, layer_version_arn)

    layers_versions_by_arn._sandbox_managed = True
    LambdaBackend.layers_versions_by_arn = layers_versions_by_arn
