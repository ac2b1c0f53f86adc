"""The command line, the service that wires the stages, health, metrics and logs."""
