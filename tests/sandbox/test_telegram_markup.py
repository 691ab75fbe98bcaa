"""sendMessage's parse_mode as the Bot API server applies it.

Expected texts, entities and refusals come from td's own tests of the parsers the server calls
(tdlib/td test/message_entities.cpp: parse_html, parse_markdown) and td/telegram/MessageEntity.cpp;
offsets and lengths are UTF-16 units ("🏟" counts 2), byte offsets in refusals are UTF-8 bytes.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.test import Client

from sandbox.telegram import TelegramSandbox
from sandbox.telegram.markup import MarkupError, UnsupportedParseMode, parse


def e(kind, offset, length, **extra):
    return {"offset": offset, "length": length, "type": kind, **extra}


@pytest.mark.parametrize(
    ("mode", "text", "plain", "entities"),
    [
        # The case: the markup is gone, and "</b" is no bot_command.
        ("HTML", "<b>oi</b>", "oi", [e("bold", 0, 2)]),
        ("html", "<i>a</i><u>b</u><s>c</s><tg-spoiler>d</tg-spoiler>", "abcd",
         [e("italic", 0, 1), e("underline", 1, 1), e("strikethrough", 2, 1), e("spoiler", 3, 1)]),
        ("HTML", '<a href="https://docs.aws.amazon.com">docs</a>', "docs",
         [e("text_link", 0, 4, url="https://docs.aws.amazon.com/")]),
        ("HTML", '<pre><code class="language-python">x = 1</code></pre>', "x = 1",
         [e("pre", 0, 5, language="python")]),
        ("HTML", '<code class="language-python">x</code>', "x", [e("code", 0, 1)]),
        ("HTML", "&lt;b&gt; &amp; &quot; &#128512; &copy;", '<b> & " 😀 &copy;', []),
        ("HTML", "<b>🏟 /start</b>", "🏟 /start", [e("bold", 0, 9), e("bot_command", 3, 6)]),
        ("HTML", "<blockquote expandable>q</blockquote>", "q", [e("expandable_blockquote", 0, 1)]),
        ("HTML", "<b></b>x", "x", []),
        ("MarkdownV2", "🏟 🏟_abac \\* asd _", "🏟 🏟abac * asd ", [e("italic", 5, 11)]),
        ("MarkdownV2", "🏟 🏟__🏟 _🏟_ __", "🏟 🏟🏟 🏟 ", [e("underline", 5, 6), e("italic", 8, 2)]),
        ("MarkdownV2", "||test||", "test", [e("spoiler", 0, 4)]),
        ("MarkdownV2", "[telegram\\.org](telegram.dog)", "telegram.org",
         [e("text_link", 0, 12, url="http://telegram.dog/")]),
        ("MarkdownV2", "[telegram\\.org](asdasd)", "telegram.org", [e("url", 0, 12)]),
        ("MarkdownV2", "🏟 🏟```🏟 🏟```", "🏟 🏟 🏟", [e("pre", 5, 3, language="🏟")]),
        ("MarkdownV2", "🏟 🏟`🏟 🏟```", "🏟 🏟🏟 🏟", [e("code", 5, 5)]),
        ("MarkdownV2", "> \n> \n>", " \n \n", [e("blockquote", 0, 4)]),
        ("MarkdownV2", ">a", "a", [e("blockquote", 0, 1)]),
        ("MarkdownV2", "*negrito* ~riscado~ Versão 1\\.0", "negrito riscado Versão 1.0",
         [e("bold", 0, 7), e("strikethrough", 8, 7)]),
        ("Markdown", "*negrito* _itálico_ `code` [aws](https://aws.amazon.com)", "negrito itálico code aws",
         [e("bold", 0, 7), e("italic", 8, 7), e("code", 16, 4), e("text_link", 21, 3, url="https://aws.amazon.com/")]),
        ("Markdown", "preço 1.0 (sem escape)", "preço 1.0 (sem escape)", []),
        (None, "<b>oi</b>", "<b>oi</b>", []),
        ("", "*oi*", "*oi*", []),
    ],
)  # fmt: skip
def test_markup_becomes_plain_text_and_entities(mode, text, plain, entities):
    assert parse(text, mode) == (plain, entities)


@pytest.mark.parametrize(
    ("mode", "text", "refusal"),
    [
        ("HTML", "<b>oi", 'Can\'t find end tag corresponding to start tag "b"'),
        ("HTML", "<x>oi</x>", 'Unsupported start tag "x" at byte offset 0'),
        ("HTML", "oi</b>", "Unexpected end tag at byte offset 2"),
        ("HTML", "<b>oi</i>", 'Unmatched end tag at byte offset 5, expected "</b>", found "</i>"'),
        ("HTML", "é<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 2'),
        ("HTML", "<b", "Unclosed start tag at byte offset 0"),
        ("HTML", '<a href="x', "Unclosed start tag at byte offset 0"),
        ("MarkdownV2", "Versão 1.0", "Character '.' is reserved and must be escaped with the preceding '\\'"),
        ("MarkdownV2", "🏟 🏟_abacaba", "Can't find end of Italic entity at byte offset 9"),
        ("MarkdownV2", "🏟 🏟_abac * asd ", "Can't find end of Bold entity at byte offset 15"),
        ("MarkdownV2", "🏟 🏟__", "Can't find end of Underline entity at byte offset 9"),
        ("MarkdownV2", "🏟 🏟```a ", "Can't find end of PreCode entity at byte offset 9"),
        ("MarkdownV2", "[telegram\\.org](asd", "Can't find end of a URL at byte offset 16"),
        ("MarkdownV2", "🏟 🏟!", "Character '!' is reserved and must be escaped with the preceding '\\'"),
        ("MarkdownV2", "a > b", "Character '>' is reserved and must be escaped with the preceding '\\'"),
        ("Markdown", "_oi", "Can't find end of the entity starting at byte offset 0"),
    ],
)
def test_bad_markup_is_refused_with_tds_text(mode, text, refusal):
    with pytest.raises(MarkupError) as refused:
        parse(text, mode)
    assert str(refused.value) == refusal


def test_an_unknown_parse_mode_is_refused():
    with pytest.raises(UnsupportedParseMode):
        parse("oi", "Markdown3")


@pytest.fixture
def api():
    tg = TelegramSandbox(seed=42)
    tg.set_privacy(False)
    client = Client(tg.wsgi_app)

    def send(**params):
        response = client.post(f"/bot{tg.token}/sendMessage", data={"chat_id": tg.group_chat_id, **params})
        return response.status_code, response.get_json()

    return send


def test_send_message_answers_the_parsed_text_and_entities(api):
    status, body = api(text="<b>Relatório</b> de hoje: #dados", parse_mode="HTML")
    assert status == 200
    assert body["result"]["text"] == "Relatório de hoje: #dados"
    assert body["result"]["entities"] == [e("bold", 0, 9), e("hashtag", 19, 6)]


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"text": "<b>oi", "parse_mode": "HTML"},
         'Bad Request: can\'t parse entities: Can\'t find end tag corresponding to start tag "b"'),
        ({"text": "Versão 1.0", "parse_mode": "MarkdownV2"},
         "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'"),
        ({"text": "oi", "parse_mode": "Markdown3"}, "Bad Request: unsupported parse_mode"),
        ({"text": "<b></b>", "parse_mode": "HTML"}, "Bad Request: message text is empty"),
        # Client::process_send_message_query reads the text before it looks at the chat.
        ({"text": "<b>oi", "parse_mode": "HTML", "chat_id": "123"},
         'Bad Request: can\'t parse entities: Can\'t find end tag corresponding to start tag "b"'),
    ],
)  # fmt: skip
def test_send_message_refuses_bad_markup_as_telegram_does(api, params, description):
    status, body = api(**params)
    assert (status, body["description"]) == (400, description)


_plain = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=60)


@given(_plain)
def test_escaped_html_always_gives_back_the_text(text):
    # Escaping <, > and & is all HTML needs: the text comes back as written, with only detected entities.
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    plain, entities = parse(escaped, "HTML")
    assert plain == text and {e["type"] for e in entities} <= {
        "url",
        "email",
        "mention",
        "hashtag",
        "bot_command",
    }


@given(_plain)
def test_escaped_markdown_v2_always_gives_back_the_text(text):
    # Any character from 1 to 126 may be escaped with '\' (td's parse_markdown_v2); escaping them all is safe.
    escaped = "".join(f"\\{char}" if 0 < ord(char) <= 126 else char for char in text)
    plain, entities = parse(escaped, "MarkdownV2")
    assert plain == text and {e["type"] for e in entities} <= {
        "url",
        "email",
        "mention",
        "hashtag",
        "bot_command",
    }


@given(st.text(max_size=40), st.sampled_from(["HTML", "MarkdownV2", "Markdown"]))
def test_any_text_is_either_parsed_or_refused_with_a_reason(text, mode):
    # No input crashes the parser: it gives text and entities inside that text, or a MarkupError.
    try:
        plain, entities = parse(text, mode)
    except MarkupError as refused:
        assert str(refused)
        return
    size = len(plain.encode("utf-16-le")) // 2
    assert all(0 <= e["offset"] and e["length"] > 0 and e["offset"] + e["length"] <= size for e in entities)
