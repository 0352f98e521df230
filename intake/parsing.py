"""Reading a received e-mail: who sent it, what it answers, the text its sender wrote and
the files they attached. Pure functions over bytes: no database, nothing sent.

HTML is never trusted: it goes through an allow-list sanitiser (nh3) and is then turned
into plain text, which is all the desk stores and shows (escaped, like every text).
"""

import hashlib
import mimetypes
import re
from contextlib import suppress
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parseaddr
from html.parser import HTMLParser
from pathlib import PurePosixPath

import nh3
from django.core.files.uploadedfile import SimpleUploadedFile
from mailparser_reply import EmailReplyParser

MAX_MESSAGE_ID = 255  # InboundMessage.message_id; longer ids are stored as a digest
QUOTE_LANGUAGES = ["en", "fr"]  # the desk's languages: "On … wrote:", "Le … a écrit :", "From:/De :"

# What HTML from e-mail may keep: structure and links to the web or to mail, nothing
# that runs, styles, loads or submits. Script and style contents go with their tags.
ALLOWED_TAGS = {
    "a", "b", "strong", "i", "em", "u", "s", "p", "br", "div", "span", "blockquote", "pre", "code",
    "ul", "ol", "li", "table", "thead", "tbody", "tfoot", "tr", "td", "th", "hr",
    "h1", "h2", "h3", "h4", "h5", "h6",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
DROPPED_WITH_CONTENT = {"script", "style", "head", "title", "noscript", "template", "iframe", "object", "svg", "math"}


@dataclass
class ParsedMessage:
    message: EmailMessage
    message_id: str  # "<…>"; made from the content when the message has none
    has_message_id: bool
    sender: str  # addr-spec in lower case, "" when missing or unreadable
    sender_name: str
    subject: str
    references: list[str] = field(default_factory=list)  # ids without <>, lower case, most relevant first
    body: str = ""  # what the sender wrote, quoted history trimmed
    attachments: list[SimpleUploadedFile] = field(default_factory=list)


def parse_message(raw: bytes) -> ParsedMessage:
    message = message_from_bytes(raw, policy=policy.default)
    message_id, has_message_id = _message_id(message, raw)
    sender_name, sender = _sender(message)
    plain = _body_part(message, "plain")
    html = _body_part(message, "html")
    text = _text_of(plain).strip() if plain is not None else ""
    if not text and html is not None:
        text = html_to_text(sanitise_html(_text_of(html)))
    return ParsedMessage(
        message=message,
        message_id=message_id,
        has_message_id=has_message_id,
        sender=sender,
        sender_name=sender_name,
        subject=" ".join(header(message, "Subject").split()),
        references=_references(message),
        body=trim_quoted(text),
        attachments=_attachments(message, skip=[part for part in (plain, html) if part is not None]),
    )


def header(message: EmailMessage, name: str) -> str:
    """A header's decoded value, "" when absent; never raises on a malformed one."""
    try:
        value = message.get(name)
    except Exception:  # the header parser gives up on some malformed values: take the raw text
        value = next((raw for key, raw in message.raw_items() if key.lower() == name.lower()), None)
    return "" if value is None else str(value)


def _message_id(message: EmailMessage, raw: bytes) -> tuple[str, bool]:
    found = re.search(r"<[^<>\s]+>", header(message, "Message-ID"))
    if found:
        value = found.group(0)
        if len(value) <= MAX_MESSAGE_ID:
            return value, True
        return f"<{hashlib.sha256(value.encode()).hexdigest()}@long-id.invalid>", True
    # No id: the same content delivered twice still gets the same one. Trace headers
    # (Received, Return-Path) differ between deliveries, so only these parts count.
    digest = hashlib.sha256()
    for name in ("From", "To", "Date", "Subject"):
        digest.update(header(message, name).encode("utf-8", "replace") + b"\n")
    digest.update(re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[-1])
    return f"<{digest.hexdigest()}@no-id.invalid>", False


def _sender(message: EmailMessage) -> tuple[str, str]:
    with suppress(Exception):  # the strict parser gave up: the forgiving one below may not
        addresses = message["From"].addresses if message["From"] is not None else ()
        if addresses:
            return addresses[0].display_name, addresses[0].addr_spec.lower()
    name, address = parseaddr(header(message, "From"))
    return name, address.lower() if "@" in address else ""


def _references(message: EmailMessage) -> list[str]:
    """In-Reply-To first, then References from the newest to the oldest."""
    ids = re.findall(r"<([^<>\s]+)>", header(message, "In-Reply-To"))
    ids += reversed(re.findall(r"<([^<>\s]+)>", header(message, "References")))
    seen = []
    for value in (item.lower() for item in ids):
        if value not in seen:
            seen.append(value)
    return seen


def _body_part(message: EmailMessage, subtype: str):
    try:
        return message.get_body(preferencelist=(subtype,))
    except Exception:
        return None


def _text_of(part) -> str:
    try:
        return part.get_content()
    except Exception:  # unknown charset or broken encoding: keep what can be read
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", "replace")


# HTML ------------------------------------------------------------------------------------


def sanitise_html(html: str) -> str:
    """HTML reduced to an allow-list of tags, attributes and URL schemes (nh3)."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


_BLOCKS = {"p", "div", "table", "tr", "ul", "ol", "pre", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}


class _TextWriter(HTMLParser):
    """Sanitised HTML to readable text: paragraphs, line breaks, list bullets, quoted
    blocks as "> " lines (so the quote trimming finds them) and links as "text (url)"."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.line: list[str] = []
        self.quote = 0
        self.pre = 0
        self.links: list[str] = []

    def _break(self, blank=False):
        text = "".join(self.line)
        text = text if self.pre else " ".join(text.split())
        if text or (blank and self.lines and self.lines[-1] != ""):
            self.lines.append(("> " * self.quote) + text if text else "")
        if blank and text:
            self.lines.append("")
        self.line = []

    def handle_starttag(self, tag, attrs):
        if tag == "br":
            self._break()
        elif tag in _BLOCKS or tag == "li":
            self._break(blank=tag in {"p", "blockquote", "table", "ul", "ol", "pre"})
            if tag == "blockquote":
                self.quote += 1
            if tag == "pre":
                self.pre += 1
            if tag == "li":
                self.line.append("- ")
        elif tag in {"td", "th"} and self.line:
            self.line.append(" | ")
        elif tag == "a":
            self.links.append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag):
        if tag in _BLOCKS or tag == "li":
            self._break(blank=tag in {"p", "blockquote", "table", "ul", "ol", "pre"})
            if tag == "blockquote":
                self.quote = max(self.quote - 1, 0)
            if tag == "pre":
                self.pre = max(self.pre - 1, 0)
        elif tag == "a" and self.links:
            href = self.links.pop()
            shown = "".join(self.line).strip()
            target = href.removeprefix("mailto:")
            if href and target not in shown:
                self.line.append(f" ({target})")

    def handle_data(self, data):
        self.line.append(data)

    def text(self) -> str:
        self.close()
        self._break()
        return "\n".join(self.lines).strip()


