"""The tutorial's contract: the names the notebooks create and the order they run in, in one place.

The notebooks write these names themselves (they teach them); everything around them (the setup's catch-up,
the bridge, the live view, the tests) reads them from here.
"""

ORDER = ["01-bot-telegram", "02-ingestao-aws", "03-webhook", "04-etl", "05-analise", "06-limpeza"]
PREFIX = "telegram"
