"""Which address and phone of a handover are checked, quoting which turns; the phone choice."""

from __future__ import annotations

import pytest

from ctxmgr.field_checks import field_checks, phone_choice, picked, yes_or_no
from ctxmgr.handover import ADDRESS, IDS, NAME, PHONE, Handover

pytestmark = pytest.mark.unit

SAID = [
    ("assistant", "Good morning, heating cover, Kerry speaking."),
    ("user", "It's Callum Fraser. The number on the letter is 4402 1187 63."),
    ("assistant", "Yes, 4402 1187 63. And the best number for the engineer?"),
    ("user", "The house phone, 01577 830 442. Not the mobile, (520) 555-0138, no signal."),
    ("assistant", "House phone it is."),
]


def test_the_phone_is_asked_about_by_its_first_number_quoting_the_users_turn_around_it() -> None:
    written = "4402 1187 63 (not 07701 402 966)"
    (check,) = field_checks(Handover({PHONE: [written]}), Handover(), SAID)
    assert check.label == PHONE and check.entry == written
    # the user's turn, though the assistant's next turn repeats the number
    assert check.question == (
        'The assistant said: "Good morning, heating cover, Kerry speaking."\n'
        'The user said: "It\'s Callum Fraser. The number on the letter is 4402 1187 63."\n'
        'The assistant said: "Yes, 4402 1187 63. And the best number for the engineer?"\n'
        "Should the user be phoned on 4402 1187 63? Answer yes or no."
    )


def test_an_address_the_span_mentions_is_checked_even_when_the_model_left_it_as_it_was() -> None:
    said = [
        ("user", "I've given you the wrong place. Braeside's the holiday let up the back."),
        ("assistant", "I've changed the job to Kirkton Steading, Glenfarg."),
    ]
    earlier = Handover({ADDRESS: ["Braeside Cottage, Glenfarg"], NAME: ["Callum Fraser"]})
    for newer in (Handover(), Handover({ADDRESS: ["Braeside Cottage, Glenfarg"]})):
        (check,) = field_checks(newer, earlier, said)
        assert check.label == ADDRESS and check.entry == "Braeside Cottage, Glenfarg"
        assert check.question.startswith('The user said: "I\'ve given you the wrong place.')
        assert check.question.endswith(
            "Is Braeside Cottage, Glenfarg the user's address to use from now on? "
            "Answer yes or no."
        )


def test_a_flat_is_found_by_its_building_not_by_the_word_flat() -> None:
    said = [("user", "I'm at the warden flats now, Holly Bank.")]
    newer = Handover({ADDRESS: ["Flat 6, Holly Bank, Walshaw Road"]})
    (check,) = field_checks(newer, Handover(), said)
    assert check.entry == "Flat 6, Holly Bank, Walshaw Road"


def test_nothing_is_asked_about_what_the_span_does_not_mention_nor_about_names_and_ids() -> None:
    newer = Handover({
        NAME: ["Kerry"], IDS: ["4402 1187 63"], PHONE: ["0161 555 0199"], ADDRESS: ["9 Mill Road"],
    })
    assert field_checks(newer, Handover(), SAID) == []
    assert [c.label for c in field_checks(newer, Handover(), [("user", "Mill Road.")])] == [
        ADDRESS
    ]


def test_a_refused_phone_gives_way_to_a_choice_among_the_others_the_user_gave() -> None:
    said = [
        ("user", "Call 0161 555 0199 or my cell, 520-555-0190."),
        ("assistant", "Or 0800 040 7766?"),
        ("user", "No, use (520) 555-0138."),
    ]
    choice = phone_choice(said, refused="0161 555 0199 (not 0113 496 0000)")
    assert choice is not None
    assert choice.options == ("520-555-0190", "(520) 555-0138")  # the assistant's is none
    assert choice.question == (
        'The user said: "Call 0161 555 0199 or my cell, 520-555-0190."\n'
        'The user said: "No, use (520) 555-0138."\n'
        "Which number should we phone the user on: 520-555-0190 or (520) 555-0138? "
        "Answer with the number only."
    )
    assert picked(choice, "(520) 555-0138") == "(520) 555-0138"
    assert picked(choice, "5205550190.") == "520-555-0190"
    assert picked(choice, "0161 555 0199") is None  # not an option
    assert picked(choice, "I don't know") is None


def test_with_one_number_left_the_choice_is_a_yes_or_no_and_with_none_there_is_none() -> None:
    # the mobile, said alone in a sentence that says it has no signal, is no option...
    choice = phone_choice(SAID, refused="4402 1187 63")
    assert choice is not None and choice.options == ("01577 830 442",)
    # ... unless no other is left; a sentence with two numbers leaves both to the model
    two = [("user", "Ring 0161 555 0199, not my old work line 0113 496 0000.")]
    choice = phone_choice(two, refused="")
    assert choice is not None and choice.options == ("0161 555 0199", "0113 496 0000")
    choice = phone_choice(SAID, refused="01577 830 442")
    assert choice is not None and choice.options == ("(520) 555-0138",)
    assert choice.question.endswith("Should the user be phoned on (520) 555-0138? Answer yes or no.")
    assert phone_choice(SAID[:3], refused="4402 1187 63") is None


def test_a_reply_is_read_as_yes_no_or_neither() -> None:
    assert [yes_or_no(r) for r in ("Yes.", "**No**", '"yes"', "no", "Maybe", "")] == [
        True, False, True, False, None, None,
    ]


def test_a_number_said_in_words_is_checked_in_the_users_turn_and_offered_in_the_choice() -> None:
    said = [
        ("assistant", "And the best number?"),
        ("user", "My cell. Six oh eight, five five five, oh one seven four."),
        ("assistant", "(608) 555-0174 is your primary."),
        ("user", "Great, thanks."),
    ]
    (check,) = field_checks(Handover({PHONE: ["(608) 555-0174"]}), Handover(), said)
    # the user's turn that said it (with the turns around it), not the assistant's that
    # read it back
    assert check.question.splitlines()[:3] == [
        'The assistant said: "And the best number?"',
        'The user said: "My cell. Six oh eight, five five five, oh one seven four."',
        'The assistant said: "(608) 555-0174 is your primary."',
    ]
    choice = phone_choice(said, refused="")
    assert choice is not None and choice.options == ("608 555 0174",)
    assert choice.question.splitlines()[:3] == check.question.splitlines()[:3]


def test_with_one_number_the_question_quotes_the_latest_user_turn_that_gives_it() -> None:
    said = [
        ("user", "My mobile is 07701 402 966."),
        ("assistant", "Thanks."),
        ("user", "Sorry, yes, 07701 402 966 is the one to ring."),
    ]
    choice = phone_choice(said, refused="")
    assert choice is not None and choice.options == ("07701 402 966",)
    assert choice.question.splitlines()[:2] == [
        'The assistant said: "Thanks."',
        'The user said: "Sorry, yes, 07701 402 966 is the one to ring."',
    ]
