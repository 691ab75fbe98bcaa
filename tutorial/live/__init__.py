"""The classroom live view: a local page where the class watches its own messages travel through the pipeline.

`python -m tutorial.live` (or `python -m tutorial aula`, `make aula`) prepares the sandbox, deploys with the
notebooks, and serves the page on 127.0.0.1. The page observes the pipeline only through the services a learner
uses (the Bot API's getWebhookInfo, CloudWatch Logs, S3 listings, Athena) and pushes what changed with
server-sent events; the teacher's controls go through the sandbox's control routes and boto3. When the sandbox
stops, the page says how to bring it back; when it returns empty, the page rebuilds the pipeline and sends the
class's messages again (server.py).
"""
