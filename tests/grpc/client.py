"""Calls test.Echo through authgate: `client.py TARGET AUTHORITY [TOKEN]`. Prints
`ok <unary answer> <streamed answers>` or `error <status code name>`."""
import sys

import grpc

target, authority = sys.argv[1], sys.argv[2]
metadata = [("authorization", "Bearer " + sys.argv[3])] if len(sys.argv) > 3 else []
channel = grpc.insecure_channel(target, options=[("grpc.default_authority", authority)])
try:
    said = channel.unary_unary("/test.Echo/Say")(b"world", metadata=metadata, timeout=10)
    counted = channel.unary_stream("/test.Echo/Count")(b"", metadata=metadata, timeout=10)
    print("ok", said.decode(), b",".join(counted).decode())
except grpc.RpcError as e:
    print("error", e.code().name)
