"""Error texts of the live polls, quizzes, loyalty points and leaderboards (issue 14), in English and Bangla;
merged into ``interfaces.http.messages.MESSAGES`` (the Socket.IO gateway falls back to them too)."""

POLL_MESSAGES: dict[str, tuple[str, str]] = {
    "poll_not_found": ("The poll does not exist.", "পোলটি পাওয়া যায়নি।"),
    "poll_closed": (
        "This poll is closed; votes are no longer counted.",
        "এই পোলটি বন্ধ হয়ে গেছে; এখন আর ভোট গণনা হবে না।",
    ),
    "already_voted": ("You have already voted in this poll.", "আপনি ইতিমধ্যে এই পোলে ভোট দিয়েছেন।"),
    "unknown_option": ("There is no such option.", "এমন কোনো বিকল্প নেই।"),
    "invalid_poll": (
        "The poll needs a question, 2 to 6 different options and a duration of 5 s to 24 h.",
        "পোলে একটি প্রশ্ন, ২ থেকে ৬টি আলাদা বিকল্প এবং ৫ সেকেন্ড থেকে ২৪ ঘণ্টার সময় দিন।",
    ),
    "invalid_leaderboard": (
        "Unknown leaderboard: use gifts, quiz or buyers.",
        "অজানা লিডারবোর্ড: gifts, quiz বা buyers দিন।",
    ),
}

# The quiz and loyalty-point error codes (issue 14 parts 2 and 4); ``unknown_option`` is shared with polls.

QUIZ_LOYALTY_MESSAGES: dict[str, tuple[str, str]] = {
    "quiz_not_found": (
        "The quiz does not exist, or it is not in a show you have joined.",
        "কুইজটি পাওয়া যায়নি, অথবা এটি আপনার যোগ দেওয়া কোনো শোতে নেই।",
    ),
    "invalid_quiz": (
        "The quiz's questions, options, points or time are invalid.",
        "কুইজের প্রশ্ন, অপশন, পয়েন্ট বা সময় সঠিক নয়।",
    ),
    "quiz_ended": ("This quiz has ended.", "এই কুইজ শেষ হয়ে গেছে।"),
    "question_still_open": (
        "The current question is still open; reveal the next one when its time is up.",
        "বর্তমান প্রশ্নটি এখনও খোলা; সময় শেষ হলে পরের প্রশ্ন দেখান।",
    ),
    "question_not_open": ("This question is not open for answers.", "এই প্রশ্নের উত্তর এখন দেওয়া যাবে না।"),
    "answer_too_late": (
        "Time is up for this question; your answer was not counted.",
        "এই প্রশ্নের সময় শেষ; আপনার উত্তর গণনা করা হয়নি।",
    ),
    "already_answered": ("You have already answered this question.", "আপনি ইতিমধ্যে এই প্রশ্নের উত্তর দিয়েছেন।"),
    "insufficient_points": ("You do not have that many loyalty points.", "আপনার এত লয়্যালটি পয়েন্ট নেই।"),
    "too_many_points": (
        "You cannot use more points than the order is worth.",
        "অর্ডারের মূল্যের চেয়ে বেশি পয়েন্ট ব্যবহার করা যাবে না।",
    ),
}
