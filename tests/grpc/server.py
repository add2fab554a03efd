"""A gRPC service for tests/upstreams.rs: test.Echo/Say (unary) and test.Echo/Count (server
streaming), on an insecure (h2c) port it prints. Raw bytes in and out: no protoc needed."""
from concurrent import futures

import grpc


def say(request, context):
    user = dict(context.invocation_metadata()).get("x-forwarded-user", "-")
    return b"hello " + request + b" user=" + user.encode()


def count(request, context):
    for i in range(3):
        yield str(i).encode()


handler = grpc.method_handlers_generic_handler(
    "test.Echo",
    {
        "Say": grpc.unary_unary_rpc_method_handler(say),
        "Count": grpc.unary_stream_rpc_method_handler(count),
    },
)
server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
server.add_generic_rpc_handlers((handler,))
port = server.add_insecure_port("127.0.0.1:0")
server.start()
print(port, flush=True)
server.wait_for_termination()
