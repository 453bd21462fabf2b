"""Bounces and complaints that come back after sending.

reports.py reads a returned message (flufl.bounce for DSNs and the older formats, the ARF
structure for complaints); matching.py finds its delivery (VERP token, Message-ID, address)
and hands it to subscribers.bounce_policy; intake.py keeps what cannot be read; mailbox.py
polls the bounce mailbox; webhooks.py takes providers' events through django-anymail.
"""
