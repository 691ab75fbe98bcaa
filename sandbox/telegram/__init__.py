"""Offline Telegram: a Bot API server, webhook delivery like Telegram's, and a simulated class group.

Usage::

    tg = TelegramSandbox(seed=42, transport=None, resolver=None, time_scale=0.01)
    tg.wsgi_app        # serve it with any WSGI server (threaded: long polling blocks a thread)
    tg.token, tg.group_chat_id
    tg.start()         # webhook delivery threads; tg.stop() ends them promptly
    tg.reset(seed)     # initial state: same seed -> byte-identical updates

Routes on `wsgi_app`:

- `/bot<token>/<method>`: getMe, getUpdates, setWebhook, deleteWebhook, getWebhookInfo, sendMessage, getChat,
  getChatMemberCount, getFile, setMyCommands, getMyCommands, deleteMyCommands, close, logOut (GET or POST;
  query string, urlencoded, JSON or multipart; method names case-insensitive).
- `/file/bot<token>/<file_path>`: downloads for getFile (deterministic bytes of the announced size).
- `/_sandbox/...` (JSON; POST bodies are JSON objects; answers `{"ok": true, "result": ...}` or
  `{"ok": false, "error": "<pt-BR>"}` with status 400/404):

  ========  =========================  ===============================================  =========================
  method    path                       body                                             Python API
  ========  =========================  ===============================================  =========================
  GET       status                                                                      status()
  GET       participants                                                                participants()
  GET       updates                    (peek at pending updates, confirms nothing)      pending_updates()
  POST      reset                      {seed?}                                          reset(seed)
  POST      clock/advance              {seconds}                                        advance_clock(seconds)
  POST      chat/text                  {from, text, reply_to?, private?}                post(who, text, ...)
  POST      chat/photo                 {from, caption?, reply_to?}                      post_photo(who, caption)
  POST      chat/sticker               {from, emoji?, reply_to?}                        post_sticker(who, emoji)
  POST      chat/voice                 {from, duration?, reply_to?}                     post_voice(who, duration)
  POST      chat/document              {from, file_name?, caption?}                     post_document(...)
  POST      chat/poll                  {from, question, options}                        post_poll(...)
  POST      chat/location              {from, latitude, longitude}                      post_location(...)
  POST      chat/edit                  {message_id, text}                               edit(message_id, text)
  POST      chat/join                  {from?}  (absent: a new person joins)            join(who=None)
  POST      chat/leave                 {from}                                           leave(who)
  POST      chat/migrate               {from?}  (an admin; absent: the teacher)         migrate(who=None)
  POST      chat/generate              {participants, days, messages, seed?}            generate(...)
  POST      botfather/setprivacy       {enabled, readd?}                                set_privacy(enabled, readd)
  POST      webhook/deliver            {update}  (an external update, e.g. the bridge)  deliver_external(update)
  ========  =========================  ===============================================  =========================

  `from` is a first name ("ana", accents optional), a username or a user id. Posting methods return
  `{"message": <Message>, "update_id": <int or null>}`; null means the bot does not receive it (privacy mode,
  bot not in the group, or another bot's message).

Model: one bot (privacy mode on, as BotFather creates it), one basic group "Turma de Engenharia de Dados" whose
teacher has just added the bot (`chat/migrate` makes it a supergroup with a new -100... id, as Telegram does), participants who can also write to the bot privately (each private chat is its own
webhook queue). The virtual clock starts at `start` and moves a few seconds per posted message; nothing that
appears in an update reads the wall clock. A generated conversation (`chat/generate`) is planned over the days
after now and happens as the bot reads: when every update has been read or delivered, the clock moves to the next
hour of planned messages. Telegram never queues a message dated 24 h ago or more and drops an update 24 h after
its date, so a week of chat is never a backlog; `status` shows the `scheduled_messages` still to come. Real time is used only for retries (Telegram's schedule times
`time_scale`), the setWebhook rate limit and long polling.

Modules:

- emulator.py: TelegramSandbox, the facade that builds the parts below for a seed and holds their one lock
- clock.py: the virtual clock (and the real one, for retries, rate limits and long polls)
- group.py: the bot, the people, their chats and messages, privacy mode; what each action posts
- updates.py: the update queue (serialized once), per-chat order, getUpdates offsets and long polls, expiry
- delivery.py: the webhook, its scheduler thread, retries, in-flight limit and last error
- webhook.py: Telegram's webhook wire facts (headers, error texts, retry schedule, default transport)
- botapi.py / control.py: the HTTP face (Bot API methods; /_sandbox/ control routes)
- people.py, messages.py, entities.py: seeded people and ids, message builders, entity parsing
- markup.py: sendMessage's parse_mode (HTML, MarkdownV2, Markdown) as td parses it, with its refusal texts
- generator.py: a realistic week of class chat, played by group.py; cli.py: `python -m sandbox chat|botfather`
"""

from .emulator import TelegramSandbox

__all__ = ["TelegramSandbox"]
