"""Customers and the chat accounts linked to them; proving who owns an order."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .contacts import (
    looks_like_email,
    normalize_channel,
    normalize_email,
    normalize_external_id,
    normalize_order_number,
    phone_candidates,
)
from .core import (
    _customer_actor,
    _Tx,
)
from .models import (
    ChannelIdentity,
    Customer,
    Order,
)
from .projections import (
    identity_views,
)
from .rules import Code
from .views import (
    CustomerView,
    Result,
)


class IdentitiesMixin:
    # --- customers and identities -------------------------------------------------------

    def customer_for_identity(self, *, channel: str, external_id: str) -> int | None:
        channel = normalize_channel(channel)
        with self._read() as session:
            return session.execute(
                select(ChannelIdentity.customer_id).where(
                    ChannelIdentity.channel == channel,
                    ChannelIdentity.external_id == normalize_external_id(channel, external_id),
                )
            ).scalar_one_or_none()

    def link_identity(self, *, customer_id: int, channel: str, external_id: str) -> Result:
        """Remember that this chat account is this customer (after :meth:`verify_owner`)."""
        channel = normalize_channel(channel)
        external = normalize_external_id(channel, external_id)

        def work(tx: _Tx) -> Result:
            if tx.session.get(Customer, customer_id) is None:
                return Result.of(False, Code.CUSTOMER_NOT_FOUND)
            existing = tx.session.execute(
                select(ChannelIdentity).where(
                    ChannelIdentity.channel == channel, ChannelIdentity.external_id == external
                )
            ).scalar_one_or_none()
            if existing is not None:
                if existing.customer_id == customer_id:
                    return Result(True, Code.IDENTITY_ALREADY_LINKED, {"channel": channel}, True)
                return Result.of(False, Code.IDENTITY_LINKED_ELSEWHERE, channel=channel)
            identity = ChannelIdentity(
                customer_id=customer_id, channel=channel, external_id=external, created_at=tx.now
            )
            tx.session.add(identity)
            tx.session.flush()
            tx.audit("identity.linked", "channel_identity", identity.id, {"external_id": external})
            return Result.of(True, Code.IDENTITY_LINKED, channel=channel)

        return self._write(work, actor=_customer_actor(customer_id), channel=channel)

    def get_customer(self, *, customer_id: int) -> CustomerView | None:
        with self._read() as session:
            customer = session.execute(
                select(Customer).where(Customer.id == customer_id).options(selectinload(Customer.identities))
            ).scalar_one_or_none()
            if customer is None:
                return None
            return CustomerView(
                id=customer.id,
                name=customer.name,
                email=customer.email,
                phone=customer.phone,
                country=customer.country,
                preferred_language=customer.preferred_language.value,
                identities=identity_views(customer),
                locale=customer.locale,
                time_zone=customer.time_zone,
            )

    def verify_owner(self, *, order_number: str, contact: str) -> int | None:
        """The customer id when ``contact`` (e-mail, or phone in any usual format) is the
        contact of the customer who placed the order; otherwise None."""
        number = normalize_order_number(order_number)
        if number is None or not contact or not contact.strip():
            return None
        with self._read() as session:
            row = session.execute(
                select(Customer.id, Customer.email, Customer.phone, Customer.country)
                .join(Order, Order.customer_id == Customer.id)
                .where(Order.number == number)
            ).one_or_none()
        if row is None:
            return None
        if looks_like_email(contact):
            matches = normalize_email(contact) == row.email
        else:
            matches = row.phone is not None and row.phone in phone_candidates(contact, row.country)
        return row.id if matches else None
