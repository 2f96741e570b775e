"""The default summary's form: parsed from what a model writes, folded field by field."""

from __future__ import annotations

import pytest

from ctxmgr.handover import (
    FIELDS, IDS, NAME, PHONE, PREFERENCES, USER_PROMISED, Handover, acknowledged_wishes,
    addresses, agent_names, assistant_promises, commitments, confirmed_phone, echoed_names,
    gives_name, name_ledger, names_street, parse_handover, phones, read_back_addresses,
    read_back_ids, spelled_names, stale_ids, steady_name, taken_off_numbers, tool_ledger,
    wishes, words,
)

pytestmark = pytest.mark.unit


def test_a_sloppy_answer_is_read_bullets_bold_echoed_tags_and_all() -> None:
    parsed = parse_handover(
        "Summary so far:\n<summary_so_far>\n**User's name:** Dev Sharma\n"
        "- Ids and amounts (orders, accounts):\n  - AC-55810\n  - 20 pounds credit\n"
        "Current address: N/A\nTool results: none yet\nWhat happened (two sentences): Dev called.\n"
        "He was upset.\nThe user promised: No specific promises\nPreferences: No preferences "
        "given\n</summary_so_far>"
    )
    assert parsed is not None
    assert parsed.values == {
        "User's name": ["Dev Sharma"],
        "Ids and amounts": ["AC-55810", "20 pounds credit"],
        "What happened": ["Dev called. He was upset."],
    }


def test_an_entry_a_looping_model_wrote_again_and_again_is_read_once() -> None:
    looped = "\n".join(["The assistant promised:", "- I will refund 9.35 pounds by Friday."]
                       + ["- I will call back in 24 hours."] * 12)
    parsed = parse_handover(looped)
    assert parsed is not None
    assert parsed.values["The assistant promised"] == [
        "I will refund 9.35 pounds by Friday.", "I will call back in 24 hours.",
    ]


def test_text_with_no_field_is_not_a_handover() -> None:
    assert parse_handover("Dev called about his broadband. Ticket FT-88213.") is None


def test_a_list_entry_is_dropped_only_when_the_new_answer_holds_its_ids() -> None:
    old = Handover({"Ids and amounts": ["AC-55810, AC-41002 (closed)", "20 pounds"]})
    new = Handover({"Ids and amounts": ["AC-55810; 20 pounds credit"]})
    merged = old.merge(parse_handover("Ids and amounts: AC-55810; 20 pounds credit") or new)
    assert merged.values["Ids and amounts"] == [
        "AC-55810, AC-41002 (closed)", "AC-55810", "20 pounds credit",
    ]


def test_a_single_field_takes_the_new_value_or_keeps_the_old() -> None:
    old = Handover({"Current address": ["22 Quay Street"], "User's name": ["Dev"]})
    merged = old.merge(Handover({"Current address": ["41 Quay Street"]}))
    assert merged.values == {"User's name": ["Dev"], "Current address": ["41 Quay Street"]}


def test_a_corrected_address_replaces_the_old_one_where_the_handover_quotes_it() -> None:
    old = Handover({
        "Current address": ["31 Kiln Street, Stoke"],
        "The assistant promised": ["deliver to 31 Kiln Street, Stoke on Saturday"],
        "Open tasks": ["check 31 Kiln Street, Stokesley"],  # another place: left alone
    })
    merged = old.merge(Handover({"Current address": ["5 Vale Place, Hanley"]}))
    promised = merged.values["The assistant promised"]
    assert promised == ["deliver to 5 Vale Place, Hanley on Saturday"]
    assert merged.values["Open tasks"] == ["check 31 Kiln Street, Stokesley"]
    # open tasks and the story are no corrections: their old text is not searched for
    story = Handover({"Open tasks": ["call back"], "Preferences": ["call back"]})
    later = story.merge(Handover({"Open tasks": ["send form"]}))
    assert later.values["Preferences"] == ["call back"]


def test_an_entry_of_the_model_s_at_the_old_address_in_other_words_is_dropped() -> None:
    old = Handover({
        "Current address": ["31 Kiln Street, Stoke"],
        "The user promised": [
            "I will pick up the order at 31 Kiln Street in Stoke",  # the model's words
            '"I\'ll leave the key at 31 Kiln Street."',  # a quote: as said
            "I will collect it on the 9th",
        ],
    })
    merged = old.merge(Handover({"Current address": ["5 Vale Place, Hanley"]}))
    assert merged.values["The user promised"] == [
        '"I\'ll leave the key at 31 Kiln Street."', "I will collect it on the 9th",
    ]
    # no correction, nothing dropped
    same = old.merge(Handover({"Current address": ["31 Kiln Street, Stoke"]}))
    assert same.values["The user promised"] == old.values["The user promised"]


