"""Running tiltak as a service: the ingestion registry, the local Prefect server, the installation check."""
