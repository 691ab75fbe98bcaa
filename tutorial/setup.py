"""What a notebook's setup cell does in the sandbox: start it and bring it to the state earlier notebooks leave.

On a real account the resources the earlier notebooks created persist; in a fresh sandbox (a new Colab runtime,
`python -m sandbox reset`) they do not, so `prepare("04")` runs 01-03 headless first when their resources are
missing. It also does, in the sandbox, the manual steps a learner does by hand on Telegram: disabling the bot's
privacy mode in BotFather (notebook 01's prerequisite) and, for notebook 03, having the class write in the group.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import requests

import sandbox
from tutorial import contract
from tutorial.contract import ORDER
from tutorial.control import telegram_control
from tutorial.permissions import explain_access_denied
from tutorial.runner import BAR, code_cells, run_notebooks

# The class conversation notebook 03 shows arriving; `SANDBOX_MESSAGES` makes it bigger (the demo uses ~2,000).
CONVERSATION = {"participants": 12, "days": 7, "messages": int(os.environ.get("SANDBOX_MESSAGES", "240"))}
# Notebook 03 waits until at least this many updates are stored.
MIN_STORED = 5


class ConfigurationError(RuntimeError):
    """The environment cannot run the tutorial as asked; the message (pt-BR) says what to set."""


# What each notebook needs on a real account, checked before it creates anything.
REAL_NEEDS = {
    "01-bot-telegram": {"telegram"},
    "02-ingestao-aws": {"aws", "chat"},
    "03-webhook": {"aws", "telegram"},
    "04-etl": {"aws"},
    "05-analise": {"aws"},
    "06-limpeza": {"aws", "telegram"},
}
WORLDS = ("sandbox", "real")
# CONTA_AWS: "individual" (the default), an account of one's own, with the names as they always were; "compartilhada",
# a class sharing one account, each student's names carrying their IAM user name (README, "Uma conta para a turma").
ACCOUNT_MODES = ("individual", "compartilhada")
# The longest names each service accepts, for the names a student's user name goes into: S3 ("Bucket naming rules":
# 3 to 63 characters), IAM roles (IAM quotas: 64), Lambda (CreateFunction: a function name alone, 64), EventBridge
# Scheduler (CreateSchedule: 64), API Gateway (CreateApi: 128), Athena (CreateWorkGroup: 128) and Glue (CreateDatabase
# and Athena's "Name databases, tables, and columns": 255).
NAME_LIMITS = {
    "bucket": 63,
    "role": 64,
    "function": 64,
    "schedule": 64,
    "api": 128,
    "workgroup": 128,
    "database": 255,
}
# The characters every one of those names takes: S3 takes lowercase letters, digits, "." and "-"; Athena's database
# names lowercase letters, digits and "_". A hyphen also would let the class policy's `telegram-${aws:username}-*`
# of user "ana" match the names of user "ana-b".
USER_NAME = re.compile(r"[a-z0-9]+")
# A token as BotFather hands it out: the bot's id, a colon and 35 characters.
TOKEN_SHAPE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")
SANDBOX_FIX = (
    "Para usar a conta real, feche o Jupyter e, no terminal:\n"
    '    eval "$(python -m sandbox env --unset)"\n'
    f"(é o mesmo que `unset {' '.join(sandbox.ENV_NAMES)}`). Depois configure suas credenciais da AWS "
    "(`aws configure`) e o token do bot e abra o Jupyter de novo. Se este kernel já rodou no sandbox, "
    "reinicie o kernel (no JupyterLab, menu Kernel > Reiniciar o kernel…; em inglês, Restart Kernel…)."
)


def configure(notebook: str, ambiente: str | None = None, conta: str | None = None) -> str:
    """The setup cell of every notebook: check AMBIENTE and CONTA_AWS, then start the sandbox or check the account.

    Returns the world ("sandbox" or "real"); `prefixo()` then gives the prefix of the notebook's names. On a real
    account nothing is created here: region, credentials, token and chat id are checked first, so a notebook never
    fails half-way for lack of them.
    """
    # Before anything can fail: the tutorial's own errors show as one short block, without a traceback.
    explain_access_denied()
    world = _choice(
        "AMBIENTE",
        ambiente,
        WORLDS,
        "um ambiente conhecido: use AMBIENTE=sandbox (o padrão, tudo simulado nesta máquina) ou AMBIENTE=real "
        "(sua conta AWS e o seu bot)",
    )
    mode = account_mode(conta)
    if account_mode(None) != mode:
        # The cell chose another mode than the environment's (an edited default): the notebooks the catch-up runs,
        # each in a kernel of its own, read the environment.
        os.environ["CONTA_AWS"] = mode
    contract.activate(None)
    if world == "sandbox":
        prepare(notebook, mode)
    else:
        check_real(notebook, mode)
    print(f"Ambiente: {world}")
    return world


def account_mode(conta: str | None = None) -> str:
    """CONTA_AWS, checked: "individual" or "compartilhada" (any case, spaces around ignored)."""
    return _choice(
        "CONTA_AWS",
        conta,
        ACCOUNT_MODES,
        "um tipo de conta conhecido: use CONTA_AWS=individual (o padrão, a conta AWS é só sua) ou "
        "CONTA_AWS=compartilhada (a turma divide uma conta e os nomes dos seus recursos levam o seu usuário do IAM)",
    )


def _choice(variable: str, given: str | None, allowed: tuple[str, ...], expected: str) -> str:
    """A setting of the setup cell (`given`, else the environment variable, else the first allowed value),
    checked: any case, spaces around ignored; anything else stops with what the variable accepts."""
    raw = os.environ.get(variable, allowed[0]) if given is None else given
    value = raw.strip().lower()
    if value not in allowed:
        shown = f"{raw!r}" if raw.strip() else "vazia"
        raise ConfigurationError(
            f"{variable}={shown} não é {expected}. Corrija a variável e reinicie o kernel."
        )
    return value


def prefixo() -> str:
    """The prefix of the resource names, as the setup cell chose it: "telegram", or "telegram-<IAM user name>"."""
    if contract._active is None:
        raise ConfigurationError(
            "Os nomes dos recursos dependem da célula de configuração (a primeira deste notebook): rode-a antes "
            "desta."
        )
    return contract._active


def limite_dos_papeis(account_id: str) -> dict[str, str]:
    """What CreateRole takes besides the name and the trust policy: nothing in an account of one's own; in a shared
    account, the student's permissions boundary (`PermissionsBoundary`), without which the class policy refuses the
    role (README, "Uma conta para a turma toda")."""
    prefix = prefixo()
    if prefix == contract.PREFIX:
        return {}
    return {
        "PermissionsBoundary": f"arn:aws:iam::{account_id}:policy/{contract.names(prefix).boundary_policy}"
    }


def _choose_prefix(mode: str, identity: dict | None, region: str | None) -> str:
    """Set (and, in a shared account, show) the prefix of the names; `identity` is STS GetCallerIdentity's answer."""
    if mode == "individual" or identity is None:
        prefix = contract.PREFIX
    else:
        prefix = shared_prefix(identity["Arn"], identity["Account"], region or "")
        print(
            f"Conta compartilhada: você é o usuário do IAM {prefix.removeprefix(contract.PREFIX + '-')}, e os nomes "
            f"dos seus recursos começam com PREFIXO = {prefix!r} (por exemplo, a função {prefix}-ingestao)."
        )
    contract.activate(prefix)
    return prefix


