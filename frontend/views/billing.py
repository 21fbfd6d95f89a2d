"""Statement pages: the list, one statement (with its VietQR and files), managers' actions, the review list."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing import einvoice, selectors, services
from billing.exports import statement_sheet
from billing.models import BillingProfile
from billing.pdf import statement_context, statement_pdf
from core import exports
from core.errors import DomainError
from frontend.views.common import language, parse_date


@login_required
def statements(request: HttpRequest) -> HttpResponse:
    """Statements I may see; managers also close last month from here."""
    visible = selectors.statements_visible(request.user).order_by("-month", "-id")
    issuers = selectors.issuer_ids_managed(request.user)
    status = request.GET.get("status")
    if status in ("draft", "issued", "paid", "overdue"):
        visible = visible.filter(status=status)
    return render(
        request,
        "frontend/billing/statements.html",
        {
            "statements": visible[:200],
            "issuers": BillingProfile.objects.filter(pk__in=issuers).select_related("lab"),
            "last_month": selectors.previous_month(timezone.localdate()),
            "status": status,
            "to_review": selectors.notifications_to_review(request.user).count() if issuers else 0,
        },
    )


@login_required
def statement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One statement: lines, VAT, totals in words, VietQR to pay; files (PDF, XLSX, CSV, e-invoice)."""
    statement = get_object_or_404(selectors.statements_visible(request.user), pk=pk)
    fmt = request.GET.get("export")
    name = statement.number or f"draft-{statement.pk}"
    if fmt == "pdf":
        reply = HttpResponse(statement_pdf(statement, language=language()), content_type="application/pdf")
        reply["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
        return reply
    if fmt in ("csv", "xlsx"):
        return exports.response(statement_sheet(statement, language=language()), fmt, name)
    if fmt in ("einvoice-xlsx", "einvoice-csv") and statement.is_closed:
        return exports.response(einvoice.einvoice_sheet([statement]), fmt.split("-")[1], f"hoadon-{name}")
    context = statement_context(statement, language=language())
    context["can_manage"] = selectors.can_manage_statement(request.user, statement)
    return render(request, "frontend/billing/statement.html", context)


@login_required
@require_POST
def statement_action(request: HttpRequest, pk: int) -> HttpResponse:
    """Issue a draft, or mark a statement paid (managers of the issuing lab)."""
    statement = get_object_or_404(selectors.statements_visible(request.user), pk=pk)
    if not selectors.can_manage_statement(request.user, statement):
        raise PermissionDenied
    action = request.POST.get("action")
    try:
        if action == "issue":
            services.statement_issue(statement=statement, by=request.user)
            messages.success(request, _("Statement %(number)s issued.") % {"number": statement.number})
        elif action == "paid":
            services.statement_mark_paid(statement=statement, by=request.user, note=request.POST.get("note", "")[:300])
            messages.success(request, _("Statement marked paid."))
        elif action == "refresh":
            if (
                services.statement_prepare(
                    issuer=statement.issuer,
                    month=statement.month,
                    organization=statement.organization,
                    user=statement.user,
                )
                is None
            ):
                messages.info(request, _("Nothing is left to bill on this statement."))
                return redirect("statements")
    except DomainError as exc:
        messages.error(request, exc.message_in(language()))
    return redirect("statement", pk=pk)


@login_required
@require_POST
def close_month(request: HttpRequest) -> HttpResponse:
    """Close last month (or the month posted) for one billing profile I manage."""
    issuer = get_object_or_404(BillingProfile, pk=request.POST.get("issuer") or 0)
    if issuer.pk not in selectors.issuer_ids_managed(request.user):
        raise PermissionDenied
    month = parse_date(request.POST.get("month"), selectors.previous_month(timezone.localdate())).replace(day=1)
    try:
        done = services.statements_close_month(month=month, by=request.user, issuer=issuer)
        messages.success(request, _("%(n)d statement(s) issued.") % {"n": done["issued"]})
    except DomainError as exc:
        messages.error(request, exc.message_in(language()))
    return redirect("statements")


@login_required
def review(request: HttpRequest) -> HttpResponse:
    """Bank transfers that matched no statement, and people's late changes of billed amounts, to resolve by hand."""
    if not selectors.issuer_ids_managed(request.user):
        raise PermissionDenied
    if request.method == "POST" and request.POST.get("late_charge"):
        return _decide_late_charge(request)
    if request.method == "POST":
        notification = get_object_or_404(
            selectors.notifications_to_review(request.user), pk=request.POST.get("notification") or 0
        )
        statement = None
        if request.POST.get("statement"):
            statement = (
                selectors.statements_visible(request.user).filter(number=request.POST["statement"].strip()).first()
            )
            if statement is None or not selectors.can_manage_statement(request.user, statement):
                messages.error(request, _("No statement of yours has this number."))
                return redirect("billing_review")
        try:
            services.bank_notification_resolve(notification=notification, by=request.user, statement=statement)
            messages.success(request, _("Transfer resolved."))
        except DomainError as exc:
            messages.error(request, exc.message_in(language()))
        return redirect("billing_review")
    return render(
        request,
        "frontend/billing/review.html",
        {
            "notifications": selectors.notifications_to_review(request.user)[:200],
            "late_charges": selectors.late_charges_to_review(request.user)[:200],
        },
    )


def _decide_late_charge(request: HttpRequest) -> HttpResponse:
    """A manager bills or waives a person's late change (the review page's second table)."""
    late_charge = get_object_or_404(
        selectors.late_charges_to_review(request.user), pk=request.POST.get("late_charge") or 0
    )
    bill = request.POST.get("decision") == "bill"
    try:
        services.late_charge_decide(late_charge=late_charge, by=request.user, bill=bill)
        if bill:
            messages.success(request, _("The difference goes on the person's next statement."))
        else:
            messages.success(request, _("The difference is waived."))
    except DomainError as exc:
        messages.error(request, exc.message_in(language()))
    return redirect("billing_review")