def test_a_rendered_handover_reads_back_the_same() -> None:
    handover = Handover({f.label: [f"{f.label} value 7"] for f in FIELDS})
    assert parse_handover(handover.render()) == handover
    several = Handover({"Ids and amounts": ["AC-55810", "20 pounds"], "Open tasks": ["call"]})
    assert "Ids and amounts:\n- AC-55810\n- 20 pounds\n" in several.render()
    assert parse_handover(several.render()) == several
    assert "Open tasks: none" in Handover({}).render()
    # a list field's one entry of several sentences is listed too; a single field's not
    quoted = Handover({
        "The user promised": ['"Right. I\'ll send the photos."'],
        "What happened": ["Ana called. She moved."],
    })
    assert "The user promised:\n- \"Right. I'll send the photos.\"\n" in quoted.render()
    assert "What happened: Ana called. She moved." in quoted.render()
    assert parse_handover(quoted.render()) == quoted


def test_what_a_tool_returned_is_kept_whatever_the_model_wrote() -> None:
    ledger = tool_ledger([
        ("lookup_parcel", '{"carrier": "DPD", "tracking": "JD0142-7733", "late": true, "days": 3}'),
        ("note", "Refund RF-2231 issued for 12.50"),
        ("weather", '{"sky": "clear"}'),
    ])
    assert ledger == ["lookup_parcel: tracking JD0142-7733, days 3", "note: RF-2231, 12.50"]


def test_what_happened_is_cut_to_two_sentences_an_echoed_transcript_with_it() -> None:
    parsed = parse_handover(
        "User's name: Maria\nWhat happened: Maria called. Her parcel is late. Can you see"
        " where the parcel is now? {\"order\": \"7731-K\"} It's held at a depot."
    )
    assert parsed is not None
    assert parsed.values["What happened"] == ["Maria called. Her parcel is late."]


def test_a_new_story_keeps_only_sentences_the_rest_of_the_handover_vouches_for() -> None:
    form = {
        "User's name": ["Omar Haddad"],
        "Phone number to use": ["07405 611 270"],
        "Ids and amounts": ["CT-884102"],
    }
    story = (
        "Omar called Mrs Price about missed bins on Friday. "  # his landlord: in no field
        "The assistant gave Omar the reference CT-884102 and will ring 07405 611 270."
    )
    checked = Handover({**form, "What happened": [story]}).story_checked(Handover())
    assert checked.values["What happened"] == [
        "The assistant gave Omar the reference CT-884102 and will ring 07405 611 270."
    ]
    # a number the fields lack, or a sentence in the first person (an echo), goes too
    for told in ("Omar gave the reference CT-884120.", "I was just going over the details."):
        previous = Handover({"What happened": ["Omar rang about bins."]})
        checked = Handover({**form, "What happened": [told]}).story_checked(previous)
        assert checked.values["What happened"] == ["Omar rang about bins."]
        assert "What happened" not in Handover({**form, "What happened": [told]}).story_checked(
            Handover()
        ).values
    # a promised amount told as done is no story ("reversed" of a refund due on Friday)
    promised = {
        **form,
        "The assistant promised": ['"The ₦18,500 comes back to your account by Friday."'],
    }
    for done in ("Omar was refunded ₦18,500.", "The assistant reversed the ₦18,500 charge."):
        told = f"Omar rang about bins. {done}"
        checked = Handover({**promised, "What happened": [told]}).story_checked(Handover())
        assert checked.values["What happened"] == ["Omar rang about bins."], done
    told = "Omar rang about bins. The ₦18,500 is due back on Friday."
    checked = Handover({**promised, "What happened": [told]}).story_checked(Handover())
    assert checked.values["What happened"] == [told]
    # a story the previous handover already had is not checked again
    kept = Handover({"What happened": ["Mrs Price rang."]})
    assert kept.story_checked(kept).values == kept.values


def test_an_answer_keeps_only_what_the_folded_turns_or_the_earlier_handover_give() -> None:
    answer = Handover({
        "User's name": ["John Doe"],  # a form filled with a placeholder: no one said it
        "Phone number to use": ["07301 556 782"],
        "Current address": ["123 Main St, Anytown"],
        "Ids and amounts": ["HP-71111, HP-70215", "HP-70215", "90 pounds"],
        "Tool results": ["HP-70125 is active", "claim CLM-55602"],
        "Preferences": ["weekdays only"],
    })
    said = words(["Ring me on 07301 556 782 please.", '{"claim_ref": "CLM-55602"}'])
    returned = words(['{"claim_ref": "CLM-55602"}'])
    earlier = words(["HP-70215", "HP-70125", "90 pound bill"])
    assert answer.grounded(said, returned, earlier).values == {
        "Phone number to use": ["07301 556 782"],
        "Ids and amounts": ["HP-70215", "90 pounds"],  # HP-71111 was never said
        "Tool results": ["claim CLM-55602"],  # no tool returned HP-70125
        "Preferences": ["weekdays only"],
    }
    # a name or an address the earlier handover holds is no correction: the turns must say it
    named = Handover({"User's name": ["Tom Reyes"], "Current address": ["18 Station Road"]})
    assert named.grounded(set(), set(), words(["Tom Reyes", "18 Station Road"])).values == {}
    assert named.grounded(words(["It's Tom Reyes, 18 Station Road."]), set(), set()) == named
    # a transcript without numerals: the digits the model writes are those said in words
    spoken = words(["I'm Tom Reyes at twelve Mill Road, ring oh seven seven nine one, one two"])
    moved = Handover({"Current address": ["12 Mill Road"], "Phone number to use": ["07791 12"]})
    assert moved.grounded(spoken, set(), set()) == moved
    assert Handover({"Current address": ["13 Mill Road"]}).grounded(spoken, set(), set()).values == {}


