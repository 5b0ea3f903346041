"""Error messages in English and Bangla, keyed by the stable error code. The code is the contract."""

MESSAGES: dict[str, tuple[str, str]] = {
    "validation_failed": ("The request has invalid fields.", "অনুরোধে ভুল তথ্য আছে।"),
    "invalid_json": ("The request body is not valid JSON.", "অনুরোধের বডি সঠিক JSON নয়।"),
    "not_found": ("Not found.", "পাওয়া যায়নি।"),
    "route_not_found": ("No such endpoint.", "এমন কোনো এন্ডপয়েন্ট নেই।"),
    "method_not_allowed": ("Method not allowed.", "এই পদ্ধতি অনুমোদিত নয়।"),
    "stream_not_found": ("The stream does not exist.", "স্ট্রিমটি পাওয়া যায়নি।"),
    "stream_not_startable": ("Only a scheduled stream can be started.", "শুধু নির্ধারিত স্ট্রিম শুরু করা যায়।"),
    "stream_not_live": ("The stream is not live.", "স্ট্রিমটি এখন লাইভ নয়।"),
    "stream_not_cancellable": ("Only a scheduled stream can be cancelled.",
                               "শুধু নির্ধারিত স্ট্রিম বাতিল করা যায়।"),
    "stream_closed": ("The stream has ended or was cancelled.", "স্ট্রিমটি শেষ বা বাতিল হয়েছে।"),
    "product_already_in_stream": ("The product is already in this stream.", "পণ্যটি ইতিমধ্যে এই স্ট্রিমে আছে।"),
    "product_not_in_stream": ("The product is not in this stream.", "পণ্যটি এই স্ট্রিমে নেই।"),
    "too_many_products": ("A stream can hold at most 100 products.", "একটি স্ট্রিমে সর্বোচ্চ ১০০টি পণ্য রাখা যায়।"),
    "invalid_product_terms": ("The product's price or quantity is invalid.", "পণ্যের দাম বা পরিমাণ সঠিক নয়।"),
    "concurrent_modification": ("Someone else changed this at the same time; please retry.",
                                "একই সময়ে অন্য কেউ পরিবর্তন করেছে; আবার চেষ্টা করুন।"),
    "service_unavailable": ("A dependency is not answering.", "একটি নির্ভরশীল সেবা সাড়া দিচ্ছে না।"),
    "internal_error": ("Something went wrong on our side.", "আমাদের দিকে একটি সমস্যা হয়েছে।"),
    "read_model_behind": ("The change is accepted but not visible yet; retry shortly.",
                          "পরিবর্তন গৃহীত হয়েছে কিন্তু এখনও দেখা যাচ্ছে না; একটু পরে আবার চেষ্টা করুন।"),
}


def message(code: str) -> tuple[str, str]:
    return MESSAGES.get(code, (code.replace("_", " ").capitalize() + ".", "অনুরোধটি গ্রহণ করা যায়নি।"))