def shared_prefix(arn: str, account: str, region: str) -> str:
    """The prefix of a student's names in a shared account, from their identity's ARN; refused unless every
    name it makes is valid (pt-BR: what the teacher has to change)."""
    # Only an IAM user has a user name: `${aws:username}` is absent for roles, federated users and the root user
    # (IAM User Guide, "IAM policy elements: Variables and tags", reference_policies_variables.html, "Request
    # information that you can use for policy variables").
    resource = arn.split(":", 5)[-1]
    if not resource.startswith("user/"):
        raise ConfigurationError(
            f"CONTA_AWS=compartilhada precisa das chaves de um usuário do IAM, e estas credenciais são de {arn}. "
            "Numa conta da turma, cada aluno usa a chave de acesso do próprio usuário (quem dá a aula cria os "
            'usuários: veja "Uma conta para a turma toda" no README). Troque as credenciais (`aws configure`) e '
            "reinicie o kernel."
        )
    user = resource.rsplit("/", 1)[-1]  # after the path, if the user has one (user/turma/ana)
    given = contract.names(contract.student_prefix(user))
    built = {
        "bucket": given.bucket(account, region, "enriched"),  # the longest layer
        "role": given.scheduler_role,
        "function": given.ingestion_function,
        "schedule": given.schedule,
        "api": given.api_name,
        "workgroup": given.workgroup,
        "database": given.database,
    }
    longest = min(limit - (len(built[kind]) - len(user)) for kind, limit in NAME_LIMITS.items())
    problems = []
    if not USER_NAME.fullmatch(user):
        problems.append(
            "ter só letras minúsculas sem acento e algarismos (nada de maiúsculas, hífen, ponto, _, @, +, = "
            "ou vírgula)"
        )
    if len(user) > longest:
        problems.append(
            f"ter no máximo {longest} caracteres nesta conta e região ({region}); tem {len(user)}"
        )
    if problems:
        raise ConfigurationError(
            f"O usuário do IAM {user!r} não serve para a conta compartilhada: o nome dele entra no nome dos seus "
            f"buckets do S3 ({built['bucket']}), funções, papéis e banco do Glue, e por isso precisa "
            f"{' e '.join(problems)}. Quem dá a aula cria outro usuário com um nome assim (por exemplo, aluna01) "
            "e entrega a chave dele; depois rode `aws configure` com a chave nova e reinicie o kernel."
        )
    return given.prefix


