import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1

/// HTTP/1.0 clients (`curl --http1.0`, Nagios' check_http, a shell script
/// with `nc`, the simulator's own metrics reader) read until the server
/// closes, unless they asked for keep-alive. Hummingbird's request type has
/// no HTTP version, so without this such a client waits for the 30 s idle
/// timeout. Placed before the conversion to HTTP types, this marks a request
/// that does not want keep-alive `Connection: close`, which Hummingbird
/// honours by closing after the answer.
final class HTTP10ConnectionClose: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(var head) = unwrapInboundIn(data), !head.isKeepAlive {
            head.headers.replaceOrAdd(name: "connection", value: "close")
            context.fireChannelRead(wrapInboundOut(.head(head)))
        } else {
            context.fireChannelRead(data)
        }
    }
}

/// Hummingbird's HTTP/1 child channel with `HTTP10ConnectionClose` in front of its codec.
struct HTTP1ChannelClosingHTTP10: ServerChildChannel {
    typealias Value = HTTP1Channel.Value
    let base: HTTP1Channel

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let codec = try channel.pipeline.syncOperations.handler(type: HTTP1ToHTTPServerCodec.self)
            try channel.pipeline.syncOperations.addHandler(HTTP10ConnectionClose(), position: .before(codec))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// `.http1(configuration:)`, closing HTTP/1.0 connections after each answer.
    static func http1ClosingHTTP10(configuration: HTTP1Channel.Configuration) -> HTTPServerBuilder {
        .init { responder in HTTP1ChannelClosingHTTP10(base: HTTP1Channel(responder: responder, configuration: configuration)) }
    }
}
