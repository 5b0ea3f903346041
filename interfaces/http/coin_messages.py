"""Error messages of coins and gifts (issue 14 part 3) in English and Bangla, merged into ``MESSAGES``."""

COIN_MESSAGES: dict[str, tuple[str, str]] = {
    "insufficient_coins": (
        "You do not have enough coins for this gift; top up your wallet.",
        "এই উপহারের জন্য আপনার যথেষ্ট কয়েন নেই; ওয়ালেটে কয়েন কিনুন।",
    ),
    "invalid_coin_amount": ("The number of coins or the quantity is invalid.", "কয়েনের সংখ্যা বা পরিমাণ সঠিক নয়।"),
    "top_up_not_found": ("The coin top-up does not exist.", "কয়েন কেনার অনুরোধটি পাওয়া যায়নি।"),
    "top_up_mismatch": (
        "The payment provider's answer does not match this top-up.",
        "পেমেন্ট সেবার উত্তর এই কয়েন কেনার সাথে মেলে না।",
    ),
    "cannot_gift_self": ("A host cannot send gifts to their own show.", "হোস্ট নিজের শো-তে উপহার পাঠাতে পারেন না।"),
    "gift_not_found": ("The gift does not exist.", "উপহারটি পাওয়া যায়নি।"),
    "invalid_gift": (
        "The gift's id, names, coin price or animation key is invalid.",
        "উপহারের আইডি, নাম, কয়েন মূল্য বা অ্যানিমেশন কী সঠিক নয়।",
    ),
    "wallet_not_found": ("The coin wallet does not exist yet.", "কয়েন ওয়ালেটটি এখনও তৈরি হয়নি।"),
}
