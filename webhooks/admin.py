"""Admin for webhooks: subscriptions (with pause, resume and secret rotation), the event and delivery log, replay."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError
from webhooks import services
from webhooks.models import Delivery, DeliveryAttempt, Event, Subscription
from webhooks.selectors import subscriptions_visible


def _each(modeladmin, request, queryset, action, done_message) -> None:
    done = 0
    for item in queryset:
        try:
            action(item)
        except DomainError as refused:
            modeladmin.message_user(request, f"{item}: {refused.message}", messages.WARNING)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, done_message % {"n": done}, messages.SUCCESS)


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    """Subscriptions a person manages (admins: all). Created here through the service, so the URL is checked."""

    list_display = ["url", "scope", "lab", "organization", "owner", "status", "paused_reason", "created_at"]
    list_filter = ["status", "paused_reason"]
    search_fields = ["url", "description", "owner__username"]
    autocomplete_fields = ["lab", "organization", "owner"]
    readonly_fields = ["secret", "status", "paused_at", "paused_reason", "created_by", "created_at"]
    fields = ["url", "description", "event_types", "lab", "organization", "owner", *readonly_fields]
    actions = ["pause_selected", "resume_selected", "rotate_selected"]

    def get_queryset(self, request):
        return subscriptions_visible(request.user)

    def save_model(self, request, obj, form, change):
        try:
            if change:
                services.subscription_update(
                    subscription=obj,
                    by=request.user,
                    url=obj.url,
                    event_types=obj.event_types,
                    description=obj.description,
                )
            else:
                created = services.subscription_create(
                    by=request.user,
                    url=obj.url,
                    event_types=obj.event_types,
                    description=obj.description,
                    lab=obj.lab,
                    organization=obj.organization,
                    owner=obj.owner,
                )
                obj.pk = created.pk
                obj.secret = created.secret
        except DomainError as refused:
            self.message_user(request, refused.message, messages.ERROR)
            raise

    @admin.action(description=_("Pause the selected subscriptions"))
    def pause_selected(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            lambda s: services.subscription_pause(subscription=s, by=request.user),
            _("%(n)d paused."),
        )

    @admin.action(description=_("Resume the selected subscriptions (held events are sent)"))
    def resume_selected(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            lambda s: services.subscription_resume(subscription=s, by=request.user),
            _("%(n)d resumed."),
        )

    @admin.action(description=_("Rotate the signing secret"))
    def rotate_selected(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            lambda s: services.subscription_rotate_secret(subscription=s, by=request.user),
            _("%(n)d rotated."),
        )


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["number", "sent_at", "status_code", "duration_ms", "outcome", "error", "response_excerpt"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The delivery log: each event to each subscription, its attempts, and replay."""

    list_display = [
        "event",
        "subscription",
        "status",
        "attempts",
        "last_status_code",
        "last_attempt_at",
        "next_attempt_at",
    ]
    list_filter = ["status", "manual"]
    search_fields = ["event__uid", "event__type", "subscription__url"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    inlines = [AttemptInline]
    actions = ["replay_selected"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(subscription__in=subscriptions_visible(request.user).values("pk"))
            .select_related("event", "subscription")
        )

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description=_("Replay the selected deliveries"))
    def replay_selected(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            lambda d: services.delivery_replay(delivery=d, by=request.user),
            _("%(n)d replayed."),
        )


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """Events as sent (admins only)."""

    list_display = ["uid", "type", "occurred_at", "lab", "organization"]
    list_filter = ["type"]
    search_fields = ["uid"]
    readonly_fields = [f.name for f in Event._meta.fields]

    def has_module_permission(self, request) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request) -> bool:
        return False
