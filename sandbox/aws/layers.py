"""Lambda layers: the AWS-managed AWSSDKPandas layer mirrored at its real ARNs, and what a worker may import.

On AWS a function can only import the standard library, the runtime's boto3/botocore (and their
dependencies), its own code and what its layers provide. The managed layer's content is not downloaded
here: the sandbox lets a function that lists it import the venv's pandas/pyarrow/numpy.

As on AWS, the layer's ARN for a region is found in the SSM public parameter
`/aws/service/aws-sdk-pandas/<release>/py<python>/<architecture>/layer-arn` (the library's install docs,
"Managed Layer"), and only the layer versions AWS publishes exist: any other one fails CreateFunction.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone

from sandbox.aws.patching import replaces

# The AWS SDK for pandas (awswrangler) release whose layers are mirrored; the notebooks ask for this one.
PANDAS_RELEASE = "3.17.0"
ARCHITECTURES = ("x86_64", "arm64")
MANAGED_LAYER_NAME = re.compile(r"^AWSSDKPandas-Python(3)(\d+)(-Arm64)?$")
# Release 3.17.0's table "AWS Lambda Managed Layers" (aws/aws-sdk-pandas, docs/source/layers.rst at commit
# f1e4b01, 2026-06-25): region -> (publishing account, {python: (x86_64 version, arm64 version)}). Most
# regions publish from 336392948345; opt-in regions and China from accounts of their own.
# fmt: off
PUBLISHED_LAYERS: dict[str, tuple[str, dict[str, tuple[int, int]]]] = {
    "af-south-1": ("336392948345", {"3.10": (35, 35), "3.11": (32, 32), "3.12": (28, 28), "3.13": (13, 13), "3.14": (8, 8)}),
    "ap-northeast-1": ("336392948345", {"3.10": (36, 36), "3.11": (33, 33), "3.12": (29, 29), "3.13": (14, 14), "3.14": (9, 9)}),
    "ap-northeast-2": ("336392948345", {"3.10": (36, 36), "3.11": (33, 33), "3.12": (29, 29), "3.13": (14, 14), "3.14": (9, 9)}),
    "ap-northeast-3": ("336392948345", {"3.10": (36, 36), "3.11": (33, 33), "3.12": (29, 29), "3.13": (14, 14), "3.14": (9, 9)}),
    "ap-south-1": ("336392948345", {"3.10": (36, 36), "3.11": (33, 33), "3.12": (29, 29), "3.13": (14, 14), "3.14": (9, 9)}),
    "ap-southeast-1": ("336392948345", {"3.10": (36, 36), "3.11": (33, 33), "3.12": (29, 29), "3.13": (14, 14), "3.14": (9, 9)}),
    "ap-southeast-2": ("336392948345", {"3.10": (36, 36), "3.11": (33, 33), "3.12": (29, 29), "3.13": (14, 14), "3.14": (9, 9)}),
    "ca-central-1": ("336392948345", {"3.10": (36, 36), "3.11": (33, 33), "3.12": (29, 29), "3.13": (14, 14), "3.14": (9, 9)}),
    "eu-central-1": ("336392948345", {"3.10": (36, 36), "3.11": (33, 33), "3.12": (29, 29), "3.13": (14, 14), "3.14": (9, 9)}),
    "eu-north-1": ("336392948345", {"3.10": (36, 36), "3.11": (33, 33), "3.12": (29, 29), "3.13": (14, 14), "3.14": (9, 9)}),
    "eu-west-1": ("336392948345", {"3.10": (36, 36), "3.11": (33, 33), "3.12": (29, 29), "3.13": (14, 14), "3.14": (9, 9)}),
    "eu-west-2": ("336392948345", {"3.10": (36, 36), "3.11": (33, 33), "3.12": (29, 29), "3.13": (14, 14), "3.14": (9, 9)}),
    "eu-west-3": ("336392948345", {"3.10": (36, 36), "3.11": (33, 33), "3.12": (29, 29), "3.13": (14, 14), "3.14": (9, 9)}),
    "sa-east-1": ("336392948345", {"3.10": (36, 36), "3.11": (33, 33), "3.12": (29, 29), "3.13": (14, 14), "3.14": (9, 9)}),
    "us-east-1": ("336392948345", {"3.10": (36, 36), "3.11": (33, 33), "3.12": (29, 29), "3.13": (14, 14), "3.14": (9, 9)}),
    "us-east-2": ("336392948345", {"3.10": (36, 36), "3.11": (33, 33), "3.12": (29, 29), "3.13": (14, 14), "3.14": (9, 9)}),
    "us-west-1": ("336392948345", {"3.10": (36, 36), "3.11": (33, 33), "3.12": (29, 29), "3.13": (14, 14), "3.14": (9, 9)}),
    "us-west-2": ("336392948345", {"3.10": (36, 36), "3.11": (33, 33), "3.12": (29, 29), "3.13": (14, 14), "3.14": (9, 9)}),
    "ap-east-1": ("839552336658", {"3.10": (33, 29), "3.11": (32, 29), "3.12": (26, 26), "3.13": (11, 11), "3.14": (6, 6)}),
    "ap-south-2": ("246107603503", {"3.10": (36, 26), "3.11": (31, 26), "3.12": (26, 26), "3.13": (11, 11), "3.14": (6, 6)}),
    "ap-southeast-3": ("258944054355", {"3.10": (33, 29), "3.11": (32, 29), "3.12": (26, 26), "3.13": (11, 11), "3.14": (6, 6)}),
    "ap-southeast-4": ("945386623051", {"3.10": (32, 26), "3.11": (31, 26), "3.12": (26, 26), "3.13": (11, 11), "3.14": (6, 6)}),
    "ca-west-1": ("941713567376", {"3.10": (3, 3), "3.11": (3, 3), "3.12": (3, 3), "3.13": (3, 3), "3.14": (3, 3)}),
    "eu-central-2": ("956415814219", {"3.10": (32, 26), "3.11": (31, 26), "3.12": (26, 26), "3.13": (11, 11), "3.14": (6, 6)}),
    "eu-south-1": ("774444163449", {"3.10": (33, 29), "3.11": (32, 29), "3.12": (26, 26), "3.13": (11, 11), "3.14": (6, 6)}),
    "eu-south-2": ("982086096842", {"3.10": (32, 26), "3.11": (31, 26), "3.12": (26, 26), "3.13": (11, 11), "3.14": (6, 6)}),
    "il-central-1": ("263840725265", {"3.10": (30, 26), "3.11": (30, 26), "3.12": (26, 26), "3.13": (11, 11), "3.14": (6, 6)}),
    "me-central-1": ("593833071574", {"3.10": (32, 26), "3.11": (30, 26), "3.12": (26, 26), "3.13": (11, 11), "3.14": (6, 6)}),
    "cn-north-1": ("406640652441", {"3.10": (28, 10), "3.11": (26, 10), "3.12": (10, 10), "3.13": (10, 10), "3.14": (5, 5)}),
    "cn-northwest-1": ("406640652441", {"3.10": (26, 10), "3.11": (25, 10), "3.12": (10, 10), "3.13": (10, 10), "3.14": (5, 5)}),
}
# fmt: on
PUBLISHED_ON = datetime(2026, 6, 25, tzinfo=timezone.utc)
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


def parameter_name(python: str = "3.12", architecture: str = "x86_64", release: str = PANDAS_RELEASE) -> str:
    """The SSM public parameter that holds the layer's ARN in each region (regional, like the layer)."""
    return f"/aws/service/aws-sdk-pandas/{release}/py{python}/{architecture}/layer-arn"


