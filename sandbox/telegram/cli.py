"""`python -m sandbox chat ...` and `python -m sandbox botfather ...`: talk to the running sandbox over HTTP."""

from __future__ import annotations

import argparse
import os
import sys

import requests

from .. import config, control_headers

NOT_RUNNING = "O sandbox não está rodando. Rode: python -m sandbox up"


class CliError(Exception):
    """A failure to show the learner (pt-BR) with exit status 1."""


def api_url() -> str:
    return os.environ.get("TELEGRAM_API_URL", config.telegram_api_url()).rstrip("/")


def call(method: str, route: str, body: dict | None = None) -> object:
    """One control-route call; pt-BR errors for a stopped sandbox or a refused request."""
    url = f"{api_url()}/_sandbox/{route}"
    try:
        response = requests.request(method, url, json=body, headers=control_headers(), timeout=30)
    except requests.ConnectionError as exc:
        raise CliError(NOT_RUNNING) from exc
    try:
        payload = response.json()
    except ValueError as exc:
        raise CliError(f"Resposta inesperada de {url} (HTTP {response.status_code}).") from exc
    if not payload.get("ok"):
        raise CliError(payload.get("error") or f"Erro HTTP {response.status_code}")
    return payload["result"]


def _describe(result: dict) -> str:
    message = result["message"]
    where = "privado do bot" if message["chat"]["type"] == "private" else message["chat"].get("title", "")
    line = f"Mensagem {message['message_id']} de {message['from']['first_name']} em {where}."
    if result.get("update_id") is None:
        return line + " O bot NÃO recebe esta mensagem (modo de privacidade, ou mensagem de outro bot)."
    return line + f" O bot recebe o update {result['update_id']}."


# `chat <action>` that posts something: (control route, {body key: argparse attribute}); "from" is the sender.
_POSTS = {
    "post": ("text", {"from": "sender", "text": "text", "private": "private"}),
    "reply": ("text", {"from": "sender", "text": "text", "reply_to": "to"}),
    "photo": ("photo", {"from": "sender", "caption": "caption"}),
    "sticker": ("sticker", {"from": "sender", "emoji": "emoji"}),
    "voice": ("voice", {"from": "sender", "duration": "duration"}),
    "document": ("document", {"from": "sender", "file_name": "file_name", "caption": "caption"}),
    "poll": ("poll", {"from": "sender", "question": "question", "options": "option"}),
    "location": ("location", {"from": "sender", "latitude": "latitude", "longitude": "longitude"}),
    "edit": ("edit", {"message_id": "message_id", "text": "text"}),
    "join": ("join", {"from": "sender"}),
    "leave": ("leave", {"from": "sender"}),
}


def cmd_chat(args: argparse.Namespace) -> str:
    action = args.chat_action
    if action in _POSTS:
        route, fields = _POSTS[action]
        body = {key: getattr(args, attribute) for key, attribute in fields.items()}
        return _describe(call("POST", f"chat/{route}", body))
    if action == "migrate":
        result = call("POST", "chat/migrate", {"from": args.sender})
        farewell, welcome = result["messages"]
        lines = [
            f"{farewell['from']['first_name']} mudou uma configuração que só supergrupos têm, e o Telegram "
            f"transformou o grupo em supergrupo: o id {result['old_chat_id']} virou {result['new_chat_id']}.",
            f"O grupo antigo recebe a mensagem {farewell['message_id']} com migrate_to_chat_id; o supergrupo começa "
            f"com a mensagem {welcome['message_id']} com migrate_from_chat_id.",
        ]
        if any(update_id is not None for update_id in result["update_ids"]):
            lines.append("O bot recebe os updates " + " e ".join(map(str, result["update_ids"])) + ".")
        lines.append(f"Daqui em diante, toda mensagem do grupo vem com o id {result['new_chat_id']}.")
        return "\n".join(lines)
    if action == "participants":
        rows = []
        for person in call("GET", "participants"):
            username = f"@{person['username']}" if person.get("username") else "(sem username)"
            name = " ".join(filter(None, [person["first_name"], person.get("last_name")]))
            flags = ("admin " if person["is_admin"] else "") + ("bot " if person["is_bot"] else "")
            state = "" if person["in_group"] else " (fora do grupo)"
            rows.append(f"{person['id']:>12}  {name:<24} {username:<26} {flags}{state}".rstrip())
        return "\n".join(rows)
    if action == "generate":
        body = {
            "participants": args.participants,
            "days": args.days,
            "messages": args.messages,
            "seed": args.seed,
        }
        summary = call("POST", "chat/generate", body)
        lines = [
            f"Conversa gerada: {summary['messages']} mensagens de {summary['participants']} participantes, "
            f"de {summary['first_date']} a {summary['last_date']} (UTC).",
            "As mensagens chegam conforme o tempo simulado passa: quando o bot já leu tudo (getUpdates ou o "
            "webhook), o relógio do sandbox avança para as próximas. O Telegram não entrega mensagem com mais de "
            "24 h, então uma semana de conversa nunca fica esperando numa fila.",
        ]
        if not summary["bot_reads_all_group_messages"]:
            lines.append(
                "Atenção: com o modo de privacidade ativo, o bot só recebe comandos, respostas a ele e mensagens "
                "de serviço. Para coletar tudo: python -m sandbox botfather setprivacy disable"
            )
        return "\n".join(lines)
    raise CliError(f"Comando desconhecido: chat {action}")


