"""vmemscope web service: a thin FastAPI layer over the engine."""
