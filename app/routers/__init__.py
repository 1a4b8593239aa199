"""One router per resource of REST API v1, plus the HTML pages."""