def test_what_the_user_will_do_is_quoted_and_nothing_else() -> None:
    said = [
        "Great. I will phone the surgery tomorrow; then   I'm going to book a review.",
        "Should I bring anything? I'll be in all day? No.",
        "I\u2019ll send the invoice by Friday. My sister will call you.",
        "I already sent it. I'd like a refund.",
        "Tonight I'm gonna scan the receipt.",
        "Let me fetch the form from my boss, and Friday you'll have a copy.",
        "On Friday we drop the keys at the office. I work Mondays. We got the keys Monday.",
    ]
    assert commitments(said) == [
        '"I will phone the surgery tomorrow, then I\'m going to book a review."',
        '"I\u2019ll send the invoice by Friday."',
        '"Tonight I\'m gonna scan the receipt."',
        '"Let me fetch the form from my boss, and Friday you\'ll have a copy."',
        # an errand planned for a day, in the present tense; not a habit, nor the past
        # ("got", "work": no errand said in the present)
        '"On Friday we drop the keys at the office."',
    ]


def test_a_commitment_that_refers_back_is_quoted_after_the_sentence_it_refers_to() -> None:
    said = [
        "The old owner left a service book under the sink. I'll dig that out for him.",
        "I'll bring it. The forms are here. I'll post them Monday, and the rest later.",
        "Sorry. I'll call you tomorrow.",
    ]
    assert commitments(said) == [
        '"The old owner left a service book under the sink. I\'ll dig that out for him."',
        '"I\'ll bring it."',  # nothing before it in the turn
        '"The forms are here. I\'ll post them Monday, and the rest later."',
        '"I\'ll call you tomorrow."',
    ]


def test_the_assistant_s_commitments_are_those_with_a_day_or_a_number() -> None:
    said = [
        "I'll check that for you. I'll send an engineer on Monday the 9th.",
        "I will pass that on. I'll refund the 12.50 fee. I'll call you tomorrow.",
    ]
    assert assistant_promises(said) == [
        '"I\'ll send an engineer on Monday the 9th."',
        '"I\'ll refund the 12.50 fee."',
        '"I\'ll call you tomorrow."',
    ]
    # an id is no date or amount: the sentence that sets an old account aside is no promise
    aside = "There's also MB-210845, but that was shut, so I'll work from yours."
    assert assistant_promises([aside]) == []
    # nor is a phone number: the assistant names the number it will stop using
    assert assistant_promises(["Right, I'll take 01736 731 480 off the file."]) == []


def test_an_amount_of_money_is_a_promise_with_the_day_it_comes_by() -> None:
    said = [
        "So that $85 drop fee is coming off, and the car gets to you Friday the 14th.",
        "The €38,50 for the locker I transfer back today.",
        # the day comes a sentence later; the phrasing is no "I'll ..."
        "Good news. The 40 pound call-out charge I am waiving for you. Our engineer is "
        "local. You'll have the part by Wednesday, the 18th. Anything else?",
        "I can see $212 twice on the account.",
        # an amount a turn before gave as money, named bare
        "Sorry about that. You'll get that 212 back by Monday.",
        "We refund KSh 2,400 for the sessions; you will have it by Friday.",  # a currency code
    ]
    assert assistant_promises(said) == [
        '"So that $85 drop fee is coming off, and the car gets to you Friday the 14th."',
        '"The €38,50 for the locker I transfer back today."',
        '"The 40 pound call-out charge I am waiving for you … You\'ll have the part by '
        'Wednesday, the 18th."',
        '"You\'ll get that 212 back by Monday."',
        '"We refund KSh 2,400 for the sessions, you will have it by Friday."',
    ]


def test_a_charge_in_the_past_is_no_promise_but_its_amount_paid_back_is() -> None:
    said = [
        "I can see a minibar charge of €32.40 went on your card on Sunday.",
        "A £62.50 charge came out in January. That 62.50 is going back in by Thursday the 20th.",
        "That's $30 a month. Is Monday the 3rd good for you?",
    ]
    assert assistant_promises(said) == ['"That 62.50 is going back in by Thursday the 20th."']


