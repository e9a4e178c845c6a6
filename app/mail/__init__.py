"""Outbound e-mail: an outbox written in the transaction of what causes a message, and a sender
that delivers it over SMTP (see README, "How mail works").

    from app.mail import enqueue
    await enqueue(session, resident.email, "account_confirm", resident.language, link=link)
    await session.commit()   # the message exists exactly when this commits
"""

from app.mail.models import OutboxMessage
from app.mail.outbox import enqueue

__all__ = ["OutboxMessage", "enqueue"]
