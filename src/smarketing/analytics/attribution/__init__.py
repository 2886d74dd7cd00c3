"""Multi-touch attribution: the engine, journey files, journeys from the CRM and the runner."""
