"""Web page views, one module per area; the names below are what frontend/urls.py routes to."""

from frontend.views.account import (  # noqa: F401
    LoginView,
    booking_cancel,
    booking_check_in,
    booking_link,
    booking_reschedule,
    my_bookings,
    my_bookings_list,
    my_feed,
    profile,
    qr_check_in,
    set_language,
    waitlist_accept,
    waitlist_leave,
    waitlist_link,
)
from frontend.views.desk import booking_check_out_view as booking_check_out  # noqa: F401
from frontend.views.desk import desk_check_in  # noqa: F401
from frontend.views.manager import (  # noqa: F401
    booking_decide,
    manage_certifications,
    manage_displays,
    manage_home,
    manage_maintenance,
    manage_queue,
)
from frontend.views.organization import organization  # noqa: F401
from frontend.views.public import find, home, lab_detail, resource_book, resource_detail  # noqa: F401
