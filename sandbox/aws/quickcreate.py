"""HTTP API quick create: what CreateApi does with `Target`, as the console's "Add trigger > API Gateway" uses it.

moto ignores `Target`, `RouteKey` and `CredentialsArn`. On AWS (CreateApi reference, "This property is part of
quick create ... Supported only for HTTP APIs") they make, in one call: an integration (AWS_PROXY with payload
format 2.0 for a Lambda ARN, HTTP_PROXY for a URL), a route (`RouteKey`, by default the catch-all `$default`)
that targets it, and a `$default` stage that deploys automatically. Quick create does not add the Lambda
permission: until `add_permission` allows apigateway.amazonaws.com, calls answer 500.
"""

from __future__ import annotations

import json

from sandbox.aws.patching import replaces

QUICK_CREATE_FIELDS = ("target", "routeKey", "credentialsArn")
# Wording modelled on the CreateApi reference ("Supported only for HTTP APIs"); AWS answers BadRequestException.
ONLY_HTTP = "{field} is only supported for HTTP APIs."


def quick_create(api, target: str, route_key: str | None, credentials_arn: str | None) -> None:
    """Add the integration, route and auto-deployed stage quick create makes for `target`."""
    lambda_target = target.startswith("arn:")
    integration = api.create_integration(
        connection_type="INTERNET",
        description=None,
        integration_method="POST" if lambda_target else "ANY",
        integration_type="AWS_PROXY" if lambda_target else "HTTP_PROXY",
        integration_uri=target,
        credentials_arn=credentials_arn,
        payload_format_version="2.0" if lambda_target else "1.0",
        timeout_in_millis=30000,
    )
    api.create_route(
        api_key_required=False,
        authorization_scopes=[],
        route_key=route_key or "$default",
        target=f"integrations/{integration.id}",
        authorization_type="NONE",
    )
    api.create_stage({"stageName": "$default", "autoDeploy": True})


def install_quick_create() -> None:
    """Make moto's CreateApi honour the quick-create fields (once per process)."""
    from moto.apigatewayv2.exceptions import BadRequestException
    from moto.apigatewayv2.responses import ApiGatewayV2Response

    @replaces(ApiGatewayV2Response, "create_api")
    def create_api(original, self):
        params = json.loads(self.body or "{}")
        given = [name for name in QUICK_CREATE_FIELDS if params.get(name) is not None]
        if given and params.get("protocolType") == "WEBSOCKET":
            field = given[0][0].upper() + given[0][1:]
            raise BadRequestException(ONLY_HTTP.format(field=field))
        status, headers, body = original(self)
        if params.get("target"):
            api = self.apigatewayv2_backend.get_api(json.loads(body)["apiId"])
            quick_create(api, params["target"], params.get("routeKey"), params.get("credentialsArn"))
        return status, headers, body