def html_to_text(html: str) -> str:
    writer = _TextWriter()
    writer.feed(html)
    return writer.text()


# Quoted history ----------------------------------------------------------------------------


def trim_quoted(text: str) -> str:
    """The newest part of a reply: what follows "On … wrote:", "Le … a écrit :", an
    Outlook "From:/De :" block or a separator line is history the desk already has.
    (mail-parser-reply; it also strips the lines' surrounding spaces.)"""
    text = (text or "").strip()
    if not text:
        return ""
    latest = EmailReplyParser(languages=QUOTE_LANGUAGES).parse_reply(text)
    return (latest or "").strip() or text


# Attachments -------------------------------------------------------------------------------


def _leaves(part):
    """The message's parts that hold content, a forwarded message counting as one."""
    if part.get_content_type() == "message/rfc822" or not part.is_multipart():
        yield part
        return
    for child in part.iter_parts():
        yield from _leaves(child)


def _attachments(message: EmailMessage, *, skip) -> list[SimpleUploadedFile]:
    """Every file in the message as an upload for incidents.actions, which stores it
    under a name of its own; the sender's file name is only a label."""
    files = []
    for part in _leaves(message):  # a message of one part is a file too, unless it is the body
        if any(part is body for body in skip):
            continue
        content_type = part.get_content_type()
        name = part.get_filename()
        if part.get_content_maintype() == "text" and not name and part.get_content_disposition() != "attachment":
            continue  # another text fragment of the body, not a file
        if content_type == "message/rfc822":
            inner = part.get_payload()
            content = (inner[0] if isinstance(inner, list) else inner).as_bytes()
        else:
            content = part.get_payload(decode=True) or b""
        files.append(SimpleUploadedFile(_file_name(name, content_type, len(files) + 1), content, content_type))
    return files


def _file_name(name: str | None, content_type: str, number: int) -> str:
    name = PurePosixPath((name or "").replace("\\", "/")).name
    name = "".join(char for char in name if char.isprintable()).strip(" .")
    if not name:
        extension = ".eml" if content_type == "message/rfc822" else mimetypes.guess_extension(content_type) or ".bin"
        name = f"attachment-{number}{extension}"
    return name[-200:]