def test_a_name_the_user_spells_is_theirs_with_the_first_name_before_it() -> None:
    said = [
        "I'm Bernie. Bernadette Comeau, C-O-M-E-A-U, the camp's in my name.",
        "Sorry, Okonkwo. O K O N K W O. Natasha.",
        "Dijkstra. With I-J, D, I, J, K, S, T, R, A.",
        # spelled twice: once
        "Comeau, C.O.M.E.A.U.",
    ]
    assert spelled_names(said) == ["Bernadette Comeau", "Okonkwo", "Dijkstra"]
    # a street, someone else's name, a run of capitals that spells nothing said: no name
    others = [
        "It's 12 Mifflin Street, Madison, M-I-F-F-L-I-N.",
        "The order is under my husband, Arvind, A-R-V-I-N-D.",
        "I think it's the A, B, C plan. Order QX-7 R M.",
    ]
    assert spelled_names(others) == []


def test_a_phone_said_in_words_is_a_phone_in_digits_grouped_as_said() -> None:
    said = (
        "Don't ring nine oh two, five five five, oh one eight one. My cell's seven eight "
        "two... five five five... zero one three nine, or the home one, 0161 555 0199. "
        "Mobile is oh six, two eight seven four, eleven ninety-five, or oh seven seven "
        "double one, four five six, nine two two."
    )
    assert phones(said) == [
        "902 555 0181", "782 555 0139", "0161 555 0199", "06 2874 1195", "07711 456 922",
    ]
    # a policy number said in words (nine digits), an amount, a count: no phone
    assert phones("Seven three... oh four one eight... two six five. Two hundred and "
                  "forty. One, two, three, four, five of them.") == []


def test_the_assistant_goes_by_the_name_it_gives_and_the_one_the_user_greets_it_by() -> None:
    said = [
        ("assistant", "Bluenose Pest Management, Shauna speaking."),
        ("user", "Hi, Sven Larsen here. My sister Orla rang you yesterday."),
        ("assistant", "Hello, this is Imran from the service desk, I'm taking over."),
        ("user", "Hi Deirdre, I'm hoping you can help. Okay, thank you, Imran."),
    ]
    assert agent_names(said) == {"Shauna", "Imran", "Deirdre"}


def test_a_name_the_user_opens_a_turn_addressing_is_not_theirs() -> None:
    said = [
        ("assistant", "Good morning, Greenway Removals."),
        ("user", "Oh, Priya, before I forget, the van can't park out front."),
        ("user", "So Marek, sorry, where was I?"),
        ("user", "Tomasz, T-O-M-A-S-Z. Nowak."),  # a name then its spelling: an introduction
        ("user", "Okay, Dana. That's me."),
    ]
    assert {"Priya", "Marek"} <= agent_names(said)
    assert not {"Tomasz", "Dana"} & agent_names(said)
    earlier = Handover({NAME: ["Tomasz Nowak"]})
    for addressed in ("Priya", "Marek"):
        # neither replaces the user's name, nor is taken for it with no name before
        assert steady_name(Handover({NAME: [addressed]}), earlier, said).values == {}
        assert steady_name(Handover({NAME: [addressed]}), Handover(), said).values == {}
    # a caller who opens with their own name and a full stop introduces themselves
    newer = Handover({NAME: ["Dana Whyte"]})
    assert steady_name(newer, earlier, [("user", "Dana Whyte. I'm calling for my dad.")]) == newer


def test_a_name_for_the_user_stays_unless_the_user_gives_another() -> None:
    earlier = Handover({NAME: ["Bernie Comeau"]})
    said = [
        ("assistant", "Shauna speaking. And Liam, is he on the booking?"),
        ("user", "Liam's my fiancé, he never answers. Yeah, Dana's in HR."),
    ]
    # the assistant's own name is never the user's, earlier name or not
    assert steady_name(Handover({NAME: ["Shauna"]}), Handover(), said).values == {}
    # someone the turns talk about does not replace the name the user gave before
    assert steady_name(Handover({NAME: ["Liam"]}), earlier, said).values == {}
    assert steady_name(Handover({NAME: ["Liam"]}), Handover(), said).values == {NAME: ["Liam"]}
    # a name sharing a word with the earlier one, or one the user gives, replaces it
    for given, turn in (
        ("Bernadette Comeau", "Liam's my fiancé."),
        ("Natasha Okonkwo", "Sorry, I'm Natasha, it's on my card."),
        ("Natasha Okonkwo", "Okonkwo. O-K-O-N-K-W-O."),
        ("Natasha Okonkwo", "Yes, Natasha Okonkwo. That's right."),
        ("Natasha Okonkwo", "It's Tash, Natasha Okonkwo here."),
    ):
        newer = Handover({NAME: [given]})
        assert steady_name(newer, earlier, [("user", turn)]) == newer, turn