def check_real(notebook: str, mode: str = "individual") -> dict[str, str]:
    """Refuse to start on a real account unless everything the notebook needs is set; returns what it found.

    Imports only boto3 and requests (the base dependencies): a real-mode learner needs no sandbox extra.
    """
    needs = REAL_NEEDS[ORDER[_index(notebook)]]
    _refuse_sandbox_shell()
    session = _aws_session() if "aws" in needs else None  # what is missing locally is said first
    found: dict[str, str] = {}
    if "chat" in needs:
        found["chat_id"] = _check_chat_id()
    if "telegram" in needs:
        _check_token()
    identity = None
    if session is not None:
        identity = _identity(session)
        found |= {"region": session.region_name, "account": identity["Account"]}
        print(
            f"Conta AWS {found['account']}, região {found['region']}: é aqui que os recursos serão criados."
        )
    _choose_prefix(mode, identity, session.region_name if session else None)
    return found


def _refuse_sandbox_shell() -> None:
    """A shell (or kernel) still pointing at the sandbox would deploy there while saying "real"."""
    for name in sorted(os.environ):
        if (name.startswith("AWS_ENDPOINT_URL") or name == "TELEGRAM_API_URL") and _is_sandbox_url(
            os.environ[name]
        ):
            raise ConfigurationError(
                f"AMBIENTE=real, mas {name}={os.environ[name]} aponta para o sandbox. {SANDBOX_FIX}"
            )
    if os.environ.get("AWS_ACCESS_KEY_ID") == sandbox.config.ACCESS_KEY_ID:
        raise ConfigurationError(
            "AMBIENTE=real, mas AWS_ACCESS_KEY_ID é a credencial de mentira do sandbox "
            f"({sandbox.config.ACCESS_KEY_ID!r}). {SANDBOX_FIX}"
        )


def _is_sandbox_url(url: str) -> bool:
    """On this machine and either on the sandbox's ports or answering its control route."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").strip("[]")
    try:
        local = host == "localhost" or ipaddress.ip_address(host).is_loopback or host == "0.0.0.0"
    except ValueError:
        local = False
    if not local:
        return False
    state = sandbox._read_state() or {}
    ports = {
        sandbox.config.AWS_PORT,
        sandbox.config.TELEGRAM_PORT,
        state.get("aws_port"),
        state.get("telegram_port"),
    }
    if parts.port is not None and parts.port in ports:
        return True
    try:
        requests.get(f"{url.rstrip('/')}/_sandbox/status", timeout=2).json()
    except (requests.RequestException, ValueError):
        return False  # nothing there, or not the sandbox
    return True


def _aws_session():
    """A boto3 session with a region and credentials that are not the sandbox's (no network call yet)."""
    import boto3

    session = boto3.session.Session()
    if not session.region_name:
        raise ConfigurationError(
            "Falta a região da AWS: defina AWS_DEFAULT_REGION (por exemplo AWS_DEFAULT_REGION=sa-east-1) ou rode "
            "`aws configure`, e reinicie o kernel."
        )
    credentials = session.get_credentials()
    if credentials is None:
        raise ConfigurationError(
            "Faltam as credenciais da AWS: rode `aws configure` (ou `aws sso login` com AWS_PROFILE), ou defina "
            "AWS_ACCESS_KEY_ID e AWS_SECRET_ACCESS_KEY, e reinicie o kernel."
        )
    if credentials.access_key == sandbox.config.ACCESS_KEY_ID:
        raise ConfigurationError(
            f"AMBIENTE=real, mas as credenciais da AWS são as de mentira do sandbox. {SANDBOX_FIX}"
        )
    return session


