"""Error messages in English and Bangla, keyed by the stable error code. The code is the contract."""

from interfaces.http.coin_messages import COIN_MESSAGES
from interfaces.http.game_messages import POLL_MESSAGES, QUIZ_LOYALTY_MESSAGES

MESSAGES: dict[str, tuple[str, str]] = {
    "validation_failed": ("The request has invalid fields.", "অনুরোধে ভুল তথ্য আছে।"),
    "invalid_json": ("The request body is not valid JSON.", "অনুরোধের বডি সঠিক JSON নয়।"),
    "not_found": ("Not found.", "পাওয়া যায়নি।"),
    "route_not_found": ("No such endpoint.", "এমন কোনো এন্ডপয়েন্ট নেই।"),
    "invalid_id": (
        "The id in the address is not valid: ids are UUIDs, e.g. 5b0f4a9e-8a52-4c8e-9f51-2f6a3c1d7e11.",
        "ঠিকানার আইডিটি সঠিক নয়: আইডি একটি UUID, যেমন 5b0f4a9e-8a52-4c8e-9f51-2f6a3c1d7e11।",
    ),
    "stream_not_on_air": (
        "The show is not on air yet: its video starts when the host starts broadcasting.",
        "শো-টি এখনও সম্প্রচারে আসেনি: হোস্ট সম্প্রচার শুরু করলে ভিডিও শুরু হবে।",
    ),
    "method_not_allowed": ("Method not allowed.", "এই পদ্ধতি অনুমোদিত নয়।"),
    "stream_not_found": ("The stream does not exist.", "স্ট্রিমটি পাওয়া যায়নি।"),
    "stream_not_startable": ("Only a scheduled stream can be started.", "শুধু নির্ধারিত স্ট্রিম শুরু করা যায়।"),
    "stream_not_live": ("The stream is not live.", "স্ট্রিমটি এখন লাইভ নয়।"),
    "stream_not_cancellable": ("Only a scheduled stream can be cancelled.", "শুধু নির্ধারিত স্ট্রিম বাতিল করা যায়।"),
    "invalid_cursor": (
        "The cursor is not one this list handed out: start again without it.",
        "কার্সরটি এই তালিকার দেওয়া নয়: কার্সর ছাড়া আবার শুরু করুন।",
    ),
    "replay_sales_closed": (
        "This show's replay no longer sells its products.",
        "এই শো-এর রিপ্লে থেকে এখন আর পণ্য কেনা যায় না।",
    ),
    "stream_closed": ("The stream has ended or was cancelled.", "স্ট্রিমটি শেষ বা বাতিল হয়েছে।"),
    "product_already_in_stream": ("The product is already in this stream.", "পণ্যটি ইতিমধ্যে এই স্ট্রিমে আছে।"),
    "product_not_in_stream": ("The product is not in this stream.", "পণ্যটি এই স্ট্রিমে নেই।"),
    "too_many_products": ("A stream can hold at most 100 products.", "একটি স্ট্রিমে সর্বোচ্চ ১০০টি পণ্য রাখা যায়।"),
    "invalid_product_terms": ("The product's price or quantity is invalid.", "পণ্যের দাম বা পরিমাণ সঠিক নয়।"),
    "concurrent_modification": (
        "Someone else changed this at the same time; please retry.",
        "একই সময়ে অন্য কেউ পরিবর্তন করেছে; আবার চেষ্টা করুন।",
    ),
    "service_unavailable": ("A dependency is not answering.", "একটি নির্ভরশীল সেবা সাড়া দিচ্ছে না।"),
    "internal_error": ("Something went wrong on our side.", "আমাদের দিকে একটি সমস্যা হয়েছে।"),
    "idempotency_key_required": (
        "Send an Idempotency-Key header with this request.",
        "এই অনুরোধের সাথে একটি Idempotency-Key হেডার পাঠান।",
    ),
    "idempotency_key_reused": (
        "This Idempotency-Key was already used for a different request.",
        "এই Idempotency-Key আগে অন্য একটি অনুরোধে ব্যবহার করা হয়েছে।",
    ),
    "sign_in_required": ("Sign in first: this needs a bearer token.", "আগে সাইন ইন করুন: এর জন্য একটি টোকেন লাগবে।"),
    "invalid_token": ("The sign-in token is invalid or has expired.", "সাইন-ইন টোকেনটি সঠিক নয় বা মেয়াদ শেষ।"),
    "dev_sign_in_disabled": (
        "Development sign-in is off on this server: sign in with your identity provider.",
        "এই সার্ভারে ডেভেলপমেন্ট সাইন-ইন বন্ধ: আপনার আইডেন্টিটি প্রোভাইডার দিয়ে সাইন ইন করুন।",
    ),
    "price_changed": (
        "The price changed; please review the current price.",
        "দাম পরিবর্তন হয়েছে; অনুগ্রহ করে বর্তমান দাম দেখে নিন।",
    ),
    "order_not_found": ("The order does not exist.", "অর্ডারটি পাওয়া যায়নি।"),
    "payment_not_found": ("The payment does not exist.", "পেমেন্টটি পাওয়া যায়নি।"),
    "group_buy_not_found": ("The group buy does not exist.", "গ্রুপ বাইটি পাওয়া যায়নি।"),
    "auction_not_found": ("The auction does not exist.", "নিলামটি পাওয়া যায়নি।"),
    "flash_sale_not_found": ("The flash sale does not exist.", "ফ্ল্যাশ সেলটি পাওয়া যায়নি।"),
    "read_model_behind": (
        "The change is accepted but not visible yet; retry shortly.",
        "পরিবর্তন গৃহীত হয়েছে কিন্তু এখনও দেখা যাচ্ছে না; একটু পরে আবার চেষ্টা করুন।",
    ),
    # commerce
    "invalid_commerce_value": ("The request has an invalid value.", "অনুরোধে একটি মান সঠিক নয়।"),
    "invalid_amount": (
        "The amount is invalid; use taka with at most 2 decimal places.",
        "টাকার পরিমাণ সঠিক নয়; দশমিকের পর সর্বোচ্চ ২ ঘর দিন।",
    ),
    "invalid_quantity": ("The quantity must be a whole number of at least 1.", "পরিমাণ কমপক্ষে ১ হতে হবে, পূর্ণ সংখ্যায়।"),
    "invalid_flash_sale_terms": (
        "The flash sale's name, price or time window is invalid.",
        "ফ্ল্যাশ সেলের নাম, দাম বা সময় সঠিক নয়।",
    ),
    "invalid_discount_code": ("This discount code is not valid.", "এই ডিসকাউন্ট কোডটি সঠিক নয়।"),
    "invalid_payment_method": ("This payment method is not supported.", "এই পেমেন্ট পদ্ধতি গ্রহণযোগ্য নয়।"),
    "cod_phone_required": (
        "Cash on delivery needs a valid Bangladeshi mobile number.",
        "ক্যাশ অন ডেলিভারির জন্য একটি সঠিক বাংলাদেশি মোবাইল নম্বর দিন।",
    ),
    "invalid_shipping_address": ("Please give a valid shipping address.", "একটি সঠিক ডেলিভারি ঠিকানা দিন।"),
    "emi_term_not_allowed": (
        "EMI is available for 3, 6 or 12 months, and only with EMI payment.",
        "কিস্তি (EMI) শুধু ৩, ৬ বা ১২ মাসের জন্য, এবং শুধু EMI পেমেন্টে।",
    ),
    "payment_amount_mismatch": (
        "The payment amount must equal the order total.",
        "পেমেন্টের পরিমাণ অর্ডারের মোট টাকার সমান হতে হবে।",
    ),
    "unknown_callback_status": ("The payment provider sent an unknown status.", "পেমেন্ট সেবা থেকে অজানা স্ট্যাটাস এসেছে।"),
    "invalid_auction_terms": (
        "The auction's prices, bid steps or time window are invalid.",
        "নিলামের দাম, বিডের ধাপ বা সময় সঠিক নয়।",
    ),
    "invalid_group_buy_terms": (
        "The group buy's price, buyer count or deadline is invalid.",
        "গ্রুপ বাইয়ের দাম, ক্রেতার সংখ্যা বা শেষ সময় সঠিক নয়।",
    ),
    "reservation_not_found": ("The reservation does not exist.", "রিজার্ভেশনটি পাওয়া যায়নি।"),
    "item_not_in_cart": ("This product is not in your cart.", "পণ্যটি আপনার কার্টে নেই।"),
    "hold_not_found": ("Your spot in this group buy was not found.", "এই গ্রুপ বাইয়ে আপনার জায়গাটি পাওয়া যায়নি।"),
    "flash_sale_not_startable": (
        "Only a scheduled flash sale can start, and only within its time window.",
        "শুধু নির্ধারিত ফ্ল্যাশ সেল তার নির্দিষ্ট সময়ের মধ্যেই শুরু করা যায়।",
    ),
    "flash_sale_not_active": ("The flash sale is not running right now.", "ফ্ল্যাশ সেলটি এখন চলছে না।"),
    "flash_sale_closed": (
        "The flash sale has already ended or been cancelled.",
        "ফ্ল্যাশ সেলটি ইতিমধ্যে শেষ বা বাতিল হয়েছে।",
    ),
    "flash_sale_sold_out": ("The flash sale is sold out.", "ফ্ল্যাশ সেলের স্টক শেষ।"),
    "insufficient_stock": ("Not enough units are left for that quantity.", "এই পরিমাণের জন্য যথেষ্ট স্টক নেই।"),
    "purchase_limit_exceeded": (
        "You have reached the purchase limit for this sale.",
        "এই সেলে আপনার কেনার সীমা পূর্ণ হয়েছে।",
    ),
    "duplicate_reservation": ("This reservation was already made.", "এই রিজার্ভেশনটি আগেই করা হয়েছে।"),
    "reservation_expired": (
        "Your reservation expired before payment.",
        "পেমেন্টের আগেই আপনার রিজার্ভেশনের সময় শেষ হয়ে গেছে।",
    ),
    "reservation_not_held": ("The reservation is no longer active.", "রিজার্ভেশনটি আর সক্রিয় নেই।"),
    "waitlist_not_open": (
        "Units are still available; reserve them instead of waiting.",
        "এখনও স্টক আছে; অপেক্ষা না করে এখনই রিজার্ভ করুন।",
    ),
    "already_on_waitlist": ("You are already on the waitlist.", "আপনি ইতিমধ্যে অপেক্ষার তালিকায় আছেন।"),
    "cart_not_open": ("This cart can no longer be changed.", "এই কার্টে আর পরিবর্তন করা যাবে না।"),
    "cart_empty": ("Your cart is empty.", "আপনার কার্ট খালি।"),
    "cart_not_found": ("You have no such cart in this show.", "এই শো-তে আপনার এমন কোনো কার্ট নেই।"),
    "product_sold_out": ("This product is sold out in this stream.", "এই স্ট্রিমে পণ্যটির স্টক শেষ।"),
    "group_buy_not_unlocked": (
        "This group-buy spot cannot be paid for: the group buy has not unlocked, or it is already paid.",
        "এই গ্রুপ বাইয়ের জায়গাটির জন্য এখন পেমেন্ট করা যায় না: গ্রুপ বাই আনলক হয়নি, বা আগেই পরিশোধ করা হয়েছে।",
    ),
    "discount_code_expired": ("This discount code has expired.", "এই ডিসকাউন্ট কোডের মেয়াদ শেষ।"),
    "discount_minimum_not_met": (
        "Your cart total is below this code's minimum.",
        "এই কোড ব্যবহারের জন্য কার্টের মোট টাকা যথেষ্ট নয়।",
    ),
    "discount_usage_exceeded": (
        "You have already used this discount code the maximum number of times.",
        "এই ডিসকাউন্ট কোড আপনি সর্বোচ্চ সংখ্যকবার ব্যবহার করেছেন।",
    ),
    "cod_order_cap_reached": (
        "You have too many open cash-on-delivery orders; please pay online.",
        "আপনার অনেকগুলো ক্যাশ অন ডেলিভারি অর্ডার চলমান; অনলাইনে পেমেন্ট করুন।",
    ),
    "emi_below_minimum": (
        "The order total is below the minimum for EMI.",
        "কিস্তিতে (EMI) কেনার জন্য অর্ডারের মোট টাকা ন্যূনতম সীমার কম।",
    ),
    "invalid_order_transition": ("The order cannot do that in its current state.", "অর্ডারটির বর্তমান অবস্থায় এটি করা যায় না।"),
    "refund_exceeds_payment": ("The refund would exceed the amount paid.", "ফেরতের পরিমাণ পরিশোধিত টাকার বেশি হয়ে যাচ্ছে।"),
    "payment_not_pending": ("This payment is no longer pending.", "এই পেমেন্টটি আর অপেক্ষমাণ নেই।"),
    "invalid_callback": (
        "The payment notification is missing required fields.",
        "পেমেন্ট নোটিফিকেশনে প্রয়োজনীয় তথ্য নেই।",
    ),
    "payment_provider_unavailable": (
        "The payment provider is not answering; please retry shortly.",
        "পেমেন্ট প্রদানকারী সাড়া দিচ্ছে না; একটু পরে আবার চেষ্টা করুন।",
    ),
    "payment_provider_refused": (
        "The payment provider refused this request.",
        "পেমেন্ট প্রদানকারী এই অনুরোধটি প্রত্যাখ্যান করেছে।",
    ),
    "invalid_payment_transition": (
        "The payment cannot do that in its current state.",
        "পেমেন্টটির বর্তমান অবস্থায় এটি করা যায় না।",
    ),
    "payment_method_mismatch": (
        "This payment notification came through another payment method.",
        "এই পেমেন্ট নোটিফিকেশনটি অন্য একটি পেমেন্ট পদ্ধতির মাধ্যমে এসেছে।",
    ),
    "payment_reference_mismatch": (
        "This provider transaction belongs to another payment.",
        "এই লেনদেনটি অন্য একটি পেমেন্টের।",
    ),
    "fulfilment_out_of_order": (
        "The order must move confirmed, packed, shipped, delivered, one step at a time.",
        "অর্ডারটি ধাপে ধাপে এগোতে হবে: নিশ্চিত, প্যাক, পাঠানো, পৌঁছানো।",
    ),
    "order_not_fulfillable": (
        "Only a paid (or cash-on-delivery) order can be fulfilled.",
        "শুধু পরিশোধিত (বা ক্যাশ অন ডেলিভারি) অর্ডার পাঠানো যায়।",
    ),
    "shipping_details_required": (
        "Shipping needs the courier and the tracking id.",
        "পাঠানোর জন্য কুরিয়ার ও ট্র্যাকিং নম্বর দিন।",
    ),
    "return_not_allowed": (
        "A return can be asked for once the order is delivered.",
        "অর্ডারটি পৌঁছানোর পরেই ফেরতের অনুরোধ করা যায়।",
    ),
    "return_window_closed": (
        "The 7-day return window for this order has closed.",
        "এই অর্ডারের ৭ দিনের ফেরতের সময় শেষ হয়ে গেছে।",
    ),
    "invalid_return_items": (
        "The return names products or quantities that are not in the order.",
        "ফেরতের পণ্য বা পরিমাণ অর্ডারের সাথে মেলে না।",
    ),
    "return_exceeds_order": ("More units than are left to return.", "ফেরতযোগ্য পরিমাণের চেয়ে বেশি।"),
    "return_not_found": ("The return does not exist.", "ফেরতের অনুরোধটি পাওয়া যায়নি।"),
    "return_already_decided": (
        "This return was already decided the other way.",
        "এই ফেরতের সিদ্ধান্ত আগেই অন্যভাবে নেওয়া হয়েছে।",
    ),
    "product_of_another_vendor": (
        "A stream can only list its own vendor's products.",
        "স্ট্রিমে শুধু নিজের বিক্রেতার পণ্য রাখা যায়।",
    ),
    "product_not_in_catalogue": ("The product is not in your catalogue.", "পণ্যটি আপনার ক্যাটালগে নেই।"),
    "product_owned_by_another_vendor": ("This product belongs to another vendor.", "এই পণ্যটি অন্য বিক্রেতার।"),
    "bid_too_low": ("Your bid is too low.", "আপনার বিডের পরিমাণ খুব কম।"),
    "auction_not_open": ("Bidding has not started yet.", "বিডিং এখনও শুরু হয়নি।"),
    "auction_closed": ("The auction is closed.", "নিলাম শেষ হয়ে গেছে।"),
    "auction_still_running": ("The auction is still running.", "নিলাম এখনও চলছে।"),
    "reserve_price_not_met": ("No bid reached the reserve price.", "কোনো বিড সংরক্ষিত দামে পৌঁছায়নি।"),
    "no_auction_winner": ("This auction has no winner to pay.", "এই নিলামে পেমেন্ট করার মতো কোনো বিজয়ী নেই।"),
    "winner_still_has_time": ("The winner still has time to pay.", "বিজয়ীর পেমেন্ট করার সময় এখনও আছে।"),
    "group_buy_closed": ("This group buy is closed.", "এই গ্রুপ বাই বন্ধ হয়ে গেছে।"),
    "group_buy_full": ("This group buy is full.", "এই গ্রুপ বাইয়ে আর জায়গা নেই।"),
    "group_buy_still_open": ("The group buy is still open until its deadline.", "গ্রুপ বাই শেষ সময় পর্যন্ত এখনও খোলা আছে।"),
    "already_in_group_buy": ("You have already joined this group buy.", "আপনি ইতিমধ্যে এই গ্রুপ বাইয়ে যোগ দিয়েছেন।"),
    # sign-in and roles, hosts, followers, moderators
    "not_permitted": ("You are not allowed to do this.", "আপনার এটি করার অনুমতি নেই।"),
    "invalid_host_value": ("The request has an invalid value.", "অনুরোধে একটি মান সঠিক নয়।"),
    "invalid_host_profile": (
        "The host application has a missing or invalid field.",
        "হোস্ট আবেদনে একটি তথ্য নেই বা সঠিক নয়।",
    ),
    "invalid_availability": (
        "The availability is invalid: use available, busy or offline, a future time and weekday windows as HH:MM.",
        "সময়সূচি সঠিক নয়: available, busy বা offline, ভবিষ্যতের সময় এবং HH:MM আকারে দিন।",
    ),
    "invalid_commission_rate": (
        "The commission rate must be between 0 and 100 percent.",
        "কমিশনের হার ০ থেকে ১০০ শতাংশের মধ্যে হতে হবে।",
    ),
    "invalid_rating": ("The rating must be a whole number from 1 to 5.", "রেটিং ১ থেকে ৫ এর মধ্যে পূর্ণ সংখ্যা হতে হবে।"),
    "invalid_moderator_permissions": ("The moderator permissions are invalid.", "মডারেটরের অনুমতিগুলো সঠিক নয়।"),
    "host_not_found": ("The host does not exist.", "হোস্টটি পাওয়া যায়নি।"),
    "host_already_applied": ("You have already applied to host.", "আপনি ইতিমধ্যে হোস্ট হওয়ার আবেদন করেছেন।"),
    "host_not_pending": (
        "Only a pending application can be verified or rejected.",
        "শুধু অপেক্ষমাণ আবেদন যাচাই বা বাতিল করা যায়।",
    ),
    "host_not_rejected": ("Only a rejected application can be submitted again.", "শুধু বাতিল হওয়া আবেদন আবার জমা দেওয়া যায়।"),
    "host_not_verified": ("The host is not verified yet.", "হোস্ট এখনও যাচাই করা হয়নি।"),
    "host_suspended": ("The host is suspended.", "হোস্টকে সাময়িকভাবে স্থগিত করা হয়েছে।"),
    "host_not_suspended": ("The host is not suspended.", "হোস্ট স্থগিত নয়।"),
    "already_reviewed": ("You have already reviewed this stream.", "আপনি ইতিমধ্যে এই স্ট্রিমের রিভিউ দিয়েছেন।"),
    "review_not_allowed": (
        "Only a stream this host has presented can be reviewed, and not by the host.",
        "শুধু এই হোস্টের উপস্থাপিত স্ট্রিমের রিভিউ দেওয়া যায়, হোস্ট নিজে দিতে পারেন না।",
    ),
    "cannot_follow_self": ("You cannot follow yourself.", "আপনি নিজেকে ফলো করতে পারবেন না।"),
    "stream_time_in_past": ("The start time must be in the future.", "শুরুর সময় ভবিষ্যতে হতে হবে।"),
    # analytics (ADR 0015)
    "analytics_timeout": (
        "The figures took too long to compute; please try again shortly.",
        "হিসাব করতে অনেক সময় লাগছে; একটু পরে আবার চেষ্টা করুন।",
    ),
    # edges (issue 19, ADR 0018)
    "payload_too_large": ("The request is too large.", "অনুরোধটি অনেক বড়।"),
    "event_too_large": (
        "This change is too large to record; send less data.",
        "এই পরিবর্তনটি সংরক্ষণের জন্য অনেক বড়; কম তথ্য পাঠান।",
    ),
    "request_timeout": ("The request took too long to arrive.", "অনুরোধটি পৌঁছাতে অনেক সময় লেগেছে।"),
    "rate_limited": (
        "Too many requests; please slow down and retry shortly.",
        "অনেক বেশি অনুরোধ; একটু থেমে কিছুক্ষণ পরে আবার চেষ্টা করুন।",
    ),
    # fraud review (issue 17 part 1, ADR 0023)
    "fraud_review_pending": (
        "This order is held for a fraud review: it ships once an admin clears it.",
        "এই অর্ডারটি জালিয়াতি যাচাইয়ের জন্য আটকে আছে: অ্যাডমিন অনুমোদন দিলে পাঠানো হবে।",
    ),
    "fraud_screening_pending": (
        "This order is still being checked for fraud: try shipping it again in a moment.",
        "এই অর্ডারটির জালিয়াতি যাচাই এখনও চলছে: একটু পরে আবার পাঠানোর চেষ্টা করুন।",
    ),
    "wallet_under_review": (
        "Your coin wallet is held for a security review: top-ups and gifts resume once it is cleared.",
        "আপনার কয়েন ওয়ালেটটি নিরাপত্তা যাচাইয়ের জন্য আটকে আছে: অনুমোদন পেলে টপ-আপ ও উপহার আবার চালু হবে।",
    ),
    "wallet_blocked": (
        "Your coin wallet is blocked after a fraud review.",
        "জালিয়াতি যাচাইয়ের পর আপনার কয়েন ওয়ালেটটি বন্ধ করা হয়েছে।",
    ),
    "bidder_under_review": (
        "Your bids in this auction are held for a fraud review: you can bid again once it is cleared.",
        "এই নিলামে আপনার বিড জালিয়াতি যাচাইয়ের জন্য আটকে আছে: অনুমোদন পেলে আবার বিড করতে পারবেন।",
    ),
    "bidder_blocked": (
        "You can no longer bid in this auction after a fraud review.",
        "জালিয়াতি যাচাইয়ের পর আপনি এই নিলামে আর বিড করতে পারবেন না।",
    ),
    "refund_under_review": (
        "This buyer's refunds are held for a fraud review: an admin decides them.",
        "এই ক্রেতার রিফান্ড জালিয়াতি যাচাইয়ের জন্য আটকে আছে: অ্যাডমিন সিদ্ধান্ত নেবেন।",
    ),
    "fraud_confirmed": (
        "Fraud was confirmed on this order: it is not shipped.",
        "এই অর্ডারে জালিয়াতি নিশ্চিত হয়েছে: এটি পাঠানো হবে না।",
    ),
    "fraud_case_not_found": ("The fraud case does not exist.", "জালিয়াতির কেসটি পাওয়া যায়নি।"),
    "fraud_case_already_decided": (
        "The fraud case was already decided the other way.",
        "জালিয়াতির কেসটির সিদ্ধান্ত আগেই অন্যভাবে নেওয়া হয়েছে।",
    ),
    "invalid_fraud_decision": ("The decision must be clear or confirm.", "সিদ্ধান্ত clear অথবা confirm হতে হবে।"),
}
MESSAGES.update(POLL_MESSAGES)
MESSAGES.update(COIN_MESSAGES)

MESSAGES.update(QUIZ_LOYALTY_MESSAGES)


def message(code: str) -> tuple[str, str]:
    return MESSAGES.get(code, (code.replace("_", " ").capitalize() + ".", "অনুরোধটি গ্রহণ করা যায়নি।"))