def test_the_user_s_name_is_the_one_the_assistant_calls_them_by() -> None:
    said = [
        ("assistant", "Harbour Dental, Priya speaking."),
        ("user", "Hi Priya. My husband Colm Teague booked it. It's for me, Jana Teague."),
        ("assistant", "Thanks, Mrs Teague. And your address?"),  # a surname says it
        ("user", "It's Kestrel Barn. I'm with Ruth Ellery, the carer."),
        ("assistant", "Got that, Kestrel Barn."),  # a house, not a person
        ("user", "Ruth Ellery will bring me."),
        ("assistant", "Lovely, Ruth is welcome to come in."),  # called, but not first
        ("user", "Okafor. O, K, A, F, O, R. And Ngozi."),
        ("assistant", "Ngozi Okafor, got it."),  # said in full from the parts given
    ]
    assert echoed_names(said) == ["Jana Teague", "Ruth Ellery", "Ngozi Okafor"]
    # a surname given alone, called with a title; not the agent's, nor a title alone
    alone = [
        ("assistant", "Hello, Ms Petrov here."),
        ("user", "Hi Ms Petrov. Surname's Varga, the plumber booked it for me."),
        ("assistant", "Thanks, Mrs Varga. I'm Ms Petrov, yes."),
    ]
    assert echoed_names(alone) == ["Varga"]
    assert name_ledger(said[:7], Handover()) == ["Jana Teague"]
    # a spelled name stands, in full where the assistant said it so
    assert name_ledger(said, Handover()) == ["Ngozi Okafor"]
    # a later span calling someone new by name leaves an earlier name standing
    assert name_ledger(said[5:7], Handover({NAME: ["Jana Teague"]})) == []
    assert name_ledger(said[1:3], Handover({NAME: ["Jana"]})) == ["Jana Teague"]


def test_the_id_the_call_goes_by_is_the_one_the_assistant_read_back() -> None:
    turns = [
        ("user", "It's MB-218845. It used to be a work phone."),
        ("assistant", "Thanks. MB-218845 is in your name. There's also MB-210845, shut."),
        ("user", "KM19 XTD, white van. The logbook says LR15 HBV."),
        ("assistant", "Found KM19 XTD. You've an older record too, LR15 HBV."),
        ("user", "And QX7R2N?"),
        ("assistant", "I can't see that one."),  # not read back: not the call's
        ("user", "It's MB-218845 again."),
        ("assistant", "Yes, MB-218845."),
    ]
    assert read_back_ids(turns) == ["MB-218845", "KM19 XTD"]


def test_an_id_is_read_back_however_it_is_said_and_either_way() -> None:
    turns = [
        ("user", "It's on the slip: T, Q, seven, oh, double four, nine."),
        ("assistant", "TQ-70449, lovely."),  # said letter by letter and in words
        ("user", "And the member card says 3318 0072 65."),
        ("assistant", "Yes, 3318 0072 65 is yours."),  # digits only, in groups
        ("assistant", "Your claim is 58120."),
        ("user", "Five eight one two oh, got it."),  # the user says the assistant's back
        ("user", "Z, 4- no, sorry, 9, K, W, 2."),
        ("assistant", "Z9KW2."),  # a letter corrected as it is said
        ("user", "There's a 55710 on the old letter."),
        ("assistant", "No, 55710 was the one we closed."),  # echoed to take it back
        ("user", "Text me on nine one seven six, three three two oh."),
        ("assistant", "9176 3320, noted."),  # a phone, not an id
        ("user", "It's KQ-2231."),
        ("assistant", "KQ-2231 is the live one; KQ-1187 was closed."),  # clause by clause
        ("user", "The van is at 40 Dock Road, Hull, 48213."),
        ("assistant", "40 Dock Road, 48213."),  # a postcode after an address
        ("user", "TQ-70449 again."),
        ("assistant", "TQ-70449, yes."),  # once
    ]
    assert read_back_ids(turns) == ["TQ-70449", "3318 0072 65", "58120", "Z9KW2", "KQ-2231"]


def test_an_id_said_to_be_old_and_never_read_back_is_dropped_from_the_model_s_ids() -> None:
    turns = [
        ("user", "The card says 20771. Oh wait, that's my expired card. The new one is 31604."),
        ("assistant", "31604, found you. There's also PX-88120 on file, is that one yours?"),
        ("user", "That one is old, from the flat I left."),
        ("assistant", "Right. And the order from March, OR-55127; it was cancelled."),
        ("user", "OR-61902 is the live one; OR-55127 was the cancelled one."),
        ("assistant", "Yes, OR-61902 it is."),
    ]
    # said to be old in the sentence, the next one, or the other party's answer
    assert stale_ids(turns) == {"20771", "PX88120", "OR55127"}
    # the read-back ids a caller already has serve as well ("OR-61902" stays)
    assert stale_ids(turns, read_back_ids(turns)) == {"20771", "PX88120", "OR55127"}
    answer = Handover({
        "Ids and amounts": ["20771, 31604", "PX-88120", "OR-61902; 12 pound fee"],
        "The user promised": ["bring card 20771 on Friday"],  # only the ids field
    })
    assert answer.without_ids(stale_ids(turns)).values == {
        "Ids and amounts": ["31604", "OR-61902; 12 pound fee"],
        "The user promised": ["bring card 20771 on Friday"],
    }


