"""WebSocket routes (all under /ws/)."""

from django.urls import path

from frontend import consumers

websocket_urlpatterns = [
    path("ws/labs/<slug:slug>/", consumers.LabOccupancyConsumer.as_asgi(), name="ws_lab"),
    path("ws/approvals/", consumers.ApprovalQueueConsumer.as_asgi(), name="ws_approvals"),
    path("ws/me/", consumers.MyBookingsConsumer.as_asgi(), name="ws_me"),
]
