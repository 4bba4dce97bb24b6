from dataclasses import dataclass

from app.core import events


@dataclass(frozen=True)
class Happened:
    what: str


@dataclass(frozen=True)
class Other:
    what: str


def test_subscribers_of_an_event_type_receive_it_in_order_and_no_other():
    seen = []
    first = events.subscribe(Happened)(lambda e: seen.append(("first", e.what)))
    events.subscribe(Happened)(lambda e: seen.append(("second", e.what)))
    events.subscribe(Happened)(first)  # registering twice does not deliver twice
    events.publish(Happened("booked"))
    events.publish(Other("ignored"))
    assert seen == [("first", "booked"), ("second", "booked")]
