"""The sandbox's AWS side: moto plus a Lambda runner, an API Gateway data plane and S3 faults."""
