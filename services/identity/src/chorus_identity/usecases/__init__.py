"""Use cases: one per RPC, orchestrating domain rules, repositories, transactions and events.

The api layer translates protobuf to the arguments of these methods and back; nothing here
knows about gRPC.
"""
