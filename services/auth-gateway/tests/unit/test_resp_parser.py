from taskflow_auth_gateway.infrastructure.ratelimit.resp import (
    RedisReplyError,
    _ReplyParser,
    encode,
)


def test_commands_are_encoded_as_resp_arrays_of_bulk_strings():
    assert encode("EVALSHA", "ab", 1, b"k") == (
        b"*4\r\n$7\r\nEVALSHA\r\n$2\r\nab\r\n$1\r\n1\r\n$1\r\nk\r\n"
    )


def test_replies_split_anywhere_are_reassembled_in_order():
    wire = b"+PONG\r\n*4\r\n:1\r\n:9\r\n:6000000\r\n:0\r\n$3\r\nabc\r\n$-1\r\n-NOSCRIPT no\r\n"
    parser = _ReplyParser()
    replies = []
    for index in range(len(wire)):
        replies += parser.feed(wire[index : index + 1])
    assert replies[:4] == ["PONG", [1, 9, 6000000, 0], b"abc", None]
    assert isinstance(replies[4], RedisReplyError)
    assert str(replies[4]).startswith("NOSCRIPT")
