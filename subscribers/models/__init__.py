"""The subscriber domain's models, one module per subject, re-exported here.

Callers import from `subscribers.models` as they always have; the modules below only keep
each subject short.
"""

from .bounces import SoftBounce
from .consent_log import (
    AppendOnlyError,
    ConsentAction,
    ConsentEvent,
    ConsentSource,
    HashVersion,
    Suppression,
    SuppressionReason,
)
from .copy_changes import CopyChangeRequest, CopyChangeRequestStatus
from .imports import FINISHED_IMPORT_STATUSES, ImportJob, ImportJobStatus, ImportStage
from .organisations import Organisation, OrganisationKind
from .people import (
    EMAIL_CHANNELS,
    FINAL_STATUSES,
    PRINT_CHANNELS,
    Channel,
    Language,
    LegalBasis,
    Subscriber,
    SubscriberStatus,
)
from .places import Municipality, PostalAddress, Region, address_given
from .privacy_requests import PRIVACY_MAX_AGE, PrivacyRequest, PrivacyRequestKind
from .segments import Segment

__all__ = [
    "EMAIL_CHANNELS",
    "FINAL_STATUSES",
    "FINISHED_IMPORT_STATUSES",
    "PRINT_CHANNELS",
    "PRIVACY_MAX_AGE",
    "AppendOnlyError",
    "Channel",
    "ConsentAction",
    "ConsentEvent",
    "ConsentSource",
    "CopyChangeRequest",
    "CopyChangeRequestStatus",
    "HashVersion",
    "ImportJob",
    "ImportJobStatus",
    "ImportStage",
    "Language",
    "LegalBasis",
    "Municipality",
    "Organisation",
    "OrganisationKind",
    "PostalAddress",
    "PrivacyRequest",
    "PrivacyRequestKind",
    "Region",
    "Segment",
    "SoftBounce",
    "Subscriber",
    "SubscriberStatus",
    "Suppression",
    "SuppressionReason",
    "address_given",
]
