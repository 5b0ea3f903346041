"""Error texts of the live polls and leaderboards (issue 14), in English and Bangla; merged into
``interfaces.http.messages.MESSAGES`` (the Socket.IO gateway falls back to them too)."""

POLL_MESSAGES: dict[str, tuple[str, str]] = {
    "poll_not_found": ("The poll does not exist.", "পোলটি পাওয়া যায়নি।"),
    "poll_closed": ("This poll is closed; votes are no longer counted.",
                    "এই পোলটি বন্ধ হয়ে গেছে; এখন আর ভোট গণনা হবে না।"),
    "already_voted": ("You have already voted in this poll.", "আপনি ইতিমধ্যে এই পোলে ভোট দিয়েছেন।"),
    "unknown_option": ("This poll has no such option.", "এই পোলে এমন কোনো বিকল্প নেই।"),
    "invalid_poll": ("The poll needs a question, 2 to 6 different options and a duration of 5 s to 24 h.",
                     "পোলে একটি প্রশ্ন, ২ থেকে ৬টি আলাদা বিকল্প এবং ৫ সেকেন্ড থেকে ২৪ ঘণ্টার সময় দিন।"),
    "invalid_leaderboard": ("Unknown leaderboard: use gifts, quiz or buyers.",
                            "অজানা লিডারবোর্ড: gifts, quiz বা buyers দিন।"),
}
