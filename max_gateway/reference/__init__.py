"""The reference backend (``backend.ReferenceBackend``): a MAX-shaped database the gateway owns and writes."""