def cmd_botfather(args: argparse.Namespace) -> str:
    enabled = args.mode == "enable"
    result = call("POST", "botfather/setprivacy", {"enabled": enabled, "readd": not args.no_readd})
    state = "ativado" if enabled else "desativado"
    lines = [f"Modo de privacidade {state}."]
    if result["readded"]:
        lines.append(
            "No Telegram a mudança só vale no grupo depois que o bot sai e volta: o sandbox removeu o bot e o "
            "adicionou de novo (o bot recebe os updates my_chat_member dessa saída e volta)."
        )
    elif not result["effective_in_group"]:
        lines.append(
            "Ainda não vale no grupo: remova o bot e adicione de novo (sem --no-readd o sandbox faz isso)."
        )
    reads_all = (
        "lê todas as mensagens do grupo" if not enabled else "só lê comandos, respostas a ele e avisos"
    )
    lines.append(f"Agora o bot {reads_all}.")
    return "\n".join(lines)


def _sender(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--from", dest="sender", required=required, help="quem envia: nome, @username ou id")


def register(subparsers) -> None:
    """Add the `chat` and `botfather` sub-commands; each sets `handler(args) -> exit status`."""
    chat = subparsers.add_parser("chat", help="simula a turma no grupo do Telegram")
    actions = chat.add_subparsers(dest="chat_action", required=True, metavar="ação")
    post = actions.add_parser("post", help="envia uma mensagem de texto")
    _sender(post)
    post.add_argument("--text", required=True, help="o texto da mensagem")
    post.add_argument("--private", action="store_true", help="envia no privado do bot, não no grupo")
    reply = actions.add_parser("reply", help="responde a uma mensagem")
    _sender(reply)
    reply.add_argument("--to", type=int, required=True, help="message_id da mensagem respondida")
    reply.add_argument("--text", required=True, help="o texto da resposta")
    photo = actions.add_parser("photo", help="envia uma foto")
    _sender(photo)
    photo.add_argument("--caption", help="legenda da foto")
    sticker = actions.add_parser("sticker", help="envia uma figurinha")
    _sender(sticker)
    sticker.add_argument("--emoji", help="o emoji da figurinha")
    voice = actions.add_parser("voice", help="envia um áudio")
    _sender(voice)
    voice.add_argument("--duration", type=int, help="duração em segundos")
    document = actions.add_parser("document", help="envia um arquivo")
    _sender(document)
    document.add_argument("--file-name", default="material.pdf", help="nome do arquivo")
    document.add_argument("--caption", help="legenda")
    poll = actions.add_parser("poll", help="cria uma enquete")
    _sender(poll)
    poll.add_argument("--question", required=True, help="a pergunta")
    poll.add_argument("--option", action="append", required=True, help="uma opção (repita para cada uma)")
    location = actions.add_parser("location", help="envia uma localização")
    _sender(location)
    location.add_argument("--latitude", type=float, required=True)
    location.add_argument("--longitude", type=float, required=True)
    edit = actions.add_parser("edit", help="o autor edita uma mensagem")
    edit.add_argument("--message-id", type=int, required=True, help="message_id da mensagem editada")
    edit.add_argument("--text", required=True, help="o novo texto")
    join = actions.add_parser("join", help="alguém entra no grupo")
    _sender(join, required=False)
    leave = actions.add_parser("leave", help="alguém sai do grupo")
    _sender(leave)
    migrate = actions.add_parser(
        "migrate", help="um admin transforma o grupo em supergrupo (o id do grupo muda, como no Telegram)"
    )
    _sender(migrate, required=False)
    actions.add_parser("participants", help="lista quem está no grupo")
    generate = actions.add_parser("generate", help="gera uma conversa realista da turma")
    generate.add_argument("--participants", type=int, default=12, help="quantas pessoas falam (padrão 12)")
    generate.add_argument(
        "--days", type=int, default=7, help="quantos dias de conversa a partir de agora (padrão 7)"
    )
    generate.add_argument("--messages", type=int, default=2000, help="quantas mensagens (padrão 2000)")
    generate.add_argument("--seed", type=int, help="semente (padrão: a do sandbox)")
    chat.set_defaults(handler=lambda args: run(cmd_chat, args))

    botfather = subparsers.add_parser("botfather", help="o que o @BotFather faz (modo de privacidade)")
    settings = botfather.add_subparsers(dest="botfather_action", required=True, metavar="ação")
    privacy = settings.add_parser("setprivacy", help="liga ou desliga o modo de privacidade do bot")
    privacy.add_argument("mode", choices=["enable", "disable"], help="enable = privacidade ligada")
    privacy.add_argument("--no-readd", action="store_true", help="não remove e readiciona o bot no grupo")
    botfather.set_defaults(handler=lambda args: run(cmd_botfather, args))


def run(command, args: argparse.Namespace) -> int:
    """Print a command's output; a CliError becomes a pt-BR message on stderr and exit status 1."""
    try:
        print(command(args))
    except CliError as error:
        print(f"Erro: {error}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.telegram.cli")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