def published_parameters(region: str) -> dict[str, str]:
    """Parameter name -> layer ARN, as AWS publishes them in `region` (empty where the layer is not published)."""
    if region not in PUBLISHED_LAYERS:
        return {}
    account, versions = PUBLISHED_LAYERS[region]
    partition = "aws-cn" if region.startswith("cn-") else "aws"
    parameters = {}
    for python, numbers in versions.items():
        for architecture, number in zip(ARCHITECTURES, numbers, strict=True):
            suffix = "-Arm64" if architecture == "arm64" else ""
            name = f"AWSSDKPandas-Python{python.replace('.', '')}{suffix}"
            parameters[parameter_name(python, architecture)] = (
                f"arn:{partition}:lambda:{region}:{account}:layer:{name}:{number}"
            )
    return parameters


def pandas_layer_arn(region: str, python: str = "3.12", architecture: str = "x86_64") -> str:
    """The real ARN of the AWSSDKPandas layer (release PANDAS_RELEASE) in a region."""
    arn = published_parameters(region).get(parameter_name(python, architecture))
    if arn is None:
        raise ValueError(f"a AWSSDKPandas {PANDAS_RELEASE} não tem camada para Python {python} em {region}")
    return arn


def managed_layer_version(arn: str) -> ManagedLayerVersion | None:
    """The mirrored layer version for an ARN, or None when AWS publishes no such managed layer version."""
    parts = arn.split(":")
    if len(parts) != 8 or not MANAGED_LAYER_NAME.match(parts[6]):
        return None
    if arn not in published_parameters(parts[3]).values():
        return None
    return ManagedLayerVersion(arn=arn, region=parts[3], version=int(parts[7]))


def install_managed_layers() -> None:
    """Teach moto the published layers: Lambda knows their versions and SSM serves their public parameters."""
    from moto.awslambda.exceptions import InvalidParameterValueException, UnknownLayerVersionException
    from moto.awslambda.models import LambdaBackend, LambdaFunction
    from moto.awslambda.utils import get_backend
    from moto.ssm.models import Parameter, ParameterDict

    @replaces(LambdaBackend, "layers_versions_by_arn")
    def layers_versions_by_arn(original, self, layer_version_arn):
        managed = managed_layer_version(layer_version_arn)
        if managed is not None and managed.region == self.region_name:  # layers are regional, as on AWS
            return managed
        return original(self, layer_version_arn)

    @replaces(LambdaFunction, "_get_layers_data")
    def get_layers_data(original, self, layers_versions_arns):
        # AWS answers 400 InvalidParameterValueException "Layer version <arn> does not exist." (as reported in
        # github.com/intuit/costBuddy/issues/19); moto answers 404 ResourceNotFoundException.
        try:
            return original(self, layers_versions_arns)
        except UnknownLayerVersionException:
            backend = get_backend(self.account_id, self.region)
            missing = next(arn for arn in layers_versions_arns if backend.layers_versions_by_arn(arn) is None)
            raise InvalidParameterValueException(f"Layer version {missing} does not exist.") from None

    @replaces(ParameterDict, "_check_loading_status")
    def check_loading_status(original, self, key):
        original(self, key)
        if str(key or "").startswith("/aws/service/aws-sdk-pandas") and not getattr(
            self, "_pandas_layers", False
        ):
            self._pandas_layers = True
            for name, arn in published_parameters(self.region_name).items():
                defaultdict.__getitem__(self, name).append(
                    Parameter(
                        account_id=self.account_id,
                        name=name,
                        value=arn,
                        parameter_type="String",
                        description=None,
                        allowed_pattern=None,
                        keyid=None,
                        last_modified_date=PUBLISHED_ON,
                        version=1,
                        data_type="text",
                    )
                )
