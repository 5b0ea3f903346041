"""Error codes the gateway sends in its ``error`` event, with English and Bangla text. The code is the
contract; texts may be reworded. Codes shared with HTTP (``stream_not_found``…) keep the HTTP wording."""

from __future__ import annotations

from typing import Any

from interfaces.http.messages import message as http_message

MESSAGES: dict[str, tuple[str, str]] = {
    "invalid_payload": ("The event's data is missing or has the wrong shape.", "ইভেন্টের তথ্য নেই বা সঠিক আকারে নেই।"),
    "validation_failed": ("The event has invalid fields.", "ইভেন্টে ভুল তথ্য আছে।"),
    "invalid_token": (
        "Your sign-in has expired or is not valid; please sign in again.",
        "আপনার সাইন-ইন মেয়াদোত্তীর্ণ বা সঠিক নয়; আবার সাইন ইন করুন।",
    ),
    "auth_required": ("Please sign in to chat, react or buy.", "চ্যাট, রিয়্যাকশন বা কেনাকাটার জন্য সাইন ইন করুন।"),
    "not_in_stream": ("Join the stream first.", "আগে স্ট্রিমে যোগ দিন।"),
    "too_many_streams": ("You are watching too many streams at once.", "আপনি একসাথে অনেকগুলো স্ট্রিম দেখছেন।"),
    "forbidden": ("Only moderators can do that.", "শুধু মডারেটররা এটি করতে পারেন।"),
    "not_stream_moderator": ("You are not a moderator of this stream.", "আপনি এই স্ট্রিমের মডারেটর নন।"),
    "moderator_permission_missing": (
        "Your moderator permissions in this stream do not include this action.",
        "এই স্ট্রিমে আপনার মডারেটর অনুমতিতে এই কাজটি অন্তর্ভুক্ত নয়।",
    ),
    "message_empty": ("The message is empty.", "বার্তাটি খালি।"),
    "message_too_long": ("The message is too long.", "বার্তাটি অনেক বড়।"),
    "message_blocked": ("The message contains words that are not allowed here.", "বার্তায় এমন শব্দ আছে যা এখানে অনুমোদিত নয়।"),
    "links_not_allowed": ("Links are not allowed in the chat.", "চ্যাটে লিংক দেওয়া যাবে না।"),
    "message_repeated": ("You already sent that message.", "আপনি এই বার্তাটি আগেই পাঠিয়েছেন।"),
    "rate_limited": ("You are sending too fast; please slow down.", "আপনি খুব দ্রুত পাঠাচ্ছেন; একটু ধীরে।"),
    "slow_mode": ("Slow mode is on; please wait before sending again.", "স্লো মোড চালু আছে; আবার পাঠানোর আগে একটু অপেক্ষা করুন।"),
    "user_muted": ("You are muted in this stream for now.", "এই স্ট্রিমে আপনাকে আপাতত মিউট করা হয়েছে।"),
    "user_banned": ("You are banned from this stream's chat.", "এই স্ট্রিমের চ্যাটে আপনাকে নিষিদ্ধ করা হয়েছে।"),
    "message_not_found": ("The message was not found.", "বার্তাটি পাওয়া যায়নি।"),
    "stream_closed": ("The stream has ended or was cancelled.", "স্ট্রিমটি শেষ বা বাতিল হয়েছে।"),
    "unknown_event": ("Unknown event.", "অজানা ইভেন্ট।"),
    "internal_error": ("Something went wrong on our side.", "আমাদের দিকে একটি সমস্যা হয়েছে।"),
    "not_recorded": (
        "Your message could not be saved just now; please send it again.",
        "আপনার বার্তাটি এখন সংরক্ষণ করা যায়নি; আবার পাঠান।",
    ),
}


def error_body(code: str, event: str | None = None, **details: Any) -> dict[str, Any]:
    en, bn = MESSAGES.get(code) or http_message(code)
    body: dict[str, Any] = {"code": code, "message": en, "message_bn": bn}
    if event is not None:
        body["event"] = event
    if details:
        body["details"] = details
    return body
