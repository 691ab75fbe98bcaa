"""AWS's authorization errors explained to the learner in pt-BR, in both worlds.

AWS (and the sandbox, which answers the same) says in English which permission is missing. A notebook's setup cell
calls `explain_access_denied()` once: from then on, a cell that fails with an authorization error shows, instead of
a traceback, what it means and what to ask for; so do the tutorial's own errors (configuration, sandbox, catch-up).
"""

from __future__ import annotations

import re

DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")
BAD_KEY = (
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
)
DETAIL = re.compile(r'is not authorized to perform: (?P<action>\S+) on resource: "?(?P<resource>[^"\s]+)"?')
POLICY_HINT = (
    'Peça a quem administra a conta a política da turma (iam/politica-da-turma.json; veja "Na conta real: as permissões '
    'da turma" no README) ou confira as permissões nos pré-requisitos, no início deste notebook.'
)


def hint(error: BaseException) -> str | None:
    """The pt-BR explanation of an authorization error of botocore (None for any other error)."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code", "")
    message = response.get("Error", {}).get("Message", "") or str(error)
    if code in BAD_KEY:
        return (
            "A AWS não reconheceu as suas credenciais (chave de acesso inexistente, desativada ou com o segredo "
            "errado). Confira o `aws configure` (ou AWS_ACCESS_KEY_ID e AWS_SECRET_ACCESS_KEY) e, se a chave foi "
            "desativada, peça uma nova a quem administra a conta."
        )
    if code not in DENIED:
        return None
    found = DETAIL.search(message)
    if found is None:
        return "A AWS negou esta chamada às suas credenciais. " + POLICY_HINT
    why = "uma política nega explicitamente" if "explicit deny" in message else "nenhuma política permite"
    return (
        f"A AWS negou a permissão {found['action']} no recurso {found['resource']}: {why} essa ação às suas "
        "credenciais. " + POLICY_HINT
    )


def explain_access_denied(shell=None) -> None:
    """Show the tutorial's own errors in a notebook as one short pt-BR block, without a traceback.

    The tutorial's own errors: a configuration it refuses (ConfigurationError), a sandbox or catch-up failure a
    person can fix (SandboxError), and AWS's authorization errors, shown with what they mean and what to ask for.
    Every other error, AWS's included, keeps its traceback. The cell still fails (nbclient and papermill stop there).
    """
    from botocore.exceptions import ClientError

    from sandbox import SandboxError

    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is None:
            return  # not in a notebook: plain Python shows the message as it is

    from tutorial.setup import ConfigurationError

    titles = {ConfigurationError: "Configuração", SandboxError: "Sandbox"}

    def handler(shell, etype, value, tb, tb_offset=None):
        title = next((name for kind, name in titles.items() if issubclass(etype, kind)), None)
        text = str(value) if title else hint(value)
        if text is None:
            lines = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
        elif title:
            lines = [brief(title, text)]
        else:  # AWS's own words stay under the explanation: they name the denial for whoever administers the account
            lines = [brief("Permissão da AWS", f"{text}\n(a AWS respondeu: {value})")]
        # IPython shows nothing of a custom handler's own: it sends the traceback (the kernel's error message).
        shell._showtraceback(etype, value, lines)
        return lines

    shell.set_custom_exc((ClientError, *titles), handler)


def brief(title: str, text: str) -> str:
    """One short block: a red title and the message, which says what to do."""
    return f"\x1b[1;31m{title}:\x1b[0m {text}"