def test_an_id_read_back_is_no_phone_to_ring() -> None:
    answer = Handover({"Phone number to use": ["5512 0093 17"], "Ids and amounts": ["x"]})
    assert answer.without_id_phone(["AB-1", "5512 009 317"]).values == {
        "Ids and amounts": ["x"],
    }
    assert answer.without_id_phone(["AB-1"]) == answer


def test_a_promise_filed_under_the_wrong_party_moves_to_the_one_who_said_it() -> None:
    said = [
        ("user", "I'll drop the spare key at reception on Thursday morning."),
        ("assistant", "Great. I'll have the plumber there by noon on Thursday."),
    ]
    answer = Handover({
        "The assistant promised": [
            "I'll drop the spare key at reception on Thursday",  # the user's words
            "fix the leak for free",  # said by no one: stays where the model put it
        ],
        "The user promised": [
            "I'll have the plumber there by noon",  # the assistant's words
            '"I\'ll have the plumber there by noon on Thursday."',  # a quote never moves
        ],
    })
    assert answer.attributed(said, Handover()).values == {
        "The assistant promised": [
            "fix the leak for free", "I'll have the plumber there by noon",
        ],
        "The user promised": [
            '"I\'ll have the plumber there by noon on Thursday."',
            "I'll drop the spare key at reception on Thursday",
        ],
    }
    # an entry the earlier handover gives the other party moves too
    earlier = Handover({"The user promised": ["send the photos of the damp by Monday"]})
    answer = Handover({"The assistant promised": ["send photos of the damp by Monday"]})
    assert answer.attributed([], earlier).values == {
        "The user promised": ["send photos of the damp by Monday"],
    }


def test_what_the_user_asks_for_in_passing_is_quoted() -> None:
    said = [
        "Oh, and please don't let them park on the grass verge. Yes please.",
        "It's best not to put it through the jet wash. Could you please check?",
        "Please don't call my work phone, 0113 496 0000.",  # the phone field's business
        "Deliver to the shop, please, Havenstraat 41.",  # and the address field's
        "I'd prefer a female physiotherapist. I don't want calls at the weekend.",
    ]
    assert wishes(said) == [
        '"Oh, and please don\'t let them park on the grass verge."',
        '"It\'s best not to put it through the jet wash."',
        '"I\'d prefer a female physiotherapist."',
        '"I don\'t want calls at the weekend."',
    ]


def test_what_the_assistant_says_it_recorded_is_quoted_from_the_user_s_turn() -> None:
    said = [
        ("user", "One thing. The lift is out, so the crew can't bring anything up that way. "
                 "They'll have to use the stairs at the back."),
        ("assistant", "Back stairs, no lift. I've put that on the job sheet."),
        ("user", "Great. The cat hides under the bed, ignore her."),
        ("assistant", "Ha, will do."),  # no record of it: not quoted
        ("user", "The gate code is 4471, and it's 12 Orchard Row."),
        ("assistant", "Understood."),  # a number or an address: other fields' business
        ("user", "My mobile is oh seven seven double oh, one two three."),
        ("assistant", "Noted."),  # a number said in words too
        ("user", "Could you check what I owe?"),
        ("assistant", "Sure, one moment."),  # a question for information
        ("user", "I'm a light sleeper. Could the driver knock instead of ringing the bell?"),
        ("assistant", "Of course."),  # agreed to: the question is what the user asked for
        ("user", "No peanuts in anything, my son is allergic."),
        ("assistant", "0161 555 0199, noted."),  # a number read back, not a wish recorded
        ("user", "Nothing with sesame either. My daughter reacts to it, it's bad."),
        ("assistant", "Understood, I'll flag it for the kitchen."),
        ("user", "The cat scratches strangers, keep her in the carrier."),
        ("assistant", "I'm flagging that for the groomer."),
    ]
    assert acknowledged_wishes(said) == [
        # the sentence the acknowledgement echoes ("Back stairs")
        '"They\'ll have to use the stairs at the back."',
        '"Could the driver knock instead of ringing the bell?"',
        # none echoed: the turn's last three sentences
        '"Nothing with sesame either."',
        '"My daughter reacts to it, it\'s bad."',
        '"The cat scratches strangers, keep her in the carrier."',
    ]
    # a wish recorded twice is quoted once
    assert acknowledged_wishes(said[:2] + said[:2]) == acknowledged_wishes(said[:2])


