"""The messaging core: conversations, outbox, dispatcher, send-time rules, webhooks."""
