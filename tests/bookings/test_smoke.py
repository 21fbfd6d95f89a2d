"""A booking can be made and the same slot is then refused."""

import pytest

from bookings.services import booking_request
from core.errors import DomainError
from tests.factories import at


def test_second_booking_of_the_same_slot_is_refused_with_slot_taken(resource, student):
    booking_request(resource=resource, user=student, start=at(2030, 3, 4, 9), end=at(2030, 3, 4, 10))
    with pytest.raises(DomainError) as exc:
        booking_request(resource=resource, user=student, start=at(2030, 3, 4, 9, 30), end=at(2030, 3, 4, 11))
    assert exc.value.code == "slot_taken"
    assert exc.value.details["conflict"]["start"].startswith("2030-03-04T")