def test_an_address_is_found_with_or_without_a_street_word() -> None:
    said = (
        "We relocated in March; the house is 3 Ffordd Eryri, Bangor, and the van lives at "
        "Unit 6, Brookfield Trading Estate, Macclesfield. Post goes to Flat 3, 60 Canal "
        "Street, Leeds. Not on 3 May, and not the 12 Tuesday slot."
    )
    assert addresses(said) == [
        "3 Ffordd Eryri, Bangor",
        "Unit 6, Brookfield Trading Estate, Macclesfield",
        "Flat 3, 60 Canal Street, Leeds",
    ]
    # the street first, as in much of Europe: a street word, or a postcode after it
    said = (
        "Ship it to Molenweg 7 B, Delft, or to my mother at Via Garibaldi 24. The studio "
        "is Oude Gracht 112, 3511 AZ. Call me on Monday 12, or on 06 1234 5678."
    )
    assert addresses(said) == ["Molenweg 7 B, Delft", "Via Garibaldi 24", "Oude Gracht 112"]
    # a named house with no number, its town after it
    said = "We're at Hollins Farm, Dent, not Low Barn. The Old Mill, Sedbergh is my sister's."
    assert addresses(said) == ["Hollins Farm, Dent", "The Old Mill, Sedbergh"]
    # a numbered street
    assert addresses("It's 27, 5th Cross Road, near the temple.") == ["27, 5th Cross Road"]


def test_a_promise_or_wish_in_the_model_s_words_that_gives_a_phone_number_is_dropped() -> None:
    parsed = parse_handover(
        "Phone number to use: 06 2874 1195\n"
        "The assistant promised: I will put 902-555-0181 off the file; refund 25 pounds\n"
        "The user promised: \"I'll be on 0161 555 0199 all day.\"\n"
        "Preferences: Please use the phone number 010 466 3082\n"
        "Tool results: lookup: phone 0161 555 0100"
    )
    assert parsed is not None
    assert parsed.values == {
        "Phone number to use": ["06 2874 1195"],
        "The assistant promised": ["refund 25 pounds"],
        "The user promised": ['"I\'ll be on 0161 555 0199 all day."'],  # a quote: as said
        "Tool results": ["lookup: phone 0161 555 0100"],
    }


def test_the_phone_to_use_is_the_last_number_the_assistant_reads_back_from_the_user() -> None:
    said = [
        ("assistant", "I've got 0131 496 0000 as your main number."),  # not the user's
        ("user", "That's the office. Try my mobile, oh seven nine four six, two one five, "
                 "eight eight three. Or my sister, 07946 600 127."),
        ("assistant", "And contact number 07946 600 127?"),  # a question
        ("user", "No, hers is only for emergencies."),
        ("assistant", "07946 215 883, got it. I'll take 07946 600 127 off."),  # taken off
    ]
    assert confirmed_phone(said) == "07946 215 883"
    assert confirmed_phone(said[:4]) is None
    # a later read-back of another number the user gave replaces it
    later = [
        ("user", "Actually use the landline, 0161 764 2290."),
        ("assistant", "Done, 0161 764 2290."),
    ]
    assert confirmed_phone(said + later) == "0161 764 2290"


def test_an_answer_keeps_three_promises_or_wishes_a_field_and_none_given_to_both() -> None:
    copied = ["return the blouse by Friday", "send the receipt by Friday"]
    answer = Handover({
        "User's name": ["Ana Lopez"],
        "Ids and amounts": [f"P-{n}" for n in range(5)],  # ids are not capped
        "The assistant promised": [*copied, "waive the fee", "ring back at six"],
        "The user promised": [*copied, "bring the form"],
        "Preferences": [f"no calls on day {n}" for n in range(5)],
    })
    assert answer.bounded().values == {
        "User's name": ["Ana Lopez"],
        "Ids and amounts": [f"P-{n}" for n in range(5)],
        "The assistant promised": ["waive the fee", "ring back at six"],
        "The user promised": ["bring the form"],
        "Preferences": [f"no calls on day {n}" for n in range(3)],
    }


def test_a_phone_number_is_no_id() -> None:
    parsed = parse_handover(
        "Ids and amounts: D-66120, 01943 220 118, 25 pound fee; +44 7700 900 461\n"
        "Phone number to use: 07912 884 301"
    )
    assert parsed is not None
    assert parsed.values["Ids and amounts"] == ["D-66120, 25 pound fee"]
    # nor is an entry with no digit in it
    named = parse_handover("Ids and amounts:\n- Account name: Ruth Ellery\n- Pet: none\n- FX-2")
    assert named is not None
    assert named.values["Ids and amounts"] == ["FX-2"]
    assert parsed.values["Phone number to use"] == ["07912 884 301"]
    # a card number, an account number and an amount stay
    kept = parse_handover("Ids and amounts: card 4111 1111 1111 1111; account 12345678; 0.50")
    assert kept is not None
    assert kept.values["Ids and amounts"] == ["card 4111 1111 1111 1111", "account 12345678", "0.50"]


def test_a_request_recorded_in_a_reply_that_goes_on_to_a_number_is_still_a_wish() -> None:
    said = [
        ("user", "The doorbell has been broken for weeks."
                 " Why can't the courier just knock on the side door?"),
        # the number comes after the sentence that records: other business
        ("assistant", "Fair enough. I've added that to the notes. Your $20 refund lands Friday."),
        ("user", "Please leave it with the neighbour at number 4."),
        ("assistant", "Noted, 4 it is."),  # the number is read back before the record
    ]
    assert acknowledged_wishes(said) == [
        '"Why can\'t the courier just knock on the side door?"',
        '"The doorbell has been broken for weeks."',  # the turn's last sentences, none echoed
    ]


