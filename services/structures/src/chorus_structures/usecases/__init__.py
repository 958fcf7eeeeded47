"""What callers ask of structures, each in one transaction: rules, storage, history, events."""
