"""Use cases: one module per capability, orchestrating domain rules, repositories and events.

They are the only place a transaction begins, through the unit of work ``main.py`` gives them
(``uow.transaction()`` to change things and emit domain events, ``uow.reading()`` to read).
The api layer translates protobuf to the arguments of these methods and back; nothing here
knows about gRPC or protobuf.
"""