def test_a_past_charge_and_the_sentence_that_gives_it_back_by_a_day_are_one_promise() -> None:
    said = [
        "You were billed €19 for the missed pickup. That's going back on your card by Monday.",
        # the next sentence names its own amount: it is the promise alone
        "The $12 went out in May. The 12 comes back to you on Friday.",
        # no day, a question, or nothing that refers back: no promise
        "You paid £40 for the visit. It'll come off eventually.",
        "You were charged £15. Will that be back by Tuesday?",
        "You paid £30 on Monday. We'll call you on Friday.",
    ]
    assert assistant_promises(said) == [
        '"You were billed €19 for the missed pickup … That\'s going back on your card by'
        ' Monday."',
        '"The 12 comes back to you on Friday."',
    ]


def test_an_address_the_assistant_reads_back_from_the_user_s_words_is_one_they_gave() -> None:
    said = [
        ("user", "We're round the side now, forty-four Wattle Street."),
        ("assistant", "Thanks, so that's 44 Wattle Street, Bendigo."),
        ("user", "Hi there."),
        ("assistant", "Your file says 9 Oak Road, Perth."),  # the user never said Oak Road
        ("user", "Is it still Kestrel Avenue on there?"),
        ("assistant", "It was 3 Kestrel Avenue?"),  # a question reads nothing back
        ("user", "Drop Kestrel Avenue."),
        ("assistant", "Done, 3 Kestrel Avenue is removed."),  # taken off
        ("user", "It's 8 Marsh Lane, Hull."),
        ("assistant", "8 Marsh Lane, Hull, lovely."),  # the user gave it: nothing read back
        ("user", "The record is under Baraka, Form Three."),
        ("assistant", "Yes, 2291, Baraka, Form Three."),  # no street, road or the like
    ]
    assert read_back_addresses(said) == [(said[0][1], "44 Wattle Street, Bendigo")]
    # the estate or building the user named before the street comes with it; a word the
    # user did not say capitalised ("Okay", a name) does not
    said = [
        ("user", "Kiln Court, on Ferry Road. Flat number 9. Ask for Ama at the gate."),
        ("assistant", "Okay Ama, Kiln Court, 9, Ferry Road, Osu."),
    ]
    assert read_back_addresses(said) == [(said[0][1], "Kiln Court, 9, Ferry Road, Osu")]


def test_a_number_a_clause_takes_off_is_found_whatever_its_length() -> None:
    said = [
        ("assistant", "8123 4567, sure, and I'll delete 6543 2100 from the booking."),
        ("user", "Don't use 0207 946 0000 please."),
        # two numbers in one clause: which is taken off is not said by the clause
        ("user", "Ring 0412 345 678, not 0398 765 432."),
        # under seven digits: no phone
        ("assistant", "I'll take the 250 off."),
    ]
    assert taken_off_numbers(said) == {"65432100", "02079460000"}


def test_numbers_taken_off_leave_the_ids_and_the_entries_that_give_them_not_the_phone() -> None:
    handover = Handover({
        PHONE: ["8123 4567"],
        IDS: ["SR-5521, 6543 2100", "6543-2100"],
        USER_PROMISED: ["I'll email the form to 6543 2100", "I won't use 6543 2100 again"],
        PREFERENCES: ["texts to 8123 4567"],
    })
    assert handover.without_numbers({"65432100", "81234567"}).values == {
        PHONE: ["8123 4567"],  # the phone's own number is never taken off
        IDS: ["SR-5521"],
        USER_PROMISED: ["I won't use 6543 2100 again"],  # says not to use it
        PREFERENCES: ["texts to 8123 4567"],
    }
    assert handover.without_numbers(set()) is handover


def test_a_turn_gives_a_name_when_the_user_introduces_or_spells_one() -> None:
    assert gives_name("Hi, this is Grace Mensah, my fridge stopped cooling.")
    assert gives_name("Kofi Boateng here, about the repair.")
    assert gives_name("It's under Mensah. M-E-N-S-A-H.")
    # a turn that opens with a capitalised word is no introduction here
    assert not gives_name("Nobody else, it's just me on it now.")
    assert not gives_name("Thanks. I'll wait for the call.")


def test_a_text_names_a_street_by_its_capitalised_words_with_or_without_its_number() -> None:
    assert names_street("Amani Gardens, on James Gichuru Road", "3, James Gichuru Road, Lavington")
    assert names_street("212 pipeclay lane", "212 Pipeclay Lane, Eurunderee")
    assert not names_street("1186 Castlereagh Highway", "212 Pipeclay Lane, Eurunderee")
    assert not names_street("James Road", "3, James Gichuru Road")
