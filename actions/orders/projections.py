"""Projections of ORM rows: into the pure rules' facts, and into the frozen views returned by
the service.  Called inside an open session (relationships load lazily or were eager-loaded)."""

from __future__ import annotations

from datetime import datetime

from . import rules
from .contacts import reference, ticket_number
from .enums import (
    ACTIVE_DISPUTE_STATES,
    CANCELLATION_CONFIRMED,
    CancellationStatus,
    DisputeStatus,
    OrderStatus,
)
from .models import CancellationRequest, Customer, Dispute, Order, Refund, Shipment, SupportTicket
from .views import (
    CancellationView,
    DisputeView,
    IdentityView,
    ItemView,
    OrderView,
    RefundView,
    ShipmentView,
    TicketView,
    TrackingEventView,
)


def pending_request(order: Order) -> CancellationRequest | None:
    for request in order.cancellation_requests:
        if request.status is CancellationStatus.PENDING_SELLER:
            return request
    return None


def request_facts(request: CancellationRequest) -> rules.CancellationFacts:
    return rules.CancellationFacts(
        status=request.status,
        requested_at=request.requested_at,
        seller_deadline=request.seller_deadline,
    )


def order_facts(order: Order) -> rules.OrderFacts:
    pending = pending_request(order)
    return rules.OrderFacts(
        status=order.status,
        cancelled_by=order.cancelled_by,
        previous_status=order.previous_status,
        pending_cancellation=request_facts(pending) if pending is not None else None,
        cancellation_confirmed=any(r.status in CANCELLATION_CONFIRMED for r in order.cancellation_requests),
        refund_status=order.refund.status if order.refund is not None else None,
        estimated_delivery=order.estimated_delivery,
        delivery_confirmed_at=order.delivery_confirmed_at,
        protection_end=order.protection_end,
    )


def dispute_facts(dispute: Dispute) -> rules.DisputeFacts:
    return rules.DisputeFacts(
        reason=dispute.reason,
        status=dispute.status,
        opened_at=dispute.opened_at,
        withdrawn_at=dispute.withdrawn_at,
        resolved_at=dispute.resolved_at,
    )


def current_dispute(order: Order) -> Dispute | None:
    """The active dispute if there is one, else the most recent one."""
    for dispute in order.disputes:
        if dispute.status in ACTIVE_DISPUTE_STATES:
            return dispute
    return max(order.disputes, key=lambda d: (d.opened_at, d.id), default=None)


def reopen_until(order: Order) -> datetime | None:
    return rules.reopen_deadline(order.delivery_confirmed_at, order.protection_end)


def refund_view(refund: Refund) -> RefundView:
    return RefundView(
        amount=refund.amount,
        currency=refund.currency,
        status=refund.status.value,
        reason=refund.reason.value,
        created_at=refund.created_at,
        completed_at=refund.completed_at,
        expected_by=refund.expected_by,
    )


def cancellation_view(request: CancellationRequest) -> CancellationView:
    return CancellationView(
        id=request.id,
        reference=reference("cancellation", request.id),
        status=request.status.value,
        reason=request.reason.value,
        requested_at=request.requested_at,
        deadline=request.seller_deadline,
        decided_at=request.decided_at,
    )


def dispute_view(dispute: Dispute, order: Order) -> DisputeView:
    withdrawn = dispute.status is DisputeStatus.WITHDRAWN
    return DisputeView(
        id=dispute.id,
        reference=reference("dispute", dispute.id),
        reason=dispute.reason.value,
        status=dispute.status.value,
        description=dispute.description,
        opened_at=dispute.opened_at,
        withdrawn_at=dispute.withdrawn_at,
        resolved_at=dispute.resolved_at,
        reopen_until=reopen_until(order) if withdrawn else None,
    )


def shipment_view(shipment: Shipment) -> ShipmentView:
    return ShipmentView(
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        events=tuple(
            TrackingEventView(at=e.at, location=e.location, code=e.code.value, description=e.description)
            for e in shipment.events
        ),
    )


def cancellation_state(order: Order) -> str:
    if pending_request(order) is not None:
        return "awaiting_seller"
    return "confirmed" if order.status is OrderStatus.CANCELLED else "none"


def order_view(order: Order) -> OrderView:
    pending = pending_request(order)
    latest_request = pending or max(order.cancellation_requests, key=lambda r: r.id, default=None)
    dispute = current_dispute(order)
    return OrderView(
        number=order.number,
        status=order.status.value,
        cancelled_by=order.cancelled_by.value if order.cancelled_by else None,
        cancellation_state=cancellation_state(order),
        amount=order.amount,
        currency=order.currency,
        seller=order.seller.name,
        items=tuple(
            ItemView(title=i.title, quantity=i.quantity, unit_price=i.unit_price) for i in order.items
        ),
        created_at=order.created_at,
        paid_at=order.paid_at,
        shipped_at=order.shipped_at,
        estimated_delivery=order.estimated_delivery,
        delivery_confirmed_at=order.delivery_confirmed_at,
        protection_end=order.protection_end,
        cancelled_at=order.cancelled_at,
        shipment=shipment_view(order.shipment) if order.shipment is not None else None,
        cancellation=cancellation_view(latest_request) if latest_request is not None else None,
        dispute=dispute_view(dispute, order) if dispute is not None else None,
        refund=refund_view(order.refund) if order.refund is not None else None,
        customer_locale=order.customer.locale,
        customer_time_zone=order.customer.time_zone,
    )


def identity_views(customer: Customer) -> tuple[IdentityView, ...]:
    return tuple(
        IdentityView(channel=i.channel, external_id=i.external_id)
        for i in sorted(customer.identities, key=lambda i: (i.channel, i.external_id))
    )


def ticket_view(ticket: SupportTicket, order_number: str | None, customer_name: str | None = None) -> TicketView:
    return TicketView(
        number=ticket_number(ticket.id),
        customer_id=ticket.customer_id,
        order_number=order_number,
        language=ticket.language.value,
        intent=ticket.intent,
        priority=ticket.priority.value,
        summary=ticket.summary,
        transcript=ticket.transcript,
        channel=ticket.channel,
        status=ticket.status.value,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        queue=ticket.queue.value,
        source=ticket.source.value,
        conversation_id=ticket.conversation_id,
        source_message_id=ticket.source_message_id,
        reply_to=ticket.reply_to,
        due_at=ticket.due_at,
        agent=ticket.agent,
        first_response_at=ticket.first_response_at,
        handed_back_at=ticket.handed_back_at,
        closed_at=ticket.closed_at,
        customer_name=customer_name,
    )
