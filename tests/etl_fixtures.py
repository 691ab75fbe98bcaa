"""Real-shaped Telegram updates for the ETL tests and benchmark, as the Bot API delivers them to a group bot."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
GROUP = {
    "id": -1001987654321,
    "title": "Turma de Engenharia de Dados",
    "is_forum": True,
    "type": "supergroup",
}
ANA = {
    "id": 5512345678,
    "is_bot": False,
    "first_name": "Ana",
    "username": "ana_dados",
    "language_code": "pt-br",
}
BRUNO = {"id": 6623456789, "is_bot": False, "first_name": "Bruno", "language_code": "pt-br"}
GROUP_ANONYMOUS_BOT = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}


def epoch(local: str) -> int:
    """Epoch seconds of a São Paulo wall-clock time, e.g. "2025-03-17 09:30"."""
    return int(datetime.fromisoformat(local).replace(tzinfo=SAO_PAULO).timestamp())


def message(update_id: int, message_id: int, date: int, user: dict | None = ANA, **content) -> dict:
    body = {"message_id": message_id}
    if user is not None:
        body["from"] = user
    body.update({"chat": GROUP, "date": date, **content})
    return {"update_id": update_id, "message": body}


def text(update_id: int, message_id: int, date: int, value: str, user: dict | None = ANA, **extra) -> dict:
    return message(update_id, message_id, date, user, text=value, **extra)


def edit(original: dict, update_id: int, edit_date: int, value: str) -> dict:
    body = {**original["message"], "edit_date": edit_date, "text": value}
    return {"update_id": update_id, "edited_message": body}


def photo(update_id: int, message_id: int, date: int, caption: str | None = None, **extra) -> dict:
    sizes = [
        {"file_id": f"AgACAgEAAx0CfotoP{message_id}s", "file_unique_id": "AQADs", "file_size": 1400, "width": 90,
         "height": 67},
        {"file_id": f"AgACAgEAAx0CfotoP{message_id}m", "file_unique_id": "AQADm", "file_size": 18311, "width": 320,
         "height": 240},
    ]  # fmt: skip
    content = {"photo": sizes, **({"caption": caption} if caption is not None else {}), **extra}
    return message(update_id, message_id, date, **content)


def sticker(update_id: int, message_id: int, date: int) -> dict:
    return message(
        update_id,
        message_id,
        date,
        BRUNO,
        sticker={
            "width": 512,
            "height": 512,
            "emoji": "😂",
            "set_name": "HotCherry",
            "is_animated": True,
            "is_video": False,
            "type": "regular",
            "file_id": "CAACAgIAAxkBAAEBsticker",
            "file_unique_id": "AgADsticker",
            "file_size": 33442,
        },
    )


def voice(update_id: int, message_id: int, date: int) -> dict:
    return message(
        update_id,
        message_id,
        date,
        voice={
            "duration": 4,
            "mime_type": "audio/ogg",
            "file_id": "AwACAgEvoice",
            "file_unique_id": "AgADvoice",
        },
    )


def document(update_id: int, message_id: int, date: int, caption: str) -> dict:
    return message(
        update_id,
        message_id,
        date,
        document={"file_name": "aula-03.pdf", "mime_type": "application/pdf", "file_id": "BQACAgEdoc",
                  "file_unique_id": "AgADdoc", "file_size": 204800},
        caption=caption,
    )  # fmt: skip


def video(update_id: int, message_id: int, date: int) -> dict:
    return message(
        update_id,
        message_id,
        date,
        video={"duration": 12, "width": 640, "height": 360, "mime_type": "video/mp4", "file_id": "BAACAgEvideo",
               "file_unique_id": "AgADvideo", "file_size": 1048576},
    )  # fmt: skip


def poll(update_id: int, message_id: int, date: int) -> dict:
    return message(
        update_id,
        message_id,
        date,
        poll={
            "id": "5123456789012345678",
            "question": "Qual serviço da AWS vocês acharam mais difícil?",
            "options": [{"text": "IAM", "voter_count": 0}, {"text": "Athena", "voter_count": 0}],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
        },
    )


def location(update_id: int, message_id: int, date: int) -> dict:
    return message(update_id, message_id, date, location={"latitude": -23.55052, "longitude": -46.633308})


def new_members(update_id: int, message_id: int, date: int) -> dict:
    return message(update_id, message_id, date, BRUNO, new_chat_member=BRUNO, new_chat_members=[BRUNO],
                   new_chat_participant=BRUNO)  # fmt: skip


def my_chat_member(update_id: int, date: int) -> dict:
    return {
        "update_id": update_id,
        "my_chat_member": {
            "chat": GROUP,
            "from": ANA,
            "date": date,
            "old_chat_member": {
                "user": {"id": 7000000001, "is_bot": True, "first_name": "Bot"},
                "status": "left",
            },
            "new_chat_member": {
                "user": {"id": 7000000001, "is_bot": True, "first_name": "Bot"},
                "status": "member",
            },
        },
    }
