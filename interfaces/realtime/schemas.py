"""Payloads of the client → server events (spec §4.2), validated before anything else happens.

Strict types on purpose: a number where a message belongs, or "2" where a quantity belongs, is a client bug
that should show up as an ``error`` event, not be coerced. Unknown extra fields are ignored, so an older
server accepts a newer client. The chat length limit comes from settings through the validation context, so a
message over it gets its own code (``message_too_long``) instead of a generic validation error.

The storable-input rule of the HTTP edge applies here too (``application.input_rules``, ADR 0018): the whole
payload, extra fields included, is refused if it holds a NUL, a control character or a lone surrogate, a
non-finite or 64-bit-overflowing number, or is too deep or too big; short texts (ids, a city) are one line.
An anonymous viewer's ``viewer_info.location`` goes into presence events and MongoDB field names, so a bad
one must stop here, before anything is published.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from application.input_rules import JsonBounds, json_problem, printable, text_problem

HARD_MAX_CHARS = 20_000  # beyond any setting: the frame itself is refused by the engine.io size limit anyway


def _uuid(v: str) -> str:
    try:
        return str(uuid.UUID(v))
    except ValueError:
        raise PydanticCustomError("uuid", "must be a UUID") from None


# Strings up to 5× the chat hard limit pass the whole-payload rule, so an over-long message gets its own code
# (message_too_long) from its field; the socket's frame limit (256 KB) bounds them anyway.
PAYLOAD_BOUNDS = JsonBounds(depth=4, items=50, nodes=500, string=5 * HARD_MAX_CHARS, key=64)


def _one_line(v: str) -> str:
    if (p := text_problem(v, multiline=False)) is not None:
        raise PydanticCustomError(p.code, p.message)
    return v


Uuid = Annotated[StrictStr, Field(max_length=64), AfterValidator(_uuid)]
ShortText = Annotated[StrictStr, Field(max_length=64), AfterValidator(_one_line)]
ReactionType = Literal["like", "heart", "wow", "haha", "sad", "angry", "fire", "clap"]
MessageType = Literal["text", "emoji", "sticker", "product_inquiry"]


class Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        if (p := json_problem(data, PAYLOAD_BOUNDS)) is not None:
            where = f" at {printable(p.path)}" if p.path else ""
            raise PydanticCustomError(
                p.code, "{what}{where}", {"what": p.message, "where": where, "path": printable(p.path)}
            )
        return data


class StreamRef(Payload):
    stream_id: Uuid


# The spec's device_type values (§2.1 ``device_type`` enum), then the ones older clients of ours still send.
DEVICE_TYPES = ("mobile", "desktop", "tablet", "smart_tv")
DeviceType = Literal["mobile", "desktop", "tablet", "smart_tv", "tv", "web", "unknown"]


class ViewerInfo(Payload):
    device_type: DeviceType = "unknown"
    location: ShortText | None = None

    @field_validator("device_type")
    @classmethod
    def _spec_name(cls, v: str) -> str:
        return "smart_tv" if v == "tv" else v  # one name per kind of screen in the figures (by_device)

    @field_validator("location")
    @classmethod
    def _place(cls, v: str | None) -> str | None:
        # A city name becomes a MongoDB field name (viewer_locations.Dhaka): no dots, no leading "$".
        if v is None:
            return None
        v = " ".join(v.replace(".", " ").replace("$", " ").split())
        return v[:1].upper() + v[1:] if v else None


class JoinStream(StreamRef):
    viewer_info: ViewerInfo = ViewerInfo()
    last_position: Annotated[StrictInt, Field(ge=0, le=2**62)] | None = None  # resume: commerce events after this one
    # Opt-in for big shows: chat as ``new_messages`` ({stream_id, messages: [...]}) a few frames a second
    # instead of one ``new_message`` frame per message.
    chat_batch: StrictBool = False


class LeaveStream(StreamRef):
    pass


class SendMessage(StreamRef):
    message: Annotated[StrictStr, Field(min_length=1)]
    message_type: MessageType = "text"

    @field_validator("message")
    @classmethod
    def _length(cls, v: str, info: ValidationInfo) -> str:
        limit = int((info.context or {}).get("chat_max_length", 500))
        if len(v) > limit or len(v) > HARD_MAX_CHARS:
            raise PydanticCustomError("message_too_long", "at most {limit} characters", {"limit": limit})
        return v


class React(StreamRef):
    reaction_type: ReactionType


class PurchaseIntent(StreamRef):
    product_id: Uuid
    quantity: Annotated[StrictInt, Field(ge=1, le=99)] = 1


class Moderate(StreamRef):
    """Moderators only: mute/ban a user, delete/pin a message, slow mode for everyone."""

    action: Literal["mute", "unmute", "ban", "unban", "delete", "pin", "unpin", "slow_mode"]
    user_id: ShortText | None = None
    message_id: ShortText | None = None
    duration_s: Annotated[StrictInt, Field(ge=1, le=7 * 86_400)] = 600  # mute length
    seconds: Annotated[StrictInt, Field(ge=0, le=3_600)] = 0  # slow mode interval; 0 turns it off

    @model_validator(mode="after")
    def _target(self) -> Moderate:
        if self.action in ("mute", "unmute", "ban", "unban") and not self.user_id:
            raise PydanticCustomError("missing", "user_id is required for {action}", {"action": self.action})
        if self.action in ("delete", "pin") and not self.message_id:
            raise PydanticCustomError("missing", "message_id is required for {action}", {"action": self.action})
        return self


class QuizAnswer(Payload):
    quiz_id: Uuid
    question_id: ShortText
    option_id: Annotated[StrictInt, Field(ge=-(2**31), le=2**31)]  # out of range: ``unknown_option``


SCHEMAS: dict[str, type[Payload]] = {
    "join_stream": JoinStream,
    "leave_stream": LeaveStream,
    "send_message": SendMessage,
    "react": React,
    "purchase_intent": PurchaseIntent,
    "moderate": Moderate,
    "quiz_answer": QuizAnswer,
}


def field_errors(exc: Any) -> list[dict[str, str]]:
    """Field errors; the whole-payload rule names the offending place in its context."""
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(p) for p in err["loc"]) or str((err.get("ctx") or {}).get("path") or "") or "payload"
        out.append({"field": printable(field), "message": printable(err["msg"], 300), "type": err["type"]})
    return out