def _identity(session) -> dict:
    """Who the credentials are: STS GetCallerIdentity (it answers even without any permission)."""
    import botocore.config
    import botocore.exceptions

    settings = botocore.config.Config(connect_timeout=10, read_timeout=20, retries={"total_max_attempts": 2})
    try:
        return session.client("sts", config=settings).get_caller_identity()
    except botocore.exceptions.ClientError as error:
        raise ConfigurationError(
            f"A AWS recusou as credenciais ({error.response['Error']['Code']}): confira `aws configure` "
            "(ou renove a sessão com `aws sso login`) e reinicie o kernel."
        ) from None
    except botocore.exceptions.BotoCoreError as error:
        raise ConfigurationError(
            f"Não foi possível falar com a AWS ({type(error).__name__}): confira a internet e a região "
            f"{session.region_name!r}, e rode a célula de novo."
        ) from None


def _check_chat_id() -> str:
    chat_id = os.environ.get("TELEGRAM_CHAT_ID", "").strip()
    if not chat_id:
        raise ConfigurationError(
            "Falta TELEGRAM_CHAT_ID: defina essa variável com o id do grupo (o notebook 01 mostra qual é, "
            "por exemplo TELEGRAM_CHAT_ID=-1001234567890) e reinicie o kernel."
        )
    if not re.fullmatch(r"-?\d+", chat_id):
        raise ConfigurationError(
            f"TELEGRAM_CHAT_ID={chat_id!r} não é um id de grupo: use o número que o notebook 01 mostra "
            "(por exemplo -1001234567890) e reinicie o kernel."
        )
    return chat_id


def _check_token() -> None:
    """The bot token, from TELEGRAM_BOT_TOKEN or typed (never shown); left in os.environ for the next cells."""
    token = os.environ.get("TELEGRAM_BOT_TOKEN")
    if token is None:
        import getpass

        try:
            token = getpass.getpass("Token do bot (do BotFather): ")
        except Exception:  # no terminal (papermill, a script): IPython's StdinNotImplementedError and others
            raise ConfigurationError(
                "Falta o token do bot: defina TELEGRAM_BOT_TOKEN com o token que o @BotFather deu "
                "(/mybots > o bot > API Token) e reinicie o kernel."
            ) from None
    token = token.strip()
    if not token:
        raise ConfigurationError(
            "O token do bot está vazio: defina TELEGRAM_BOT_TOKEN com o token que o @BotFather deu "
            "(/mybots > o bot > API Token) ou digite-o quando pedido."
        )
    if not TOKEN_SHAPE.fullmatch(token):
        raise ConfigurationError(
            "O valor de TELEGRAM_BOT_TOKEN não tem o formato de um token do @BotFather (números, dois-pontos e "
            "35 letras, como 123456789:AAH...): copie o token de novo em /mybots > o bot > API Token."
        )
    os.environ["TELEGRAM_BOT_TOKEN"] = token


