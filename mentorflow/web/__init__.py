"""The small web app behind links in mails: unsubscribe now, check-in and survey pages later."""

from mentorflow.web.app import create_app

__all__ = ["create_app"]
