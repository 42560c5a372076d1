import socket

import pytest


def test_a_connection_outside_loopback_fails_the_test() -> None:
    # 192.0.2.1 is TEST-NET-1: never routed, so only the guard can answer this fast.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with pytest.raises(RuntimeError, match="must not reach the network"):
        sock.connect(("192.0.2.1", 443))
    sock.close()


def test_loopback_connections_are_allowed() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.connect(server.getsockname())
    client.close()
    server.close()
