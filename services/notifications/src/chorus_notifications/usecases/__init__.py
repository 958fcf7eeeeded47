"""Use cases: what notifications does, one module per capability.

Consumer-driven ones (account, membership, subscription and invoice notices, the recipients
and structure projections) work in the consumer's transaction, given as ``tx``; the others
(feed, preferences, sealing keys, e-mail delivery) begin their own through the unit of work.
Nothing here knows gRPC, Kafka or protobuf: ``api/`` and ``events/`` translate.
"""