def prepare(notebook: str, mode: str = "individual") -> dict[str, str]:
    """Start (or join) the sandbox, set the environment, and catch up on the notebooks before `notebook`."""
    index = _index(notebook)
    variables = sandbox.start()
    prepare_group()
    identity = None
    if mode != "individual":
        import boto3

        identity = boto3.client("sts").get_caller_identity()
    _choose_prefix(mode, identity, variables["AWS_DEFAULT_REGION"])
    if ORDER[index] != "06-limpeza":  # teardown removes whatever exists; it never rebuilds anything first
        catch_up(notebook)
    if ORDER[index] == "03-webhook" and _class_must_talk():
        # On a real account the learner writes in the group while notebook 03 runs.
        telegram_control("POST", "chat/generate", CONVERSATION)
    if ORDER[index] == "06-limpeza" and "CONFIRMAR_LIMPEZA" not in os.environ:
        # Nothing real can be lost in the sandbox; on an account the learner types "sim" when asked.
        os.environ["CONFIRMAR_LIMPEZA"] = "sim"
        print("No sandbox não há dados de verdade: a limpeza dos buckets já vem confirmada.")
    print(
        f"Sandbox pronto: AWS em {variables['AWS_ENDPOINT_URL']}, Telegram em {variables['TELEGRAM_API_URL']}"
    )
    return variables


def _class_must_talk() -> bool:
    """Whether notebook 03 would wait in vain: only updates still waiting for the webhook reach the bucket.

    A group that already talked may have nothing left to deliver (after notebook 06 emptied the buckets, or after
    a run that stopped halfway), so the message count alone is not enough.
    """
    status = telegram_control("GET", "status")
    if status["scheduled_messages"]:  # a conversation is under way: it arrives as the webhook delivers
        return False
    return status["messages"] < CONVERSATION["messages"] or status["pending_update_count"] < MIN_STORED


def prepare_group() -> dict:
    """The README's prerequisite, done in BotFather on Telegram: privacy off, then the bot re-added to the group.

    Also sets TELEGRAM_CHAT_ID to the simulated group; returns the emulator's status.
    """
    status = telegram_control("GET", "status")
    os.environ["TELEGRAM_CHAT_ID"] = str(status["group"]["id"])
    if status["privacy_mode"]:
        telegram_control("POST", "botfather/setprivacy", {"enabled": False, "readd": True})
    return status


def catch_up(notebook: str) -> list[str]:
    """Run, headless, the notebooks before `notebook` whose resources are missing; returns the ones run."""
    from tqdm.auto import tqdm

    missing = [earlier for earlier in ORDER[1 : _index(notebook)] if not _done(earlier)]
    if not missing:
        return []
    print(f"Refazendo {_listed(missing)} (o sandbox não tem o que eles criam)...")
    # Kept when a notebook fails: its executed copy shows the error.
    folder = Path(tempfile.mkdtemp(prefix="refeitos-"))
    with tqdm(total=sum(code_cells(name) for name in missing), bar_format=BAR) as progress:
        run_notebooks(missing, output_dir=folder, progress=progress)
    shutil.rmtree(folder, ignore_errors=True)
    return missing


def _index(notebook: str) -> int:
    for index, name in enumerate(ORDER):
        if name.startswith(notebook):
            return index
    raise ValueError(f"notebook desconhecido: {notebook!r} (use um de {', '.join(n[:2] for n in ORDER)})")


def _done(notebook: str) -> bool:
    """Whether the resources a notebook creates exist (checked by name, as a real account would be)."""
    resources = contract.creates(contract.active()).get(notebook, ())
    return all(_EXISTS[resource.kind](resource.name) for resource in resources)


def _function_exists(name: str) -> bool:
    import boto3

    client = boto3.client("lambda")
    try:
        client.get_function(FunctionName=name)
    except client.exceptions.ResourceNotFoundException:
        return False
    return True


def _table_exists(name: str) -> bool:
    import boto3

    database, table = name.split(".")
    glue = boto3.client("glue")
    try:
        glue.get_table(DatabaseName=database, Name=table)
    except glue.exceptions.EntityNotFoundException:
        return False
    return True


def _webhook_set(name: str) -> bool:
    return bool(_bot_api("getWebhookInfo")["url"])


_EXISTS = {"function": _function_exists, "table": _table_exists, "webhook": _webhook_set}


def _bot_api(method: str) -> dict:
    url = f"{os.environ['TELEGRAM_API_URL']}/bot{os.environ['TELEGRAM_BOT_TOKEN']}/{method}"
    return requests.get(url, timeout=30).json()["result"]


def _listed(names: list[str]) -> str:
    numbers = [name[:2] for name in names]
    if len(numbers) == 1:
        return f"o notebook {numbers[0]}"
    return f"os notebooks {', '.join(numbers[:-1])} e {numbers[-1]}"
