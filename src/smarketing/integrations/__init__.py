"""Outbound notifications: the transactional outbox and its Slack, Trello, Asana and webhook channels."""
